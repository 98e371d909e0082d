using System.Runtime;
using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using DistillSharp.Tests.Support;
using DistillSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Training;

/// <summary>
/// A training step and an evaluation batch leave no TorchSharp object behind for a later garbage collection: a scalar
/// made during the step (which a DisposeScope does not track, and which frees its native memory only in its finalizer)
/// is gone when the step returns. The checks run inside a no-GC region large enough that nothing else collects meanwhile,
/// so only the step's own collection can release the scalar; without it the weak reference stays alive.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class FinalizableHandlesTests
{
    private const long NoGcBudget = 200L << 20;

    [Fact]
    public void ATrainingStepReleasesTheScalarsItMade()
    {
        torch.random.manual_seed(2);
        using var d = new ScalarMakingDistiller(ModelZoo.Create("resnet8", 4, 1));
        d.train();
        using var optimizer = new OptimizerSetup(d, new TrainingOptions());
        var runner = new TrainingStepRunner(d, optimizer);
        using var batch = Batch();
        var released = WithoutOtherCollections(() =>
        {
            var outcome = runner.Run(batch, 0.05);
            Assert.True(outcome.Applied);
        }, d);
        Assert.True(released, "the scalar the step made was still alive after the step: no collection released it");
    }

    [Fact]
    public void AnEvaluationBatchReleasesTheScalarsItMade()
    {
        torch.random.manual_seed(2);
        using var d = new ScalarMakingDistiller(ModelZoo.Create("resnet8", 4, 1));
        d.eval();
        using var batch = Batch();
        var released = WithoutOtherCollections(() =>
        {
            using var guard = no_grad();
            var sums = Evaluation.BatchSums(d, batch);
            Assert.True(double.IsFinite(sums[0]) && sums[0] > 0, "the summed cross-entropy should be a positive number");
        }, d);
        Assert.True(released, "the scalar the evaluation made was still alive after the batch: no collection released it");
    }

    /// <summary>Runs <paramref name="work"/> in a no-GC region; true when the scalar it made was collected.</summary>
    private static bool WithoutOtherCollections(Action work, ScalarMakingDistiller d)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.True(GC.TryStartNoGCRegion(NoGcBudget), "could not enter a no-GC region");
        try
        {
            work();
        }
        finally
        {
            if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
        }
        Assert.NotNull(d.LastScalar);
        return !d.LastScalar!.IsAlive;
    }

    private static Batch Batch()
    {
        using var gen = new Generator(4);
        var images = randn(new long[] { 8, 1, 32, 32 }, generator: gen);
        var labels = arange(8, dtype: ScalarType.Int64) % 4;
        return new Batch(images, labels, arange(8, dtype: ScalarType.Int64));
    }

    /// <summary>The student alone, its loss and its logits each scaled by a scalar made from a number on every call.</summary>
    private sealed class ScalarMakingDistiller(ZooModel student) : Distiller(nameof(ScalarMakingDistiller), student, null)
    {
        public WeakReference? LastScalar { get; private set; }

        public override string Method => "test-scalars";

        public override DistillationStep TrainingStep(Batch batch)
        {
            var output = StudentNetwork.forward(batch.Images);
            var loss = CrossEntropy(output.Logits, batch.Labels) * Track(1.0);
            return new DistillationStep(output.Logits, new Dictionary<string, Tensor> { ["ce"] = loss });
        }

        public override IReadOnlyList<Tensor> Predict(Tensor images) => [StudentNetwork.forward(images).Logits * Track(1.0)];

        private Scalar Track(double value)
        {
            var scalar = value.ToScalar();
            LastScalar = new WeakReference(scalar);
            return scalar;
        }
    }
}
