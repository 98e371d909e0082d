using DistillSharp.Distillers;
using TorchSharp;
using TorchSharp.Modules;

namespace DistillSharp.Training;

/// <summary>
/// The SGD optimizer of a run, built from the distiller's <see cref="Distiller.OptimizerGroups"/>: each group at
/// <c>factor · η(t)</c> with its own or the run's weight decay, momentum and Nesterov from the options. With the
/// default single group it is plain SGD over every parameter, as before groups existed.
/// </summary>
public sealed class OptimizerSetup : IDisposable
{
    private readonly double[] factors;

    /// <summary>Builds the optimizer; a parameter in two groups, or a trainable one in none, is an error.</summary>
    public OptimizerSetup(Distiller distiller, TrainingOptions options)
    {
        var groups = distiller.OptimizerGroups();
        if (groups.Count == 0) throw new InvalidOperationException($"method '{distiller.Method}' gives the optimizer no parameter group");
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var g in groups)
        {
            foreach (var p in g.Parameters)
            {
                if (!seen.Add(p)) throw new InvalidOperationException($"method '{distiller.Method}': a parameter is in two optimizer groups ('{g.Name}')");
            }
            if (!(g.LearningRateFactor > 0) || double.IsInfinity(g.LearningRateFactor))
            {
                throw new InvalidOperationException($"method '{distiller.Method}': group '{g.Name}' has learning-rate factor {g.LearningRateFactor}");
            }
        }
        var missing = distiller.named_parameters().Where(p => p.parameter.requires_grad && !seen.Contains(p.parameter)).Select(p => p.name).ToArray();
        if (missing.Length > 0)
        {
            throw new InvalidOperationException($"method '{distiller.Method}': trainable parameters in no optimizer group: {string.Join(", ", missing.Take(5))}");
        }
        factors = groups.Select(g => g.LearningRateFactor).ToArray();
        var paramGroups = groups.Select(g => new SGD.ParamGroup(g.Parameters, new SGD.Options
        {
            LearningRate = options.LearningRate * g.LearningRateFactor,
            momentum = options.Momentum,
            dampening = 0,
            weight_decay = g.WeightDecay ?? options.WeightDecay,
            nesterov = options.Nesterov,
        })).ToArray();
        Optimizer = torch.optim.SGD(paramGroups, options.LearningRate, options.Momentum, 0, options.WeightDecay, options.Nesterov);
        Groups = groups;
    }

    /// <summary>The optimizer.</summary>
    public torch.optim.Optimizer Optimizer { get; }

    /// <summary>The groups, in the optimizer's order.</summary>
    public IReadOnlyList<OptimizerGroup> Groups { get; }

    /// <summary>Sets every group's rate to its factor times <paramref name="lr"/>.</summary>
    public void SetLearningRate(double lr)
    {
        int i = 0;
        foreach (var group in Optimizer.ParamGroups) group.LearningRate = lr * factors[i++];
    }

    /// <summary>
    /// Clears every momentum buffer, so the next step starts momentum afresh: with dampening 0 (as here) SGD's first
    /// step sets the buffer to the gradient, which a zero buffer also gives, so the steps that follow are those of a
    /// new optimizer over the same groups.
    /// </summary>
    public void ResetMomentum()
    {
        using var guard = torch.no_grad();
        if (Optimizer is not OptimizerHelper helper) throw new InvalidOperationException("the run's optimizer keeps no state to reset");
        foreach (var state in helper.state_dict().State)
        {
            if (state is SGD.State sgd) sgd.momentum_buffer?.zero_();
        }
    }

    /// <inheritdoc />
    public void Dispose() => Optimizer.Dispose();
}
