using DistillSharp.Data;
using DistillSharp.Distillers;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Training;

/// <summary>What one training step reports: the loss terms by name, the total and the correct counts of each prediction.</summary>
/// <param name="Names">The loss terms, in the method's order.</param>
/// <param name="Values">Each term, then the total loss, then top-1 and top-5 correct counts of each prediction in turn.</param>
/// <param name="Applied">False when the loss was not finite and the weights were left untouched.</param>
internal readonly record struct StepValues(string[] Names, double[] Values, bool Applied)
{
    /// <summary>The total loss.</summary>
    public double Loss => Values[Names.Length];

    /// <summary>Rows whose label is the top logit of the run's prediction.</summary>
    public double Correct1 => Values[Names.Length + 1];

    /// <summary>Rows whose label is among the five top logits of the run's prediction.</summary>
    public double Correct5 => Values[Names.Length + 2];

    /// <summary>Top-1 correct rows of prediction <paramref name="i"/>.</summary>
    public double Correct1Of(int i) => Values[Names.Length + 1 + 2 * i];
}

/// <summary>
/// One optimisation step exactly as the <see cref="Trainer"/> runs it (and as <c>distill bench</c> times it):
/// the method's forward, one host transfer for every term and the accuracy counts, then, if the loss is finite,
/// backward, the optimizer's update and the method's <see cref="Distiller.AfterOptimizerStep"/>. Everything the step
/// creates lives in one DisposeScope.
/// </summary>
internal sealed class TrainingStepRunner(Distiller distiller, OptimizerSetup optimizer)
{
    /// <summary>
    /// Runs one step on <paramref name="batch"/> at learning rate <paramref name="lr"/>, then releases the step's
    /// untracked native handles (<see cref="FinalizableHandles"/>).
    /// </summary>
    public StepValues Run(Batch batch, double lr) => FinalizableHandles.CollectAfter(() => RunScoped(batch, lr));

    private StepValues RunScoped(Batch batch, double lr)
    {
        using var scope = NewDisposeScope();
        optimizer.SetLearningRate(lr);

        var result = distiller.TrainingStep(batch);
        var names = result.Losses.Keys.ToArray();
        var total = result.Total();
        // One transfer per step: every term, the total and the correct counts of each prediction.
        var parts = result.Losses.Values.Select(v => v.detach().reshape(1)).Append(total.detach().reshape(1)).ToList();
        foreach (var logits in result.AllPredictions)
        {
            parts.Add(Evaluation.CorrectCount(logits.detach(), batch.Labels, 1).reshape(1));
            parts.Add(Evaluation.CorrectCount(logits.detach(), batch.Labels, 5).reshape(1));
        }
        var values = stack(parts).to(float64).cpu().data<double>().ToArray();
        if (!double.IsFinite(values[names.Length])) return new StepValues(names, values, false);

        // The forward's tensors are not needed any more: autograd holds what backward needs and frees it node by
        // node, so letting the handles go now keeps the peak at PyTorch's instead of activations plus gradients.
        scope.DisposeEverythingBut(total);
        optimizer.Optimizer.zero_grad();
        total.backward();
        optimizer.Optimizer.step();
        using (no_grad()) distiller.AfterOptimizerStep(optimizer.Optimizer);
        return new StepValues(names, values, true);
    }
}
