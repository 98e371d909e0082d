using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using DistillSharp.Tests.Support;
using DistillSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Training;

/// <summary>
/// The engine's extension points as a paper's method uses them: networks of its own with several predictions (online
/// peers), a teacher in train mode, optimizer groups and the post-step hook, and runs that survive a kill at any write.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class EngineTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-engine-").FullName;

    public EngineTests() => TestMethods.Register();

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static TrainingOptions Options(int epochs) => new()
    {
        Epochs = epochs, BatchSize = 32, LearningRate = 0.05, Schedule = "multistep", Milestones = [1], Seed = 3,
    };

    private static Distiller Build(string method, InMemoryImageDataset train, long seed)
    {
        random.manual_seed(seed);
        var teacher = DistillerRegistry.Get(method).NeedsTeacher ? ModelZoo.Create("resnet8", train.NumClasses, 1) : null;
        var student = ModelZoo.Create("resnet8", train.NumClasses, 1);
        var context = new DistillerContext(student, teacher, train.Count, train.Labels, train.NumClasses, 1, 32, seed);
        return DistillerRegistry.Create(method, context);
    }

    private static Trainer MakeTrainer(Distiller d, InMemoryImageDataset train, InMemoryImageDataset test, int epochs, RunFolder? folder,
        Action<string>? afterWrite = null) =>
        new(d, new DataLoader(train, 32, true, 3, Synthetic.Augment()), new DataLoader(test, 64, false, 3, Synthetic.Plain()),
            Options(epochs), folder, null, e => new CheckpointHeader("resnet8", train.NumClasses, 1, "synthetic", d.Method, e, 3, 0))
        {
            AfterWrite = afterWrite,
            Saved = folder is null ? null : run => File.WriteAllText(folder.Summary, $"{run.Last.Epoch} {run.Best.Epoch}"),
        };

    private static Dictionary<string, float[]> State(nn.Module m) =>
        m.state_dict().Where(kv => kv.Value.dtype == ScalarType.Float32)
            .ToDictionary(kv => kv.Key, kv => kv.Value.data<float>().ToArray());

    private static void AssertSameState(Dictionary<string, float[]> a, Dictionary<string, float[]> b, string what)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var key in a.Keys) Assert.True(a[key].SequenceEqual(b[key]), $"{what}: {key} differs after resume");
    }

    [Fact]
    public void AnOnlineMethodWithTwoPeersLogsEachPredictionAndResumesBitIdentically()
    {
        using var train = Synthetic.Dataset(96);
        using var test = Synthetic.Dataset(48, seed: 9);

        using var straight = Build("test-peers", train, 3);
        var straightRun = MakeTrainer(straight, train, test, 2, new RunFolder(Path.Combine(root, "straight"))).Fit();

        var folder = new RunFolder(Path.Combine(root, "resumed"));
        using (var first = Build("test-peers", train, 3)) MakeTrainer(first, train, test, 1, folder).Fit();
        using var second = Build("test-peers", train, 3);
        var resumed = MakeTrainer(second, train, test, 2, folder).Fit(resume: true);

        // Both peers (child 'student' and child 'peer2') are in the state, and resume reproduces all of it.
        var state = State(straight);
        Assert.Contains(state.Keys, k => k.StartsWith("student.", StringComparison.Ordinal));
        Assert.Contains(state.Keys, k => k.StartsWith("peer2.", StringComparison.Ordinal));
        AssertSameState(state, State(second), "peers");
        Assert.Equal(straightRun.Epochs.Select(e => e.TestTop1), resumed.Epochs.Select(e => e.TestTop1));

        // metrics.csv has a column per prediction and the mean; the run's own is peer1's.
        var header = File.ReadLines(folder.Metrics).First().Split(',');
        foreach (var column in new[] { "train_top1/peer1", "test_top1/peer1", "test_top5/peer1", "test_top1/peer2", "test_top1/peer_mean", "train_top1/peer_mean" })
        {
            Assert.Contains(column, header);
        }
        var rows = EpochMetrics.ReadCsv(folder.Metrics);
        Assert.Equal(2, rows.Count);
        foreach (var row in rows)
        {
            Assert.Equal(row.TestTop1, row.Accuracies["test_top1/peer1"]);
            Assert.Equal(row.TrainTop1, row.Accuracies["train_top1/peer1"]);
            Assert.Equal((row.Accuracies["test_top1/peer1"] + row.Accuracies["test_top1/peer2"]) / 2, row.Accuracies["test_top1/peer_mean"], 10);
        }

        // peer2's test accuracy, counted by hand from its own logits.
        var peer2 = (ZooModel)second.named_children().Single(c => c.name == "peer2").module;
        second.eval();
        double correct = 0;
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            foreach (var batch in new DataLoader(test, 64, false, 3, Synthetic.Plain()).Epoch(0))
            {
                using var owned = batch;
                correct += peer2.forward(batch.Images).Logits.argmax(1).eq(batch.Labels).sum().item<long>();
            }
        }
        Assert.Equal(100.0 * correct / test.Count, rows[^1].Accuracies["test_top1/peer2"], 9);
        // The two peers are different networks: their weights differ.
        Assert.False(state["student.conv1.weight"].SequenceEqual(state["peer2.conv1.weight"]));
    }

    [Fact]
    public void ATeacherInTrainModeHasItsBatchStatisticsInTheCheckpointAndResumesBitIdentically()
    {
        using var train = Synthetic.Dataset(96);
        using var test = Synthetic.Dataset(32, seed: 9);

        using var straight = Build("test-kd-train-teacher", train, 3);
        var teacherBefore = State(straight.Teacher!);
        var teacherParameters = straight.Teacher!.named_parameters().Select(p => p.name).ToHashSet();
        MakeTrainer(straight, train, test, 2, new RunFolder(Path.Combine(root, "straight"))).Fit();
        var teacherAfter = State(straight.Teacher!);
        // A step changes the teacher's running statistics only, never its weights.
        foreach (var (key, before) in teacherBefore)
        {
            bool changed = !before.SequenceEqual(teacherAfter[key]);
            if (teacherParameters.Contains(key)) Assert.False(changed, $"teacher parameter {key} changed");
            else if (key.EndsWith("running_mean", StringComparison.Ordinal)) Assert.True(changed, $"teacher buffer {key} did not change in train mode");
        }
        Assert.Null(straight.Teacher!.parameters().First().grad);

        var folder = new RunFolder(Path.Combine(root, "resumed"));
        using (var first = Build("test-kd-train-teacher", train, 3)) MakeTrainer(first, train, test, 1, folder).Fit();
        using var second = Build("test-kd-train-teacher", train, 3);
        // Before the restore the fresh teacher's statistics are not the trained ones: equality below is the checkpoint's doing.
        Assert.False(State(second.Teacher!)["bn1.running_mean"].SequenceEqual(teacherAfter["bn1.running_mean"]));
        MakeTrainer(second, train, test, 2, folder).Fit(resume: true);

        AssertSameState(State(straight), State(second), "student");
        AssertSameState(teacherAfter, State(second.Teacher!), "teacher");
    }

    [Fact]
    public void OptimizerGroupsApplyTheirOwnRateAndDecayAndTheHookRunsAfterEveryStep()
    {
        using var train = Synthetic.Dataset(64);
        random.manual_seed(7);
        using var d = new GroupedHeadDistiller(ModelZoo.Create("resnet8", 4, 1));
        d.train();
        var options = new TrainingOptions { LearningRate = 0.1, Momentum = 0.9, WeightDecay = 5e-4 };
        using var optimizer = new OptimizerSetup(d, options);
        Assert.Equal(["student", "head"], optimizer.Groups.Select(g => g.Name));
        var runner = new TrainingStepRunner(d, optimizer);

        var loader = new DataLoader(train, 32, false, 1, Synthetic.Plain());
        using var batch = loader.Epoch(1).First();
        var headBefore = d.Head.weight!.detach().clone();
        var convBefore = d.Student!.named_parameters().First(p => p.name == "conv1.weight").parameter.detach().clone();
        double lr = 0.2;
        var outcome = runner.Run(batch, lr);
        Assert.True(outcome.Applied);

        // First SGD step from empty momentum: Δw = -η_group (g + λ_group w). Head: η = 0.5·0.2, λ = 0; student: η = 0.2, λ = 5e-4.
        var conv = d.Student.named_parameters().First(p => p.name == "conv1.weight").parameter;
        var headExpected = headBefore - 0.5 * lr * d.Head.weight!.grad!;
        var convExpected = convBefore - lr * (conv.grad! + 5e-4 * convBefore);
        Assert.True(d.Head.weight!.allclose(headExpected, rtol: 1e-5, atol: 1e-7), "head moved by another rate or decay");
        Assert.True(conv.allclose(convExpected, rtol: 1e-5, atol: 1e-7), "student moved by another rate or decay");
        // Wrong groups would be visible: the head's change is half what the run's rate would give.
        Assert.False(d.Head.weight!.allclose(headBefore - lr * d.Head.weight!.grad!, rtol: 1e-3, atol: 1e-6));

        runner.Run(batch, lr);
        Assert.Equal(2, d.HookCalls);
        Assert.True(d.GradientsWereOffInHook);
    }

    [Fact]
    public void AParameterLeftOutOfEveryGroupIsAnError()
    {
        random.manual_seed(1);
        using var d = new LeakyGroupsDistiller(ModelZoo.Create("resnet8", 4, 1));
        var e = Assert.Throws<InvalidOperationException>(() => new OptimizerSetup(d, new TrainingOptions()));
        Assert.Contains("in no optimizer group", e.Message);
    }

    private sealed class LeakyGroupsDistiller(ZooModel student) : Distiller("leaky", student, null)
    {
        public override string Method => "leaky";
        public override IReadOnlyList<OptimizerGroup> OptimizerGroups() => [new("some", StudentNetwork.parameters().Take(2).ToArray())];
        public override DistillationStep TrainingStep(Batch batch) => throw new NotSupportedException();
    }

    public static TheoryData<int, string> KillPoints => new()
    {
        { 1, "last" }, { 1, "best" }, { 1, "metrics" },
        { 2, "last" }, { 2, "best" }, { 2, "metrics" }, { 2, "summary" },
        { 3, "last" },
    };

    [Theory]
    [MemberData(nameof(KillPoints))]
    public void AKillAtAnyWriteLeavesAFolderThatResumesToTheSameConsistentRecord(int killEpoch, string killPoint)
    {
        using var train = Synthetic.Dataset(96);
        using var test = Synthetic.Dataset(48, seed: 9);
        using var reference = Build("none", train, 3);
        var expected = MakeTrainer(reference, train, test, 3, new RunFolder(Path.Combine(root, "reference"))).Fit();
        bool bestWritten = killEpoch == 1 || expected.Epochs[killEpoch - 1].TestTop1 > expected.Epochs.Take(killEpoch - 1).Max(e => e.TestTop1);
        if (killPoint == "best" && !bestWritten) return;   // no best.ckpt write at that epoch: the case does not arise

        var folder = new RunFolder(Path.Combine(root, "killed"));
        int epoch = 0;
        using (var first = Build("none", train, 3))
        {
            var trainer = MakeTrainer(first, train, test, 3, folder, point =>
            {
                if (point == "last") epoch++;
                if (epoch == killEpoch && point == killPoint) throw new OperationCanceledException("killed");
            });
            Assert.Throws<OperationCanceledException>(() => trainer.Fit());
        }
        using var second = Build("none", train, 3);
        var result = MakeTrainer(second, train, test, 3, folder).Fit(resume: true);

        Assert.Equal(expected.Epochs.Select(e => e.TestTop1), result.Epochs.Select(e => e.TestTop1));
        AssertSameState(State(reference), State(second), "network");
        var metrics = EpochMetrics.ReadCsv(folder.Metrics);
        Assert.Equal([1, 2, 3], metrics.Select(m => m.Epoch));
        Assert.Equal(expected.Epochs.Select(e => e.TestTop1), metrics.Select(m => m.TestTop1));
        var last = Checkpoint.ReadHeader(folder.LastCheckpoint);
        Assert.Equal(3, last.Epoch);
        Assert.Equal(metrics.Select(m => m.TestTop1), last.History.Select(m => m.TestTop1));
        var best = Checkpoint.ReadHeader(folder.BestCheckpoint);
        var bestRow = RunResult.BestOf(metrics);
        Assert.Equal(bestRow.Epoch, best.Epoch);
        Assert.Equal(bestRow.TestTop1, best.TestTop1);
        Assert.Equal($"3 {bestRow.Epoch}", File.ReadAllText(folder.Summary));
    }
}
