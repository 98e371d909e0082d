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
/// <c>ofd</c> and <c>london</c> as wholes: training steps against tests/reference/london_reference.py (PyTorch,
/// float64; the teacher in train mode), where the gradients go (student and connectors, never the teacher), what a
/// step changes in the teacher (its batch-norm statistics only), parameter validation, the teacher-mode switch, and
/// a resumed run.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class LondonDistillerTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-london-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    // ---- The golden steps ----

    private static (Distiller Distiller, Batch Batch) GoldenSetting(JsonElement g, JsonElement setting)
    {
        int classes = g.GetProperty("classes").GetInt32();
        var teacher = ModelZoo.Create(g.GetProperty("teacher").GetString()!, classes, 3);
        var student = ModelZoo.Create(g.GetProperty("student").GetString()!, classes, 3);
        FormulaFill.Apply(teacher);
        FormulaFill.Apply(student);
        var images = FormulaFill.Input(g.GetProperty("input").Longs());
        var labels = tensor(g.GetProperty("labels").Longs());
        var parameters = setting.GetProperty("parameters").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        var context = new DistillerContext(student, teacher, labels.shape[0], labels, classes, 3, 32, 0);
        var d = DistillerRegistry.Create(setting.GetProperty("method").GetString()!, context, parameters);

        // The connectors are the reference's, name for name and shape for shape: convolutions filled as there, batch
        // norms at their initial weight 1 and bias 0.
        var fills = setting.GetProperty("connector_fills");
        var own = d.named_parameters().Where(p => !p.name.StartsWith("student.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(
            new[] { "Connectors.0.0.weight", "Connectors.0.1.weight", "Connectors.0.1.bias", "Connectors.1.0.weight", "Connectors.1.1.weight",
                "Connectors.1.1.bias", "Connectors.2.0.weight", "Connectors.2.1.weight", "Connectors.2.1.bias" }.Order(),
            own.Select(p => p.name).Order());
        using (no_grad())
        {
            foreach (var f in fills.EnumerateObject())
            {
                var parameter = own.Single(p => p.name == f.Name).parameter;
                var shape = f.Value.GetProperty("shape").Longs();
                Assert.Equal(shape, parameter.shape);
                using var values = Golden.Fill(shape, f.Value.GetProperty("a").GetDouble(), f.Value.GetProperty("b").GetDouble(), f.Value.GetProperty("scale").GetDouble());
                parameter.copy_(values);
            }
        }
        Assert.All(own.Where(p => p.name.EndsWith(".1.weight", StringComparison.Ordinal)), p => Assert.True(p.parameter.eq(1).all().item<bool>()));
        Assert.All(own.Where(p => p.name.EndsWith(".1.bias", StringComparison.Ordinal)), p => Assert.True(p.parameter.eq(0).all().item<bool>()));
        d.train();
        return (d, new Batch(images, labels, arange(labels.shape[0], dtype: ScalarType.Int64)));
    }

    [Theory]
    [InlineData("ofd")]
    [InlineData("london_cifar")]
    [InlineData("london_imagenet")]
    public void ATrainingStepMatchesThePyTorchTranscriptionTermByTermGradientByGradient(string key)
    {
        var g = Golden.Load("london.json");
        var setting = g.GetProperty("settings").GetProperty(key);
        var (d, batch) = GoldenSetting(g, setting);
        using var owned = d;
        using var b = batch;
        Assert.True(d.Teacher!.training);   // OFD's and LONDON's teacher: batch statistics
        Assert.True(d.Student!.training);

        // The margins from the teacher's batch norms before the ReLUs.
        var overhaul = (FeatureOverhaulDistiller)d;
        var margins = setting.GetProperty("margins").EnumerateArray().ToArray();
        Assert.Equal(margins.Length, overhaul.Stages);
        for (int i = 0; i < margins.Length; i++) Golden.AssertClose(margins[i].Floats(), overhaul.Margin(i).data<float>().ToArray(), 1e-6);

        var step = d.TrainingStep(batch);
        var expected = setting.GetProperty("losses");
        Assert.Equal(expected.EnumerateObject().Select(e => e.Name).Where(n => n != "total").Order(), step.Losses.Keys.Order());
        var terms = step.Losses.ToDictionary(kv => kv.Key, kv => kv.Value);
        terms["total"] = step.Total();
        foreach (var (name, value) in terms)
        {
            double reference = expected.GetProperty(name).GetDouble();
            double tolerance = 1e-5 + 5 * setting.GetProperty("float32_loss_drift").GetProperty(name).GetDouble();
            Assert.True(Math.Abs(value.item<float>() - reference) <= tolerance * Math.Abs(reference), $"{name}: {value.item<float>()} vs {reference}");
        }

        // The teacher's running statistics moved exactly as one train-mode forward moves them in the reference.
        var teacherState = d.Teacher!.state_dict();
        foreach (var stat in setting.GetProperty("teacher_stats_after").EnumerateObject())
        {
            Golden.AssertClose(stat.Value.Floats(), teacherState[stat.Name].data<float>().ToArray(), 1e-4, 1e-6);
        }

        // Each term's gradient, alone: whole tensors by relative error and cosine, and none where the reference has
        // none (CE reaches no connector, the feature terms not the classifier, LONDON's not the last connector).
        double drift = setting.GetProperty("float32_drift").GetDouble();
        var parameters = d.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var term in setting.GetProperty("grads").EnumerateObject())
        {
            d.zero_grad();
            terms[term.Name].backward(retain_graph: true);
            foreach (var watched in term.Value.EnumerateObject())
            {
                var grad = parameters[watched.Name].grad;
                if (watched.Value.ValueKind == JsonValueKind.Null)
                {
                    Assert.True(grad is null || grad.abs().max().item<float>() == 0, $"{term.Name} reaches {watched.Name}");
                    continue;
                }
                Assert.NotNull(grad);
                using var reference = tensor(watched.Value.Floats()).to(float64);
                using var actual = grad.reshape(-1).to(float64);
                double relative = (actual - reference).norm().item<double>() / reference.norm().item<double>();
                double cosine = (actual * reference).sum().item<double>() / (actual.norm().item<double>() * reference.norm().item<double>());
                Assert.True(relative < Math.Max(5e-4, 5 * drift) && cosine > 1 - 1e-5, $"{term.Name}/{watched.Name}: relative error {relative:E2}, cosine {cosine:F8}");
            }
        }
        Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
        foreach (var t in step.Losses.Values) t.Dispose();
    }

    // ---- Gradients, teacher and optimizer ----

    private static TrainingOptions Options(int epochs) => new()
    {
        Epochs = epochs, BatchSize = 32, LearningRate = 0.05, Schedule = "multistep", Milestones = [1], Seed = 3,
        Nesterov = true, ResetMomentumAtMilestones = true,
    };

    private static Distiller Build(string method, InMemoryImageDataset train, long seed, IReadOnlyDictionary<string, double>? parameters = null)
    {
        random.manual_seed(seed);
        var t = ModelZoo.Create("resnet8", train.NumClasses, 1);
        var student = ModelZoo.Create("resnet8", train.NumClasses, 1);
        var context = new DistillerContext(student, t, train.Count, train.Labels, train.NumClasses, 1, 32, seed);
        return DistillerRegistry.Create(method, context, parameters);
    }

    private static Trainer MakeTrainer(Distiller d, InMemoryImageDataset train, InMemoryImageDataset test, int epochs, RunFolder? folder) =>
        new(d, new DataLoader(train, 32, true, 3, Synthetic.Augment()), new DataLoader(test, 64, false, 3, Synthetic.Plain()),
            Options(epochs), folder, null, e => new CheckpointHeader("resnet8", train.NumClasses, 1, "synthetic", d.Method, e, 3, 0));

    private static Dictionary<string, float[]> State(nn.Module m) => ModuleSnapshot.State(m);

    private static Dictionary<string, long[]> Counters(nn.Module m) => ModuleSnapshot.Counters(m);

    private static bool IsRunningStatistic(string key) =>
        key.EndsWith(".running_mean", StringComparison.Ordinal) || key.EndsWith(".running_var", StringComparison.Ordinal);

    [Theory]
    [InlineData("ofd", "ofd")]
    [InlineData("london", "lipschitz")]
    public void GradientsReachTheStudentAndTheConnectorsAndATrainingStepChangesOnlyTheTeachersBatchNormStatistics(string method, string term)
    {
        using var train = Synthetic.Dataset(64);
        using var test = Synthetic.Dataset(32, seed: 9);
        using var d = Build(method, train, 4);
        Assert.True(d.TeacherInTrainMode);
        var teacherBefore = State(d.Teacher!);
        var teacherCounters = Counters(d.Teacher!);
        var before = State(d);

        // The connectors are registered children, hence in the optimizer's one group with the student; the teacher is not.
        var names = d.named_parameters().Select(p => p.name).ToArray();
        Assert.Equal(9, names.Count(n => n.StartsWith("Connectors.", StringComparison.Ordinal)));
        Assert.All(names, n => Assert.True(n.StartsWith("student.", StringComparison.Ordinal) || n.StartsWith("Connectors.", StringComparison.Ordinal), n));
        OptimizerChecks.HoldsTheMethodAndNotTheTeacher(d, Options(1));

        // The method's own term alone reaches the student's layers up to its last stage (not the classifier) and the
        // connectors it uses (OFD: all three; LONDON: those of stages 1 and 2, its pairs being (r_i(s_i), s_(i+1))).
        d.train();
        using (var first = new DataLoader(train, 32, false, 1, Synthetic.Plain()).Epoch(1).First())
        using (var scope = NewDisposeScope())
        {
            var step = d.TrainingStep(first);
            d.zero_grad();
            step.Losses[term].backward();
            bool Reached(string name)
            {
                var grad = d.named_parameters().Single(p => p.name == name).parameter.grad;
                return grad is not null && grad.abs().sum().item<float>() > 0;
            }
            Assert.True(Reached("student.conv1.weight"));
            Assert.True(Reached("student.layer3.0.conv2.weight"));
            Assert.False(Reached("student.fc.weight"));
            Assert.True(Reached("Connectors.0.0.weight"));
            Assert.True(Reached("Connectors.1.1.weight"));
            Assert.Equal(method == "ofd", Reached("Connectors.2.0.weight"));
            Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
        }
        // That step's teacher forward (train mode) already moved its statistics; start the comparison again from here.
        teacherBefore = State(d.Teacher!);
        teacherCounters = Counters(d.Teacher!);

        MakeTrainer(d, train, test, 1, null).Fit();
        var after = State(d);
        foreach (var key in after.Keys.Where(k => k.StartsWith("Connectors.", StringComparison.Ordinal) && !IsRunningStatistic(k)))
        {
            Assert.False(before[key].SequenceEqual(after[key]), $"{key} was not trained");
        }
        Assert.Contains(after, kv => kv.Key.StartsWith("student.", StringComparison.Ordinal) && !kv.Value.SequenceEqual(before[kv.Key]));
        // The teacher: no gradient, train mode, its weights as before, and only its batch-norm statistics changed (every
        // one of them, with the counters: two training steps).
        Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
        Assert.True(d.Teacher!.training);
        var teacherAfter = State(d.Teacher!);
        Assert.Equal(teacherBefore.Keys.Order(), teacherAfter.Keys.Order());
        foreach (var key in teacherBefore.Keys)
        {
            Assert.True(IsRunningStatistic(key) != teacherBefore[key].SequenceEqual(teacherAfter[key]), $"teacher {key}");
        }
        var countersAfter = Counters(d.Teacher!);
        Assert.NotEmpty(teacherCounters);
        foreach (var key in teacherCounters.Keys) Assert.Equal(teacherCounters[key][0] + 2, countersAfter[key][0]);
        // The margins are constants of the teacher's BN weights, which did not change.
        Assert.All(after.Keys.Where(k => k.StartsWith("margin", StringComparison.Ordinal)), k => Assert.Equal(before[k], after[k]));
    }

    [Fact]
    public void WithTeacherTrainModeZeroTheTeacherStaysInEvalModeAndUnchanged()
    {
        using var train = Synthetic.Dataset(64);
        using var test = Synthetic.Dataset(32, seed: 9);
        using var d = Build("london", train, 4, new Dictionary<string, double> { ["teacher_train_mode"] = 0 });
        Assert.False(d.TeacherInTrainMode);
        Assert.False(d.Teacher!.training);
        var before = State(d.Teacher!);
        MakeTrainer(d, train, test, 1, null).Fit();
        Assert.False(d.Teacher!.training);
        var after = State(d.Teacher!);
        foreach (var key in before.Keys) Assert.True(before[key].SequenceEqual(after[key]), $"teacher {key} changed");
        Assert.Empty(d.TeacherState());
    }

    [Fact]
    public void EachTermFollowsItsWeightAndTheLateAlphaAppliesFromItsFraction()
    {
        using var train = Synthetic.Dataset(8);
        using var batch = new DataLoader(train, 8, false, 1, Synthetic.Plain()).Epoch(1).First();
        var variants = new (string Method, Dictionary<string, double> Parameters, string[] Terms)[]
        {
            ("ofd", new(), ["ce", "ofd"]),
            ("ofd", new() { ["beta"] = 0 }, ["ce"]),
            ("london", new(), ["ce", "ofd", "lipschitz"]),
            ("london", new() { ["alpha"] = 0 }, ["ce", "ofd"]),
            ("london", new() { ["beta"] = 0 }, ["ce", "lipschitz"]),
        };
        foreach (var (method, parameters, terms) in variants)
        {
            using var d = Build(method, train, 1, parameters);
            using var scope = NewDisposeScope();
            Assert.Equal(terms, d.TrainingStep(batch).Losses.Keys);
        }

        // β and α scale their terms linearly (the teacher in eval mode and ones as the start, so two builds see the same numbers).
        double Term(string method, string term, Dictionary<string, double> parameters)
        {
            parameters["teacher_train_mode"] = 0;
            if (method == "london") parameters["random_start"] = 0;
            using var d = Build(method, train, 1, parameters);
            using var scope = NewDisposeScope();
            return d.TrainingStep(batch).Losses[term].item<float>();
        }
        static void Close(double expected, double actual) =>
            Assert.True(Math.Abs(expected - actual) <= 1e-5 * Math.Abs(expected) && expected != 0, $"{actual} vs {expected}");
        Close(3 * Term("ofd", "ofd", new()), Term("ofd", "ofd", new() { ["beta"] = 3 }));
        Close(0.1 * Term("ofd", "ofd", new()), Term("ofd", "ofd", new() { ["imagenet_scaling"] = 1 }));
        Close(2.5 * Term("london", "lipschitz", new()), Term("london", "lipschitz", new() { ["alpha"] = 2.5 }));
        // ImageNet scaling: α L / (10000 B) instead of α L / 200, B = 8.
        Close(200.0 / 80000 * Term("london", "lipschitz", new()), Term("london", "lipschitz", new() { ["imagenet_scaling"] = 1 }));

        using var london = (LipschitzDistiller)Build("london", train, 1, new Dictionary<string, double> { ["alpha"] = 0.8, ["alpha_late_factor"] = 0.25 });
        var alphas = Enumerable.Range(1, 10).Select(e => { london.BeginEpoch(e, 10); return london.CurrentAlpha; }).ToArray();
        Assert.Equal([0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.2, 0.2, 0.2, 0.2], alphas);   // epochs 7..10 are the last 40%
    }

    [Fact]
    public void ThePowerIterationsStartFromTheMethodsOwnGeneratorWhenRandomAndFromOnesOtherwise()
    {
        using var train = Synthetic.Dataset(8);
        using var batch = new DataLoader(train, 8, false, 1, Synthetic.Plain()).Epoch(1).First();
        double Value(Dictionary<string, double> parameters, long? reseed = null)
        {
            parameters["teacher_train_mode"] = 0;
            parameters["power_iterations"] = 2;   // far from convergence: the start shows in the value
            using var d = Build("london", train, 1, parameters);
            Assert.NotNull(d.RandomSource);
            if (reseed is long s) d.RandomSource!.manual_seed(s);
            using var scope = NewDisposeScope();
            return d.TrainingStep(batch).Losses["lipschitz"].item<float>();
        }
        double ones1 = Value(new() { ["random_start"] = 0 }), ones2 = Value(new() { ["random_start"] = 0 }, 99);
        Assert.Equal(ones1, ones2);
        double r1 = Value(new(), 5), r2 = Value(new(), 5), r3 = Value(new(), 6);
        Assert.Equal(r1, r2);
        Assert.NotEqual(r1, r3);
        Assert.NotEqual(r1, ones1);
    }

    // ---- Parameters ----

    [Theory]
    [InlineData("ofd", "beta", -0.1)]
    [InlineData("ofd", "imagenet_scaling", 2.0)]
    [InlineData("ofd", "imagenet_scaling", 0.5)]
    [InlineData("ofd", "teacher_train_mode", -1.0)]
    [InlineData("ofd", "match_sizes", 2.0)]
    [InlineData("london", "alpha", double.NaN)]
    [InlineData("london", "power_iterations", 0.0)]
    [InlineData("london", "power_iterations", 2.5)]
    [InlineData("london", "random_start", 3.0)]
    [InlineData("london", "alpha_late_start", 1.5)]
    [InlineData("london", "alpha_late_factor", -1.0)]
    [InlineData("london", "teacher_train_mode", 2.0)]
    public void ABadValueIsAnErrorNamingTheParameterBeforeAnyNetworkOrDataExists(string method, string name, double value)
    {
        var entry = DistillerRegistry.Get(method);
        var e = Assert.Throws<DistillSharpException>(() => new MethodSettings(entry.Name, entry.Parameters, new Dictionary<string, double> { [name] = value }));
        Assert.Contains($"parameter '{name}'", e.Message);
        Assert.StartsWith(method + ":", e.Message);
    }

    [Fact]
    public void DefaultsAreTheOfficialCifarCodesAndPairsWhoseStagesDoNotLineUpAreErrors()
    {
        var ofd = DistillerRegistry.Get("ofd");
        var london = DistillerRegistry.Get("london");
        Assert.True(ofd.NeedsTeacher && london.NeedsTeacher);
        Assert.Equal(new Dictionary<string, double> { ["beta"] = 1, ["imagenet_scaling"] = 0, ["teacher_train_mode"] = 1, ["match_sizes"] = 0 },
            ofd.Parameters.ToDictionary(p => p.Name, p => p.Default));
        Assert.Equal(new Dictionary<string, double>
        {
            ["beta"] = 1, ["imagenet_scaling"] = 0, ["teacher_train_mode"] = 1, ["match_sizes"] = 0, ["alpha"] = 1, ["power_iterations"] = 10,
            ["random_start"] = 1, ["alpha_late_factor"] = 1, ["alpha_late_start"] = 0.6,
        }, london.Parameters.ToDictionary(p => p.Name, p => p.Default));
        Assert.All(london.Parameters, p => Assert.False(string.IsNullOrWhiteSpace(p.Description)));

        using var train = Synthetic.Dataset(4);
        DistillerContext Context(string teacher, string student, int channels = 1)
        {
            random.manual_seed(1);
            return new DistillerContext(ModelZoo.Create(student, 4, channels), ModelZoo.Create(teacher, 4, channels), 4, train.Labels, 4, channels, 32, 1);
        }
        // resnet8 (3 stages) and ResNet18 (4 stages): not paired.
        Assert.Contains("stages", Assert.Throws<DistillSharpException>(() => DistillerRegistry.Create("london", Context("ResNet18", "resnet8"))).Message);
        // A ShuffleNet teacher has no batch norms before its ReLUs.
        Assert.Contains("batch norms", Assert.Throws<DistillSharpException>(() => DistillerRegistry.Create("ofd", Context("ShuffleV1", "resnet8", 3))).Message);
        // Without a teacher it is an error naming the method.
        random.manual_seed(1);
        var context = new DistillerContext(ModelZoo.Create("resnet8", 4, 1), null, 4, train.Labels, 4, 1, 32, 1);
        Assert.Contains("'london' needs a teacher", Assert.Throws<DistillSharpException>(() => DistillerRegistry.Create("london", context)).Message);
        // A cross-family pair with the same stage sizes is accepted: wrn_16_2 teacher (32, 64, 128) → resnet8x4 student.
        using var d = DistillerRegistry.Create("london", Context("wrn_16_2", "resnet8x4"));
        Assert.Equal(3, ((FeatureOverhaulDistiller)d).Stages);
    }

    // ---- Resume ----

    [Fact]
    public void ResumingGivesTheSameWeightsAsAnUninterruptedRunWithTheTeachersStatisticsAndTheDraws()
    {
        using var train = Synthetic.Dataset(96);
        using var test = Synthetic.Dataset(32, seed: 9);

        using var straight = Build("london", train, 3);
        MakeTrainer(straight, train, test, 2, new RunFolder(Path.Combine(root, "straight"))).Fit();

        var folder = new RunFolder(Path.Combine(root, "resumed"));
        using (var first = Build("london", train, 3))
        {
            MakeTrainer(first, train, test, 1, folder).Fit();
        }
        using var second = Build("london", train, 3);
        var result = MakeTrainer(second, train, test, 2, folder).Fit(resume: true);

        Assert.Equal([1, 2], result.Epochs.Select(e => e.Epoch));
        foreach (var (a, b) in new[] { (State(straight), State(second)), (State(straight.Teacher!), State(second.Teacher!)) })
        {
            Assert.Equal(a.Keys.Order(), b.Keys.Order());
            foreach (var key in a.Keys) Assert.True(a[key].SequenceEqual(b[key]), $"{key} differs after resume");
        }
    }
}
