using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using DistillSharp.Tests.Support;
using DistillSharp.Training;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Training;

[Collection(TrainingCollection.Name)]
public sealed class TrainerTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-trainer-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static TrainingOptions Options(int epochs) => new()
    {
        Epochs = epochs, BatchSize = 32, LearningRate = 0.05, Schedule = "multistep", Milestones = [1], Seed = 3,
    };

    private static Distiller Build(string method, InMemoryImageDataset train, long seed, IReadOnlyDictionary<string, double>? parameters = null)
    {
        random.manual_seed(seed);
        var teacher = method == "none" ? null : ModelZoo.Create("resnet8", train.NumClasses, 1);
        var student = ModelZoo.Create("resnet8", train.NumClasses, 1);
        var context = new DistillerContext(student, teacher, train.Count, train.Labels, train.NumClasses, 1, 32, seed);
        return DistillerRegistry.Create(method, context, parameters);
    }

    private static Trainer MakeTrainer(Distiller d, InMemoryImageDataset train, InMemoryImageDataset test, int epochs, RunFolder? folder) =>
        new(d, new DataLoader(train, 32, true, 3, Synthetic.Augment()), new DataLoader(test, 64, false, 3, Synthetic.Plain()),
            Options(epochs), folder, null, e => new CheckpointHeader("resnet8", train.NumClasses, 1, "synthetic", d.Method, e, 3, 0));

    private static Dictionary<string, float[]> State(nn.Module m) =>
        m.state_dict().Where(kv => kv.Value.dtype == ScalarType.Float32)
            .ToDictionary(kv => kv.Key, kv => kv.Value.data<float>().ToArray());

    [Theory]
    [InlineData("kd")]
    [InlineData("crd")]
    public void ResumingGivesTheSameWeightsAsAnUninterruptedRun(string method)
    {
        using var train = Synthetic.Dataset(96);
        using var test = Synthetic.Dataset(32, seed: 9);
        var crd = new Dictionary<string, double> { ["nce_k"] = 16, ["feat_dim"] = 8 };
        var parameters = method == "crd" ? crd : null;

        using var straight = Build(method, train, 3, parameters);
        MakeTrainer(straight, train, test, 2, new RunFolder(Path.Combine(root, "straight"))).Fit();

        var folder = new RunFolder(Path.Combine(root, "resumed"));
        using (var first = Build(method, train, 3, parameters))
        {
            MakeTrainer(first, train, test, 1, folder).Fit();
        }
        using var second = Build(method, train, 3, parameters);   // fresh objects, as a new process would build
        var result = MakeTrainer(second, train, test, 2, folder).Fit(resume: true);

        Assert.Equal([1, 2], result.Epochs.Select(e => e.Epoch));
        var a = State(straight);
        var b = State(second);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var key in a.Keys) Assert.True(a[key].SequenceEqual(b[key]), $"{key} differs after resume");
        Assert.Equal(2, EpochMetrics.ReadCsv(folder.Metrics).Count);
    }

    [Fact]
    public void TeacherIsUnchangedByDistillationSteps()
    {
        using var train = Synthetic.Dataset(64);
        using var test = Synthetic.Dataset(32, seed: 9);
        foreach (var method in new[] { "kd", "crd" })
        {
            using var d = Build(method, train, 4, method == "crd" ? new Dictionary<string, double> { ["nce_k"] = 8 } : null);
            var before = State(d.Teacher!);
            var studentBefore = State(d.Student!);
            MakeTrainer(d, train, test, 1, null).Fit();
            var after = State(d.Teacher!);
            foreach (var key in before.Keys) Assert.True(before[key].SequenceEqual(after[key]), $"{method}: teacher {key} changed");
            Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
            Assert.False(d.Teacher!.training);
            Assert.Contains(State(d.Student!), kv => !kv.Value.SequenceEqual(studentBefore[kv.Key]));
            // The optimizer sees the student and the method's parts only.
            Assert.DoesNotContain(d.parameters(), p => d.Teacher!.parameters().Any(t => ReferenceEquals(t, p)));
        }
    }

    private sealed class PoisonedDistiller(ZooModel student, int badEpoch) : Distiller("poisoned", student, null)
    {
        private int epoch;
        public override string Method => "poisoned";
        public override void BeginEpoch(int epoch, int totalEpochs) => this.epoch = epoch;
        public override DistillationStep TrainingStep(Batch batch)
        {
            var logits = StudentNetwork.forward(batch.Images).Logits;
            var ce = CrossEntropy(logits, batch.Labels);
            var reg = epoch == badEpoch ? ce * double.NaN : ce * 0.0;
            return new DistillationStep(logits, new Dictionary<string, Tensor> { ["ce"] = ce, ["reg"] = reg });
        }
    }

    [Fact]
    public void ANonFiniteLossStopsTheRunNamingEpochStepAndTermAndKeepsTheLastGoodCheckpoint()
    {
        using var train = Synthetic.Dataset(64);
        using var test = Synthetic.Dataset(32, seed: 9);
        random.manual_seed(1);
        using var d = new PoisonedDistiller(ModelZoo.Create("resnet8", 4, 1), badEpoch: 2);
        var folder = new RunFolder(Path.Combine(root, "nan"));
        var e = Assert.Throws<DistillSharpException>(() => MakeTrainer(d, train, test, 3, folder).Fit());
        Assert.Contains("epoch 2, step 1", e.Message);
        Assert.Contains("'reg'", e.Message);
        Assert.DoesNotContain("'ce'", e.Message);
        Assert.Contains("last.ckpt", e.Message);
        Assert.Equal(1, Checkpoint.ReadHeader(folder.LastCheckpoint).Epoch);
    }
}
