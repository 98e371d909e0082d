using System.Text.Json;
using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using DistillSharp.Tests.Models;
using DistillSharp.Tests.Support;
using DistillSharp.Training;
using TorchSharp;
using DataLoader = DistillSharp.Data.DataLoader;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Distillers;

/// <summary>
/// <c>mimkd</c> as a whole: one training step against tests/reference/mimkd_reference.py (PyTorch, float64), where the
/// gradients go, the validation of its parameters, and a resumed run.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class MimkdDistillerTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-mimkd-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    // ---- The golden step ----

    private static (Distiller Distiller, Batch Batch) GoldenSetting(JsonElement g)
    {
        int classes = g.GetProperty("classes").GetInt32();
        var teacher = ModelZoo.Create(g.GetProperty("teacher").GetString()!, classes, 3);
        var student = ModelZoo.Create(g.GetProperty("student").GetString()!, classes, 3);
        FormulaFill.Apply(teacher);
        FormulaFill.Apply(student);
        var images = FormulaFill.Input(g.GetProperty("input").Longs());
        TeacherCalibration.Apply(teacher, images);
        var labels = tensor(g.GetProperty("labels").Longs());
        var parameters = g.GetProperty("parameters").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        var context = new DistillerContext(student, teacher, labels.shape[0], labels, classes, 3, 32, 0);
        var d = DistillerRegistry.Create(MutualInformationDistiller.Name, context, parameters);

        // The critics are exactly the reference's, name for name and shape for shape, and are filled as there.
        var fills = g.GetProperty("critic_fills");
        var own = d.named_parameters().Where(p => !p.name.StartsWith("student.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(fills.EnumerateObject().Select(f => f.Name).Order(), own.Select(p => p.name).Order());
        using (no_grad())
        {
            foreach (var (name, parameter) in own)
            {
                var f = fills.GetProperty(name);
                var shape = f.GetProperty("shape").Longs();
                Assert.Equal(shape, parameter.shape);
                using var values = Golden.Fill(shape, f.GetProperty("a").GetDouble(), f.GetProperty("b").GetDouble(), f.GetProperty("scale").GetDouble());
                parameter.copy_(values);
            }
        }
        d.train();
        return (d, new Batch(images, labels, arange(labels.shape[0], dtype: ScalarType.Int64)));
    }

    [Fact]
    public void ATrainingStepMatchesThePyTorchTranscriptionTermByTermAndGradientByGradient()
    {
        var g = Golden.Load("mimkd.json");
        var (d, batch) = GoldenSetting(g);
        using var owned = d;
        using var b = batch;
        Assert.False(d.Teacher!.training);
        Assert.True(d.Student!.training);

        var step = d.TrainingStep(batch);
        var terms = GoldenStep.AssertMatches(d, step, g);
        Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
        foreach (var t in step.Losses.Values) t.Dispose();
    }

    // ---- Gradients, teacher and optimizer ----

    private static TrainingOptions Options(int epochs) => new()
    {
        Epochs = epochs, BatchSize = 32, LearningRate = 0.05, Schedule = "multistep", Milestones = [1], Seed = 3,
    };

    private static Distiller Build(InMemoryImageDataset train, long seed, IReadOnlyDictionary<string, double>? parameters = null, string teacher = "resnet8")
    {
        random.manual_seed(seed);
        var t = ModelZoo.Create(teacher, train.NumClasses, 1);
        var student = ModelZoo.Create("resnet8", train.NumClasses, 1);
        var context = new DistillerContext(student, t, train.Count, train.Labels, train.NumClasses, 1, 32, seed);
        return DistillerRegistry.Create(MutualInformationDistiller.Name, context, parameters);
    }

    private static Trainer MakeTrainer(Distiller d, InMemoryImageDataset train, InMemoryImageDataset test, int epochs, RunFolder? folder) =>
        new(d, new DataLoader(train, 32, true, 3, Synthetic.Augment()), new DataLoader(test, 64, false, 3, Synthetic.Plain()),
            Options(epochs), folder, null, e => new CheckpointHeader("resnet8", train.NumClasses, 1, "synthetic", d.Method, e, 3, 0));

    private static Dictionary<string, float[]> State(nn.Module m) => ModuleSnapshot.State(m);

    private static Dictionary<string, long[]> Counters(nn.Module m) => ModuleSnapshot.Counters(m);

    private static readonly string[] Critics = ["global_student", "global_teacher", "local_student", "local_teacher"];

    [Fact]
    public void GradientsReachTheStudentAndEveryCriticButTheTeacherIsUntouchedByTraining()
    {
        using var train = Synthetic.Dataset(64);
        using var test = Synthetic.Dataset(32, seed: 9);
        using var d = Build(train, 4);
        var teacherBefore = State(d.Teacher!);
        var teacherCounters = Counters(d.Teacher!);
        var before = State(d);

        // Every trainable part of the method is a registered child, hence in the optimizer's one group.
        var names = d.named_parameters().Select(p => p.name).ToArray();
        foreach (var critic in Critics)
        {
            Assert.Contains($"{critic}.fc1.weight", names);
            Assert.Contains($"{critic}.fc2.bias", names);
        }
        OptimizerChecks.HoldsTheMethodAndNotTheTeacher(d, Options(1));

        // One step's mutual-information terms alone reach the student's layers up to its pooled vector (not its
        // classifier) and every parameter of both sides of both critics; never the teacher.
        d.train();
        using (var first = new DataLoader(train, 32, false, 1, Synthetic.Plain()).Epoch(1).First())
        using (var scope = NewDisposeScope())
        {
            var step = d.TrainingStep(first);
            d.zero_grad();
            (step.Losses["mi_global"] + step.Losses["mi_local"]).backward();
            bool Reached(string name)
            {
                var grad = d.named_parameters().Single(p => p.name == name).parameter.grad;
                return grad is not null && grad.abs().sum().item<float>() > 0;
            }
            foreach (var name in names.Where(n => Critics.Any(c => n.StartsWith(c + ".", StringComparison.Ordinal))))
            {
                Assert.True(Reached(name), $"the MI terms do not reach {name}");
            }
            Assert.True(Reached("student.conv1.weight"));
            Assert.True(Reached("student.layer3.0.conv2.weight"));
            Assert.False(Reached("student.fc.weight"));
            Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
        }

        MakeTrainer(d, train, test, 1, null).Fit();
        var after = State(d);
        foreach (var critic in Critics)
        {
            foreach (var key in after.Keys.Where(k => k.StartsWith(critic + ".", StringComparison.Ordinal)))
            {
                Assert.False(before[key].SequenceEqual(after[key]), $"{key} was not trained");
            }
        }
        Assert.Contains(after, kv => kv.Key.StartsWith("student.", StringComparison.Ordinal) && !kv.Value.SequenceEqual(before[kv.Key]));
        // The teacher: no gradient, eval mode, and every parameter and buffer as before.
        ModuleSnapshot.AssertEvalTeacherUnchanged(d.Teacher!, teacherBefore, teacherCounters);
    }

    [Fact]
    public void EachTermFollowsItsWeightAndALocalStageOfMinusOneLeavesTheLocalTermOut()
    {
        using var train = Synthetic.Dataset(8);
        using var batch = new DataLoader(train, 8, false, 1, Synthetic.Plain()).Epoch(1).First();

        using (var d = Build(train, 1))
        using (var scope = NewDisposeScope())
        {
            Assert.Equal(["ce", "mi_global", "mi_local"], d.TrainingStep(batch).Losses.Keys);
        }
        var variants = new (Dictionary<string, double> Parameters, string[] Terms, string[] Heads)[]
        {
            (new() { ["alpha"] = 0.5 }, ["ce", "kd", "mi_global", "mi_local"], Critics),
            (new() { ["local_stage"] = -1 }, ["ce", "mi_global"], ["global_student", "global_teacher"]),
            (new() { ["beta_local"] = 0 }, ["ce", "mi_global"], ["global_student", "global_teacher"]),
            (new() { ["beta_global"] = 0, ["local_stage"] = 1 }, ["ce", "mi_local"], ["local_student", "local_teacher"]),
        };
        foreach (var (parameters, terms, heads) in variants)
        {
            using var d = Build(train, 1, parameters);
            using var scope = NewDisposeScope();
            Assert.Equal(terms, d.TrainingStep(batch).Losses.Keys);
            Assert.Equal(heads, d.named_children().Select(c => c.name).Where(n => n != "student"));
        }
        // local_stage picks the teacher map: its channels set the local teacher head's input width (resnet8x4: 32, 64, 128, 256).
        for (int stage = 0; stage <= 3; stage++)
        {
            using var d = Build(train, 1, new Dictionary<string, double> { ["local_stage"] = stage }, teacher: "resnet8x4");
            var w = d.named_parameters().Single(p => p.name == "local_teacher.fc1.weight").parameter;
            Assert.Equal(new long[] { 256, 32 << stage }, w.shape);
            using var scope = NewDisposeScope();
            Assert.True(double.IsFinite(d.TrainingStep(batch).Losses["mi_local"].item<float>()));
        }
    }

    [Fact]
    public void ABatchOfOneImageHasNoNegativeAndItsMutualInformationTermsAreZero()
    {
        using var train = Synthetic.Dataset(1);
        using var d = Build(train, 2);
        using var batch = new DataLoader(train, 1, false, 1, Synthetic.Plain()).Epoch(1).First();
        using var scope = NewDisposeScope();
        var losses = d.TrainingStep(batch).Losses;
        Assert.Equal(0f, losses["mi_global"].item<float>());
        Assert.Equal(0f, losses["mi_local"].item<float>());
        Assert.True(losses["ce"].item<float>() > 0);
    }

    // ---- Parameters ----

    [Theory]
    [InlineData("local_stage", -2.0)]
    [InlineData("local_stage", 5.0)]
    [InlineData("local_stage", 1.5)]
    [InlineData("feat_dim", 0.0)]
    [InlineData("feat_dim", 12.5)]
    [InlineData("hidden_dim", 0.0)]
    [InlineData("beta_global", -1.0)]
    [InlineData("beta_local", double.NaN)]
    [InlineData("alpha", -0.1)]
    [InlineData("gamma", double.PositiveInfinity)]
    [InlineData("temperature", 0.0)]
    [InlineData("critic_temperature", -0.1)]
    [InlineData("critic_temperature", 101.0)]
    public void ABadValueIsAnErrorNamingTheParameterBeforeAnyNetworkOrDataExists(string name, double value)
    {
        // MethodSettings is what the command line and the notebooks resolve first, before data and networks.
        var entry = DistillerRegistry.Get(MutualInformationDistiller.Name);
        var e = Assert.Throws<DistillSharpException>(() => new MethodSettings(entry.Name, entry.Parameters, new Dictionary<string, double> { [name] = value }));
        Assert.Contains($"parameter '{name}'", e.Message);
        Assert.StartsWith("mimkd:", e.Message);
    }

    [Fact]
    public void DefaultsAreDocumentedAndALocalStageBeyondTheTeachersMapsIsAnErrorNamingIt()
    {
        var entry = DistillerRegistry.Get(MutualInformationDistiller.Name);
        Assert.True(entry.NeedsTeacher);
        var defaults = entry.Parameters.ToDictionary(p => p.Name, p => p.Default);
        Assert.Equal(new Dictionary<string, double>
        {
            ["gamma"] = 1, ["alpha"] = 0, ["temperature"] = 4, ["beta_global"] = 1, ["beta_local"] = 1, ["local_stage"] = 3,
            ["feat_dim"] = 128, ["hidden_dim"] = 256, ["critic_temperature"] = 0.1,
        }, defaults);
        Assert.All(entry.Parameters, p => Assert.False(string.IsNullOrWhiteSpace(p.Description)));

        // resnet8's Features: four maps and the pooled vector at 4, which the range [−1, 4] admits but the teacher does not.
        using var train = Synthetic.Dataset(4);
        var e = Assert.Throws<DistillSharpException>(() => Build(train, 1, new Dictionary<string, double> { ["local_stage"] = 4 }));
        Assert.Contains("'local_stage'", e.Message);
        Assert.Contains("0..3", e.Message);
        // Without a teacher it is an error naming the method.
        random.manual_seed(1);
        var student = ModelZoo.Create("resnet8", 4, 1);
        var context = new DistillerContext(student, null, train.Count, train.Labels, 4, 1, 32, 1);
        Assert.Contains("'mimkd' needs a teacher", Assert.Throws<DistillSharpException>(() => DistillerRegistry.Create("mimkd", context)).Message);
    }

    // ---- Resume ----

    [Fact]
    public void ResumingGivesTheSameWeightsAsAnUninterruptedRun()
    {
        using var train = Synthetic.Dataset(96);
        using var test = Synthetic.Dataset(32, seed: 9);

        using var straight = Build(train, 3);
        MakeTrainer(straight, train, test, 2, new RunFolder(Path.Combine(root, "straight"))).Fit();

        var folder = new RunFolder(Path.Combine(root, "resumed"));
        using (var first = Build(train, 3))
        {
            MakeTrainer(first, train, test, 1, folder).Fit();
        }
        using var second = Build(train, 3);   // fresh objects, as a new process would build
        var result = MakeTrainer(second, train, test, 2, folder).Fit(resume: true);

        Assert.Equal([1, 2], result.Epochs.Select(e => e.Epoch));
        var a = State(straight);
        var b = State(second);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var critic in Critics) Assert.Contains(a.Keys, k => k.StartsWith(critic + ".", StringComparison.Ordinal));
        foreach (var key in a.Keys) Assert.True(a[key].SequenceEqual(b[key]), $"{key} differs after resume");
        var metrics = EpochMetrics.ReadCsv(folder.Metrics);
        Assert.Equal(2, metrics.Count);
    }
}
