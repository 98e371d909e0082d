using System.Text.Json;
using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using DistillSharp.Tests.Models;
using DistillSharp.Tests.Support;
using DistillSharp.Training;
using TorchSharp;
using BatchNorm2d = TorchSharp.Modules.BatchNorm2d;
using DataLoader = DistillSharp.Data.DataLoader;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Distillers;

/// <summary>
/// <c>srd</c> as a whole: a training step against tests/reference/srd_reference.py (PyTorch, float64) in the official
/// setting and in an ablation setting, where the gradients go, a frozen and a trained projector after a step, the
/// validation of its parameters (choices by code and by name), and a resumed run.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class SrdDistillerTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-srd-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    // ---- The golden step ----

    private static void Calibrate(ZooModel teacher, Tensor images)
    {
        var norms = teacher.modules().OfType<BatchNorm2d>().ToArray();
        foreach (var bn in norms) bn.momentum = 1.0;
        teacher.train();
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            teacher.forward(images);
        }
        foreach (var bn in norms) bn.momentum = 0.1;
        teacher.eval();
    }

    private static (Distiller Distiller, Batch Batch) GoldenSetting(JsonElement g, JsonElement c)
    {
        int classes = g.GetProperty("classes").GetInt32();
        var teacher = ModelZoo.Create(g.GetProperty("teacher").GetString()!, classes, 3);
        var student = ModelZoo.Create(g.GetProperty("student").GetString()!, classes, 3);
        FormulaFill.Apply(teacher);
        FormulaFill.Apply(student);
        var images = FormulaFill.Input(g.GetProperty("input").Longs());
        Calibrate(teacher, images);
        var labels = tensor(g.GetProperty("labels").Longs());
        var parameters = c.GetProperty("parameters").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        var context = new DistillerContext(student, teacher, labels.shape[0], labels, classes, 3, 32, 0);
        var d = DistillerRegistry.Create(SimpleRecipeDistiller.Name, context, parameters);

        // The projector is exactly the reference's, name for name and shape for shape, and is filled as there.
        var fills = c.GetProperty("projector_fills");
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

    [Theory]
    [InlineData("official")]
    [InlineData("ablation")]
    public void ATrainingStepMatchesThePyTorchTranscriptionTermByTermAndGradientByGradient(string setting)
    {
        var g = Golden.Load("srd.json");
        var c = g.GetProperty("cases").GetProperty(setting);
        var (d, batch) = GoldenSetting(g, c);
        using var owned = d;
        using var b = batch;
        Assert.False(d.Teacher!.training);
        Assert.True(d.Student!.training);

        var step = d.TrainingStep(batch);
        var terms = GoldenStep.AssertMatches(d, step, c);
        var parameters = d.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        if (setting == "official")
        {
            // Under batch normalisation the projector's bias cancels: adding b to every row leaves BN(h) unchanged,
            // so its gradient is zero (to rounding) while the weight's is not.
            d.zero_grad();
            terms["rep"].backward(retain_graph: true);
            double bias = parameters["embed.bias"].grad!.norm().item<float>();
            double weight = parameters["embed.weight"].grad!.norm().item<float>();
            Assert.True(bias < 1e-5 * weight, $"bias gradient {bias} vs weight gradient {weight}");
        }
        Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
        foreach (var t in step.Losses.Values) t.Dispose();
    }

    // ---- Gradients, teacher, optimizer and the frozen projector ----

    private static TrainingOptions Options(int epochs) => new()
    {
        Epochs = epochs, BatchSize = 32, LearningRate = 0.05, Schedule = "multistep", Milestones = [1], Seed = 3,
    };

    private static Distiller Build(InMemoryImageDataset train, long seed, IReadOnlyDictionary<string, double>? parameters = null,
        string teacher = "resnet8x4", string student = "resnet8")
    {
        random.manual_seed(seed);
        var t = ModelZoo.Create(teacher, train.NumClasses, 1);
        var s = ModelZoo.Create(student, train.NumClasses, 1);
        var context = new DistillerContext(s, t, train.Count, train.Labels, train.NumClasses, 1, 32, seed);
        return DistillerRegistry.Create(SimpleRecipeDistiller.Name, context, parameters);
    }

    private static Trainer MakeTrainer(Distiller d, InMemoryImageDataset train, InMemoryImageDataset test, int epochs, RunFolder? folder) =>
        new(d, new DataLoader(train, 32, true, 3, Synthetic.Augment()), new DataLoader(test, 64, false, 3, Synthetic.Plain()),
            Options(epochs), folder, null, e => new CheckpointHeader("resnet8", train.NumClasses, 1, "synthetic", d.Method, e, 3, 0));

    private static Dictionary<string, float[]> State(nn.Module m) => ModuleSnapshot.State(m);

    private static Dictionary<string, long[]> Counters(nn.Module m) => ModuleSnapshot.Counters(m);

    [Fact]
    public void EachTermReachesExactlyItsParametersAndTrainingLeavesTheTeacherUntouched()
    {
        using var train = Synthetic.Dataset(64);
        using var test = Synthetic.Dataset(32, seed: 9);
        using var d = Build(train, 4);
        var teacherBefore = State(d.Teacher!);
        var teacherCounters = Counters(d.Teacher!);
        var before = State(d);

        // The projector is child 'embed' (resnet8's 64 → resnet8x4's 256), in the optimizer's one group; the teacher is not.
        var names = d.named_parameters().Select(p => p.name).ToArray();
        Assert.Equal(["embed.bias", "embed.weight"], names.Where(n => !n.StartsWith("student.", StringComparison.Ordinal)).Order());
        Assert.Equal(new long[] { 256, 64 }, d.named_parameters().Single(p => p.name == "embed.weight").parameter.shape);
        OptimizerChecks.HoldsTheMethodAndNotTheTeacher(d, Options(1));

        d.train();
        using (var first = new DataLoader(train, 32, false, 1, Synthetic.Plain()).Epoch(1).First())
        using (var scope = NewDisposeScope())
        {
            var step = d.TrainingStep(first);
            Assert.Equal(["ce", "kd", "rep"], step.Losses.Keys);
            bool Reaches(string term, string name)
            {
                d.zero_grad();
                step.Losses[term].backward(retain_graph: true);
                var grad = d.named_parameters().Single(p => p.name == name).parameter.grad;
                return grad is not null && grad.abs().sum().item<float>() > 0;
            }
            // rep: the projector's weight and the student up to its pooled feature, not its classifier.
            Assert.True(Reaches("rep", "embed.weight"));
            Assert.True(Reaches("rep", "student.conv1.weight"));
            Assert.True(Reaches("rep", "student.layer3.0.conv2.weight"));
            Assert.False(Reaches("rep", "student.fc.weight"));
            // ce and kd: the student, classifier included, never the projector.
            foreach (var term in new[] { "ce", "kd" })
            {
                Assert.True(Reaches(term, "student.fc.weight"));
                Assert.True(Reaches(term, "student.conv1.weight"));
                Assert.False(Reaches(term, "embed.weight"));
                Assert.False(Reaches(term, "embed.bias"));
            }
            Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
            d.zero_grad();
        }

        MakeTrainer(d, train, test, 1, null).Fit();
        var after = State(d);
        Assert.False(before["embed.weight"].SequenceEqual(after["embed.weight"]), "the projector was not trained");
        Assert.Contains(after, kv => kv.Key.StartsWith("student.", StringComparison.Ordinal) && !kv.Value.SequenceEqual(before[kv.Key]));
        Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
        Assert.False(d.Teacher!.training);
        var teacherAfter = State(d.Teacher!);
        Assert.Equal(teacherBefore.Keys.Order(), teacherAfter.Keys.Order());
        Assert.Contains(teacherBefore.Keys, k => k.EndsWith("running_mean", StringComparison.Ordinal));
        foreach (var key in teacherBefore.Keys) Assert.True(teacherBefore[key].SequenceEqual(teacherAfter[key]), $"teacher {key} changed");
        var countersAfter = Counters(d.Teacher!);
        foreach (var key in teacherCounters.Keys) Assert.Equal(teacherCounters[key], countersAfter[key]);
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("mlp")]
    public void AFrozenProjectorKeepsItsWeightsAfterAStepAndATrainedOneChanges(string projector)
    {
        using var train = Synthetic.Dataset(32);
        using var test = Synthetic.Dataset(16, seed: 9);
        var entry = DistillerRegistry.Get(SimpleRecipeDistiller.Name);
        double kind = entry.Parameters.Single(p => p.Name == "projector").ValueOf(projector);
        double frozenCode = entry.Parameters.Single(p => p.Name == "projector_training").ValueOf("frozen");
        foreach (bool frozen in new[] { true, false })
        {
            var parameters = new Dictionary<string, double> { ["projector"] = kind };
            if (frozen) parameters["projector_training"] = frozenCode;
            using var d = Build(train, 6, parameters);
            var before = State(d);
            var embedKeys = before.Keys.Where(k => k.StartsWith("embed.", StringComparison.Ordinal)).ToArray();
            Assert.Equal(projector == "linear" ? 2 : 4, embedKeys.Length);
            {
                var grouped = OptimizerChecks.Optimized(d, Options(1));
                var embed = d.named_parameters().Where(p => p.name.StartsWith("embed.", StringComparison.Ordinal)).Select(p => p.parameter).ToArray();
                Assert.All(embed, p => Assert.Equal(!frozen, grouped.Contains(p)));
                Assert.All(embed, p => Assert.Equal(!frozen, p.requires_grad));
            }
            MakeTrainer(d, train, test, 1, null).Fit();   // one step: 32 images, batch 32
            var after = State(d);
            foreach (var key in embedKeys)
            {
                // Under BatchNorm the output layer's bias gets no gradient, but weight decay still moves a trained one.
                Assert.Equal(frozen, before[key].SequenceEqual(after[key]));
            }
            // The student learns either way: gradients pass through a frozen projector.
            Assert.False(before["student.conv1.weight"].SequenceEqual(after["student.conv1.weight"]));
        }
    }

    [Fact]
    public void EachAxisChangesTheTermAsItsFormulaSaysAndAProjectorOfNoneNeedsEqualWidths()
    {
        using var train = Synthetic.Dataset(8);
        using var batch = new DataLoader(train, 8, false, 1, Synthetic.Plain()).Epoch(1).First();

        // The representation term of each configuration against the loss functions applied to the same features.
        var entry = DistillerRegistry.Get(SimpleRecipeDistiller.Name);
        double Code(string name, string choice) => entry.Parameters.Single(p => p.Name == name).ValueOf(choice);
        foreach (var norm in SimpleRecipeDistiller.NormalizationChoices)
        {
            foreach (var soft in SimpleRecipeDistiller.SoftMaximumChoices)
            {
                var parameters = new Dictionary<string, double> { ["normalization"] = Code("normalization", norm), ["soft_maximum"] = Code("soft_maximum", soft), ["exponent"] = 3 };
                using var d = (SimpleRecipeDistiller)Build(train, 1, parameters);
                d.train();
                using var scope = NewDisposeScope();
                var rep = d.TrainingStep(batch).Losses["rep"];
                var zs = d.Embed!.forward(d.Student!.forward(batch.Images).Pooled);
                Tensor zt;
                using (no_grad()) zt = d.Teacher!.forward(batch.Images).Pooled;
                var kindN = (DistillSharp.Losses.FeatureNormalization)(int)Code("normalization", norm);
                var kindS = (DistillSharp.Losses.SoftMaximum)(int)Code("soft_maximum", soft);
                var expected = DistillSharp.Losses.Projector.RepresentationLoss(
                    DistillSharp.Losses.Projector.Normalize(zs, kindN, 1e-4), DistillSharp.Losses.Projector.Normalize(zt, kindN, 1e-4), kindS, 3) * 2.0;
                Assert.Equal(expected.item<float>(), rep.item<float>(), 3);
            }
        }

        // alpha = 0 drops kd, beta = 0 drops rep.
        using (var d = Build(train, 1, new Dictionary<string, double> { ["alpha"] = 0 }))
        using (var scope = NewDisposeScope()) Assert.Equal(["ce", "rep"], d.TrainingStep(batch).Losses.Keys);
        using (var d = Build(train, 1, new Dictionary<string, double> { ["beta"] = 0 }))
        using (var scope = NewDisposeScope()) Assert.Equal(["ce", "kd"], d.TrainingStep(batch).Losses.Keys);

        // projector = none: resnet8 → resnet8 (64 = 64) has no projector; resnet8 → resnet8x4 (64 ≠ 256) is an error naming both.
        var none = new Dictionary<string, double> { ["projector"] = Code("projector", "none") };
        using (var d = Build(train, 1, none, teacher: "resnet8"))
        {
            Assert.DoesNotContain(d.named_parameters(), p => !p.name.StartsWith("student.", StringComparison.Ordinal));
            using var scope = NewDisposeScope();
            Assert.True(double.IsFinite(d.TrainingStep(batch).Losses["rep"].item<float>()));
        }
        var e = Assert.Throws<DistillSharpException>(() => Build(train, 1, none));
        Assert.Contains("'projector'", e.Message);
        Assert.Contains("64", e.Message);
        Assert.Contains("256", e.Message);

        // mlp_hidden sets the hidden width; 0 gives 4 · d_s = 256.
        using (var d = Build(train, 1, new Dictionary<string, double> { ["projector"] = Code("projector", "mlp"), ["mlp_hidden"] = 12 }))
        {
            Assert.Equal(new long[] { 12, 64 }, d.named_parameters().Single(p => p.name == "embed.0.weight").parameter.shape);
            Assert.Equal(new long[] { 256, 12 }, d.named_parameters().Single(p => p.name == "embed.2.weight").parameter.shape);
        }
        using (var d = Build(train, 1, new Dictionary<string, double> { ["projector"] = Code("projector", "mlp") }))
        {
            Assert.Equal(new long[] { 256, 64 }, d.named_parameters().Single(p => p.name == "embed.0.weight").parameter.shape);
        }
    }

    [Fact]
    public void ABatchOfOneImageUnderBatchNormHasNoRepresentationTerm()
    {
        using var train = Synthetic.Dataset(1);
        using var d = Build(train, 2);
        using var batch = new DataLoader(train, 1, false, 1, Synthetic.Plain()).Epoch(1).First();
        using var scope = NewDisposeScope();
        var losses = d.TrainingStep(batch).Losses;
        Assert.Equal(0f, losses["rep"].item<float>());
        Assert.True(losses["ce"].item<float>() > 0);
    }

    // ---- Parameters ----

    [Theory]
    [InlineData("normalization", 4.0)]
    [InlineData("normalization", -1.0)]
    [InlineData("normalization", 1.5)]
    [InlineData("soft_maximum", 4.0)]
    [InlineData("projector", 3.0)]
    [InlineData("projector_training", 2.0)]
    [InlineData("exponent", 0.5)]
    [InlineData("exponent", 17.0)]
    [InlineData("norm_eps", -1e-4)]
    [InlineData("norm_eps", 2.0)]
    [InlineData("mlp_hidden", 2.5)]
    [InlineData("beta", -1.0)]
    [InlineData("alpha", double.NaN)]
    [InlineData("gamma", double.PositiveInfinity)]
    [InlineData("temperature", 0.0)]
    public void ABadValueIsAnErrorNamingTheParameterBeforeAnyNetworkOrDataExists(string name, double value)
    {
        var entry = DistillerRegistry.Get(SimpleRecipeDistiller.Name);
        var e = Assert.Throws<DistillSharpException>(() => new MethodSettings(entry.Name, entry.Parameters, new Dictionary<string, double> { [name] = value }));
        Assert.Contains($"parameter '{name}'", e.Message);
        Assert.StartsWith("srd:", e.Message);
    }

    [Fact]
    public void ChoicesAreShownByNameAndTheDefaultsAreTheOfficialCodes()
    {
        var entry = DistillerRegistry.Get(SimpleRecipeDistiller.Name);
        Assert.True(entry.NeedsTeacher);
        var settings = new MethodSettings(entry.Name, entry.Parameters, null);
        Assert.Equal("batchnorm", settings.Choice("normalization"));
        Assert.Equal("log_sum", settings.Choice("soft_maximum"));
        Assert.Equal("linear", settings.Choice("projector"));
        Assert.Equal("trained", settings.Choice("projector_training"));
        Assert.Equal(new Dictionary<string, double>
        {
            ["gamma"] = 1, ["alpha"] = 1, ["temperature"] = 1, ["beta"] = 2, ["normalization"] = 2, ["norm_eps"] = 1e-4,
            ["soft_maximum"] = 1, ["exponent"] = 4, ["projector"] = 1, ["projector_training"] = 0, ["mlp_hidden"] = 0,
        }, settings.Values);
        Assert.All(entry.Parameters, p => Assert.False(string.IsNullOrWhiteSpace(p.Description)));

        // A code out of range names the options; a name that is not one is an error listing them.
        var e = Assert.Throws<DistillSharpException>(() => new MethodSettings(entry.Name, entry.Parameters, new Dictionary<string, double> { ["normalization"] = 7 }));
        Assert.Equal(
            "srd: parameter 'normalization' must be one of none (0), l2 (1), batchnorm (2), layernorm (3); got 7. " +
            "(normalisation of both sides before the comparison)", e.Message);
        var normalization = entry.Parameters.Single(p => p.Name == "normalization");
        Assert.Equal(3, normalization.ValueOf("layernorm"));
        Assert.Equal("layernorm", normalization.Format(3));
        Assert.Contains("none (0)", Assert.Throws<DistillSharpException>(() => normalization.ValueOf("group")).Message);
        // A numeric parameter formats as its number and refuses a name.
        var beta = entry.Parameters.Single(p => p.Name == "beta");
        Assert.Equal("2", beta.Format(2));
        Assert.Throws<DistillSharpException>(() => beta.ValueOf("two"));
    }

    [Fact]
    public void TheCommandLineTakesAChoiceByNameAndListsTheChoices()
    {
        var (code, output, _) = CliHarness.Run("methods");
        Assert.Equal(0, code);
        var line = output.Split('\n').Single(l => l.TrimStart().StartsWith("normalization ", StringComparison.Ordinal));
        Assert.Contains("batchnorm", line);
        Assert.Contains("(one of: none | l2 | batchnorm | layernorm)", line);

        string never = Path.Combine(root, "never");
        var (bad, _, err) = CliHarness.Run("distill", "--method", "srd", "--teacher", Path.Combine(root, "teacher"), "--profile", "smoke",
            "-P", "normalization=groupnorm", "--out", never);
        Assert.NotEqual(0, bad);
        Assert.Equal("error: parameter 'normalization' has no choice 'groupnorm'; it is one of none (0), l2 (1), batchnorm (2), layernorm (3).", err.Trim());
        Assert.False(Directory.Exists(never));

        // A name passes where its code passes, and fails where the code fails: both reach the same next check (the
        // missing teacher), while a code out of range stops at the parameter.
        string Error(string item)
        {
            var (_, _, e) = CliHarness.Run("distill", "--method", "srd", "--teacher", Path.Combine(root, "teacher"), "--profile", "smoke",
                "-P", item, "--out", never);
            return e.Trim();
        }
        Assert.Equal(Error("normalization=1"), Error("normalization=l2"));
        Assert.DoesNotContain("normalization", Error("normalization=l2"));
        Assert.Contains("parameter 'normalization' must be one of", Error("normalization=9"));
        Assert.False(Directory.Exists(never));
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
        using var second = Build(train, 3);
        var result = MakeTrainer(second, train, test, 2, folder).Fit(resume: true);

        Assert.Equal([1, 2], result.Epochs.Select(e => e.Epoch));
        var a = State(straight);
        var b = State(second);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        Assert.Contains("embed.weight", a.Keys);
        foreach (var key in a.Keys) Assert.True(a[key].SequenceEqual(b[key]), $"{key} differs after resume");
    }
}
