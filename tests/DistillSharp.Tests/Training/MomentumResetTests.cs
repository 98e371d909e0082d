using DistillSharp.Distillers;
using DistillSharp.Models;
using DistillSharp.Tests.Support;
using DistillSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Training;

/// <summary>
/// <see cref="TrainingOptions.ResetMomentumAtMilestones"/>: after <see cref="OptimizerSetup.ResetMomentum"/> the steps
/// are those of a newly built optimizer (what OFD's and LONDON's code does at each learning-rate step), and the option
/// is refused without milestones to reset at.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class MomentumResetTests
{
    private static readonly TrainingOptions Recipe = new()
    {
        Epochs = 4, LearningRate = 0.1, Momentum = 0.9, WeightDecay = 5e-4, Nesterov = true, Schedule = "multistep", Milestones = [2],
        ResetMomentumAtMilestones = true,
    };

    /// <summary>Sets every gradient to a fixed pattern of step <paramref name="k"/> and steps.</summary>
    private static void Step(OptimizerSetup setup, Distiller d, int k)
    {
        using var scope = NewDisposeScope();
        int i = 0;
        foreach (var p in d.parameters())
        {
            p.grad = sin(arange(p.numel(), dtype: float32) * (0.3 + 0.1 * k) + i++).reshape(p.shape);
        }
        setup.Optimizer.step();
    }

    private static float[][] Weights(Distiller d) => d.parameters().Select(p => p.data<float>().ToArray()).ToArray();

    private static StudentAlone Model(long seed)
    {
        random.manual_seed(seed);
        return new StudentAlone(ModelZoo.Create("resnet8", 4, 1));
    }

    [Fact]
    public void AfterAResetTheNextStepsAreThoseOfANewOptimizer()
    {
        using var a = Model(1);
        using var b = Model(2);
        using var c = Model(1);   // the same start as a
        using var setupA = new OptimizerSetup(a, Recipe);
        using var setupC = new OptimizerSetup(c, Recipe);
        for (int k = 0; k < 2; k++)
        {
            Step(setupA, a, k);
            Step(setupC, c, k);
        }
        // b starts where a and c are now, with a new optimizer; a resets its momentum; c keeps it.
        using (no_grad())
        {
            foreach (var (pa, pb) in a.parameters().Zip(b.parameters())) pb.copy_(pa);
        }
        using var setupB = new OptimizerSetup(b, Recipe);
        setupA.ResetMomentum();
        setupA.SetLearningRate(0.01);
        setupB.SetLearningRate(0.01);
        setupC.SetLearningRate(0.01);
        for (int k = 2; k < 4; k++)
        {
            Step(setupA, a, k);
            Step(setupB, b, k);
            Step(setupC, c, k);
        }
        var wa = Weights(a);
        var wb = Weights(b);
        var wc = Weights(c);
        for (int i = 0; i < wa.Length; i++) Assert.Equal(wb[i], wa[i]);
        Assert.Contains(Enumerable.Range(0, wa.Length), i => !wa[i].SequenceEqual(wc[i]));   // the kept momentum shows
    }

    [Fact]
    public void ResettingNeedsTheMultistepSchedule()
    {
        var e = Assert.Throws<DistillSharpException>(() => (Recipe with { Schedule = "cosine" }).Validate());
        Assert.Contains("--reset-momentum", e.Message);
        Recipe.Validate();
    }
}
