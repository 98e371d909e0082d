using System.Text.Json;
using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using DistillSharp.Reporting;
using DistillSharp.Tests.Models;
using DistillSharp.Tests.Support;
using DistillSharp.Training;
using TorchSharp;
using DataLoader = DistillSharp.Data.DataLoader;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Distillers;

/// <summary>
/// <c>wcord</c>, <c>wcord-global</c> and <c>wcord-local</c> as a whole: one training step against
/// tests/reference/wcord_reference.py (PyTorch, float64; gradient penalty with the contrastive dual, and spectral
/// normalisation with the Kantorovich dual), where each term's gradients go, what a step leaves of the teacher, the
/// variants, the validation of the parameters, spectral normalisation against an SVD, and the paper profile's pairs.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class WcordDistillerTests
{
    private static readonly Lazy<JsonElement> Root = new(() => Golden.Load("wcord.json"));

    // ---- The golden step ----

    private static (Distiller Distiller, Batch Batch) GoldenSetting(JsonElement root, JsonElement g)
    {
        int classes = root.GetProperty("classes").GetInt32();
        var teacher = ModelZoo.Create(root.GetProperty("teacher").GetString()!, classes, 3);
        var student = ModelZoo.Create(root.GetProperty("student").GetString()!, classes, 3);
        FormulaFill.Apply(teacher);
        FormulaFill.Apply(student);
        var batchIndices = root.GetProperty("batch").Longs();
        var images = FormulaFill.Input([batchIndices.Length, 3, 32, 32]);
        TeacherCalibration.Apply(teacher, images);
        var trainLabels = tensor(root.GetProperty("train_labels").Longs());
        var parameters = g.GetProperty("parameters").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        var context = new DistillerContext(student, teacher, trainLabels.shape[0], trainLabels, classes, 3, 32, 0);
        var d = DistillerRegistry.Create(WassersteinContrastiveDistiller.Name, context, parameters);

        // The heads are exactly the reference's, name for name and shape for shape, and are filled as there.
        var fills = g.GetProperty("fills");
        var own = d.named_parameters().Where(p => !p.name.StartsWith("student.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(fills.EnumerateObject().Select(f => f.Name).Order(), own.Select(p => p.name).Order());
        var buffers = d.named_buffers().ToDictionary(b => b.name, b => b.buffer);
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
            int dim = (int)parameters["feat_dim"];
            foreach (var bank in g.GetProperty("bank_fills").EnumerateObject())
            {
                var target = buffers[bank.Name];
                Assert.Equal(new[] { trainLabels.shape[0], (long)dim }, target.shape);
                using var values = Golden.Fill(target.shape, bank.Value.GetProperty("a").GetDouble(), bank.Value.GetProperty("b").GetDouble(), 1 / Math.Sqrt(dim / 3.0));
                target.copy_(values);
            }
            foreach (var vector in g.GetProperty("vectors").EnumerateObject())
            {
                using var values = tensor(vector.Value.Floats());
                buffers[vector.Name].copy_(values);
            }
        }
        d.train();
        var idx = tensor(batchIndices);
        return (d, new Batch(images, trainLabels.index_select(0, idx), idx));
    }

    [Theory]
    [InlineData("gp_contrastive")]
    [InlineData("sn_kantorovich")]
    public void ATrainingStepMatchesThePyTorchTranscriptionTermByTermAndGradientByGradient(string name)
    {
        var root = Root.Value;
        var g = root.GetProperty("cases").GetProperty(name);
        var (d, batch) = GoldenSetting(root, g);
        using var owned = d;
        using var b = batch;
        Assert.False(d.Teacher!.training);
        bool spectral = g.GetProperty("parameters").GetProperty("lipschitz").GetDouble() == 2;
        Assert.Equal(spectral, d.named_buffers().Any(x => x.name == "embed_s.weight_u"));

        var step = d.TrainingStep(batch);
        var terms = GoldenStep.AssertMatches(d, step, g, $"{name} ", root.GetProperty("prefix"));
        Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));

        // The banks' slots of the batch after the step (moved after scoring), and the power iteration's vectors.
        var buffers = d.named_buffers().ToDictionary(x => x.name, x => x.buffer);
        using var idx = tensor(root.GetProperty("batch").Longs());
        foreach (var bank in g.GetProperty("rows_after").EnumerateObject())
        {
            using var rows = buffers[bank.Name].index_select(0, idx).reshape(-1).to(float64);
            using var reference = tensor(GradientSketch.Doubles(bank.Value));
            Assert.True((rows - reference).abs().max().item<double>() < 1e-5, $"{name}: {bank.Name} rows after the step");
            using var norms = buffers[bank.Name].index_select(0, idx).norm(1);
            Assert.True((norms - 1).abs().max().item<float>() < 1e-5);
        }
        foreach (var vector in g.GetProperty("vectors_after").EnumerateObject())
        {
            using var reference = tensor(GradientSketch.Doubles(vector.Value));
            using var actual = buffers[vector.Name].to(float64);
            Assert.True((actual - reference).abs().max().item<double>() < 1e-5, $"{name}: {vector.Name} after the power iteration");
        }
        foreach (var t in step.Losses.Values) t.Dispose();
    }

    // ---- Gradients, teacher and optimizer ----

    private static TrainingOptions Options(int epochs) => new()
    {
        Epochs = epochs, BatchSize = 32, LearningRate = 0.05, Schedule = "multistep", Milestones = [1], Seed = 3,
    };

    private static Distiller Build(InMemoryImageDataset train, long seed, string method = WassersteinContrastiveDistiller.Name,
        IReadOnlyDictionary<string, double>? parameters = null)
    {
        random.manual_seed(seed);
        var t = ModelZoo.Create("resnet8", train.NumClasses, 1);
        var student = ModelZoo.Create("resnet8", train.NumClasses, 1);
        var context = new DistillerContext(student, t, train.Count, train.Labels, train.NumClasses, 1, 32, seed);
        var all = new Dictionary<string, double> { ["nce_k"] = 16 };
        foreach (var (k, v) in parameters ?? new Dictionary<string, double>()) all[k] = v;
        if (method == WassersteinContrastiveDistiller.LocalName) all.Remove("nce_k");
        return DistillerRegistry.Create(method, context, all);
    }

    private static Dictionary<string, float[]> State(nn.Module m) => ModuleSnapshot.State(m);

    private static Dictionary<string, long[]> Counters(nn.Module m) => ModuleSnapshot.Counters(m);

    private static readonly string[] Heads = ["embed_s", "embed_t", "embed_local"];

    [Fact]
    public void EachTermReachesExactlyItsPartsAndATrainedEpochLeavesTheTeacherUnchanged()
    {
        using var train = Synthetic.Dataset(64);
        using var test = Synthetic.Dataset(32, seed: 9);
        using var d = Build(train, 4, parameters: new Dictionary<string, double> { ["nce_t"] = 0.05 });
        var teacherBefore = State(d.Teacher!);
        var teacherCounters = Counters(d.Teacher!);
        var before = State(d);
        var names = d.named_parameters().Select(p => p.name).ToArray();
        foreach (var head in Heads)
        {
            Assert.Contains($"{head}.linear.weight", names);
            Assert.Contains($"{head}.linear.bias", names);
        }
        OptimizerChecks.HoldsTheMethodAndNotTheTeacher(d, Options(1));

        // Term by term: which parameters get a nonzero gradient.
        d.train();
        using (var first = new DataLoader(train, 32, false, 1, Synthetic.Plain()).Epoch(1).First())
        using (var scope = NewDisposeScope())
        {
            var step = d.TrainingStep(first);
            Assert.Equal(["ce", "wcord_global", "lipschitz", "wcord_local"], step.Losses.Keys);
            Assert.True(step.Losses["lipschitz"].item<float>() > 0, "the penalty is active at τ = 0.05");
            var expectations = new (string Term, string[] Reached, string[] NotReached)[]
            {
                ("ce", ["student.conv1.weight", "student.fc.weight"], ["embed_s.linear.weight", "embed_t.linear.weight", "embed_local.linear.weight"]),
                ("wcord_global", ["student.conv1.weight", "student.layer3.0.conv2.weight", "embed_s.linear.weight", "embed_s.linear.bias", "embed_t.linear.weight", "embed_t.linear.bias"],
                    ["student.fc.weight", "embed_local.linear.weight", "embed_local.linear.bias"]),
                ("lipschitz", ["embed_s.linear.weight", "embed_s.linear.bias", "embed_t.linear.weight", "embed_t.linear.bias"],
                    ["student.conv1.weight", "student.layer3.0.conv2.weight", "student.fc.weight", "embed_local.linear.weight"]),
                ("wcord_local", ["student.conv1.weight", "student.layer3.0.conv2.weight", "embed_local.linear.weight", "embed_local.linear.bias"],
                    ["student.fc.weight", "embed_s.linear.weight", "embed_t.linear.weight", "embed_t.linear.bias"]),
            };
            foreach (var (term, reached, notReached) in expectations)
            {
                d.zero_grad();
                step.Losses[term].backward(retain_graph: true);
                bool Reached(string name)
                {
                    var grad = d.named_parameters().Single(p => p.name == name).parameter.grad;
                    return grad is not null && grad.abs().sum().item<float>() > 0;
                }
                foreach (var name in reached) Assert.True(Reached(name), $"{term} does not reach {name}");
                foreach (var name in notReached) Assert.False(Reached(name), $"{term} reaches {name}");
                Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
            }
            // No gradient ever flows into the banks.
            Assert.All(d.named_buffers(), b => Assert.False(b.buffer.requires_grad));
        }
        d.zero_grad();

        new Trainer(d, new DataLoader(train, 32, true, 3, Synthetic.Augment()), new DataLoader(test, 64, false, 3, Synthetic.Plain()),
            Options(1), null, null, e => new CheckpointHeader("resnet8", train.NumClasses, 1, "synthetic", d.Method, e, 3, 0)).Fit();
        var after = State(d);
        foreach (var key in after.Keys.Where(k => Heads.Any(h => k.StartsWith(h + ".linear.", StringComparison.Ordinal))))
        {
            Assert.False(before[key].SequenceEqual(after[key]), $"{key} was not trained");
        }
        Assert.False(before["contrast.memory_v1"].SequenceEqual(after["contrast.memory_v1"]), "the student bank did not move");
        Assert.Contains(after, kv => kv.Key.StartsWith("student.", StringComparison.Ordinal) && !kv.Value.SequenceEqual(before[kv.Key]));
        // The teacher: no gradient, eval mode, and every parameter and buffer as before.
        ModuleSnapshot.AssertEvalTeacherUnchanged(d.Teacher!, teacherBefore, teacherCounters);
    }

    // ---- Variants ----

    [Fact]
    public void EachVariantAndSwitchBuildsOnlyItsPartsAndReturnsOnlyItsTerms()
    {
        using var train = Synthetic.Dataset(32);
        using var batch = new DataLoader(train, 16, false, 1, Synthetic.Plain()).Epoch(1).First();
        var variants = new (string Method, Dictionary<string, double> Parameters, string[] Terms, string[] Children)[]
        {
            ("wcord", new(), ["ce", "wcord_global", "lipschitz", "wcord_local"], ["embed_s", "embed_t", "contrast", "embed_local"]),
            ("wcord", new() { ["alpha"] = 0.5 }, ["ce", "kd", "wcord_global", "lipschitz", "wcord_local"], ["embed_s", "embed_t", "contrast", "embed_local"]),
            ("wcord", new() { ["lipschitz"] = 0 }, ["ce", "wcord_global", "wcord_local"], ["embed_s", "embed_t", "contrast", "embed_local"]),
            ("wcord", new() { ["lipschitz"] = 2 }, ["ce", "wcord_global", "wcord_local"], ["embed_s", "embed_t", "contrast", "embed_local"]),
            ("wcord", new() { ["gp_weight"] = 0 }, ["ce", "wcord_global", "wcord_local"], ["embed_s", "embed_t", "contrast", "embed_local"]),
            ("wcord", new() { ["lambda_local"] = 0 }, ["ce", "wcord_global", "lipschitz"], ["embed_s", "embed_t", "contrast"]),
            ("wcord", new() { ["lambda_global"] = 0 }, ["ce", "wcord_local"], ["embed_local"]),
            ("wcord-global", new(), ["ce", "wcord_global", "lipschitz"], ["embed_s", "embed_t", "contrast"]),
            ("wcord-global", new() { ["global_form"] = 1, ["lipschitz"] = 2 }, ["ce", "wcord_global"], ["embed_s", "embed_t", "contrast"]),
            ("wcord-local", new(), ["ce", "wcord_local"], ["embed_local"]),
        };
        foreach (var (method, parameters, terms, children) in variants)
        {
            using var d = Build(train, 1, method, parameters);
            Assert.Equal(method, d.Method);
            using var scope = NewDisposeScope();
            var losses = d.TrainingStep(batch).Losses;
            Assert.Equal(terms, losses.Keys);
            Assert.All(losses.Values, v => Assert.True(float.IsFinite(v.item<float>())));
            Assert.Equal(children, d.named_children().Select(c => c.name).Where(n => n != "student"));
            Assert.Equal(children.Contains("contrast"), d.RandomSource is not null);
            bool spectral = parameters.TryGetValue("lipschitz", out var l) && l == 2;
            Assert.Equal(spectral, d.named_buffers().Any(x => x.name.EndsWith("weight_u", StringComparison.Ordinal)));
        }
        // The halves' parameter lists hold only their own half's parameters.
        var globalNames = DistillerRegistry.Get("wcord-global").Parameters.Select(p => p.Name).ToArray();
        var localNames = DistillerRegistry.Get("wcord-local").Parameters.Select(p => p.Name).ToArray();
        Assert.DoesNotContain("sinkhorn_epsilon", globalNames);
        Assert.DoesNotContain("lambda_local", globalNames);
        Assert.DoesNotContain("nce_k", localNames);
        Assert.DoesNotContain("lipschitz", localNames);
        Assert.Equal(DistillerRegistry.Get("wcord").Parameters.Select(p => p.Name).Order(), globalNames.Union(localNames).Order());
    }

    [Fact]
    public void ContrastiveAndKantorovichDualsDifferAndTheKantorovichDualIsMinusTheCriticsGap()
    {
        using var train = Synthetic.Dataset(32);
        using var batch = new DataLoader(train, 16, false, 1, Synthetic.Plain()).Epoch(1).First();
        using var a = Build(train, 1, "wcord-global", new Dictionary<string, double> { ["global_form"] = 0, ["lipschitz"] = 0, ["lambda_global"] = 1 });
        using var b = Build(train, 1, "wcord-global", new Dictionary<string, double> { ["global_form"] = 1, ["lipschitz"] = 0, ["lambda_global"] = 1 });
        using var scope = NewDisposeScope();
        double contrastive = a.TrainingStep(batch).Losses["wcord_global"].item<float>();
        double kantorovich = b.TrainingStep(batch).Losses["wcord_global"].item<float>();
        // Same seed, same heads and banks: the contrastive form is a cross-entropy over 17 candidates (positive), the
        // Kantorovich one a difference of two means of scores in [−1/τ, 1/τ], per anchor.
        Assert.True(contrastive > 0);
        Assert.InRange(kantorovich, -4 / 0.07, 4 / 0.07);
        Assert.NotEqual(contrastive, kantorovich, 3);
    }

    [Fact]
    public void SpectralNormalisationDividesEachHeadByItsLargestSingularValue()
    {
        random.manual_seed(5);
        using var head = new ContrastEmbedding(40, 12, spectralNorm: true);
        head.train();
        using var x = randn(6, 40);
        // Power iteration converges linearly (at the ratio of the two largest singular values); 300 steps of training
        // are far fewer than a run takes.
        for (int i = 0; i < 300; i++)
        {
            using var scope = NewDisposeScope();
            head.forward(x);
        }
        using var w = head.EffectiveWeight();
        using var sv = linalg.svdvals(w.detach());
        Assert.Equal(1.0, sv[0].item<float>(), 4);
        // Its output: L2-normalised rows of x (W/σ)ᵀ + b.
        using var y = head.forward(x);
        using var manual = nn.functional.linear(x, head.EffectiveWeight(), head.named_parameters().Single(p => p.name == "linear.bias").parameter);
        using var expected = manual / manual.norm(1, keepdim: true);
        Assert.True((y - expected).abs().max().item<float>() < 1e-6);
        // Without spectral normalisation the head is CRD's, with no extra buffer.
        using var plain = new ContrastEmbedding(40, 12);
        Assert.Empty(plain.named_buffers());
    }

    // ---- Parameters ----

    [Theory]
    [InlineData("wcord", "lipschitz", 3.0)]
    [InlineData("wcord", "lipschitz", 0.5)]
    [InlineData("wcord", "global_form", 2.0)]
    [InlineData("wcord", "gp_weight", -1.0)]
    [InlineData("wcord", "sinkhorn_epsilon", 0.0)]
    [InlineData("wcord", "sinkhorn_epsilon", 101.0)]
    [InlineData("wcord", "sinkhorn_iterations", 0.0)]
    [InlineData("wcord", "sinkhorn_iterations", 2.5)]
    [InlineData("wcord", "nce_k", 0.0)]
    [InlineData("wcord", "nce_t", 0.0)]
    [InlineData("wcord", "nce_m", 1.0)]
    [InlineData("wcord", "feat_dim", 0.0)]
    [InlineData("wcord", "lambda_global", double.NaN)]
    [InlineData("wcord", "lambda_local", -0.5)]
    [InlineData("wcord", "alpha", -0.1)]
    [InlineData("wcord", "temperature", 0.0)]
    [InlineData("wcord-global", "nce_k", 1.5)]
    [InlineData("wcord-local", "sinkhorn_epsilon", -1.0)]
    public void ABadValueIsAnErrorNamingTheParameterBeforeAnyNetworkOrDataExists(string method, string name, double value)
    {
        var entry = DistillerRegistry.Get(method);
        var e = Assert.Throws<DistillSharpException>(() => new MethodSettings(entry.Name, entry.Parameters, new Dictionary<string, double> { [name] = value }));
        Assert.Contains($"parameter '{name}'", e.Message);
        Assert.StartsWith(method + ":", e.Message);
    }

    [Fact]
    public void DefaultsAreDocumentedAndAHalfRefusesTheOtherHalfsParameters()
    {
        var entry = DistillerRegistry.Get(WassersteinContrastiveDistiller.Name);
        Assert.True(entry.NeedsTeacher);
        Assert.Equal(new Dictionary<string, double>
        {
            ["gamma"] = 1, ["alpha"] = 0, ["temperature"] = 4, ["lambda_global"] = 0.8, ["feat_dim"] = 128, ["nce_k"] = 16384,
            ["nce_t"] = 0.07, ["nce_m"] = 0.5, ["global_form"] = 0, ["lipschitz"] = 1, ["gp_weight"] = 10,
            ["lambda_local"] = 1, ["sinkhorn_epsilon"] = 0.05, ["sinkhorn_iterations"] = 100,
        }, entry.Parameters.ToDictionary(p => p.Name, p => p.Default));
        Assert.All(entry.Parameters, p => Assert.False(string.IsNullOrWhiteSpace(p.Description)));
        var local = DistillerRegistry.Get(WassersteinContrastiveDistiller.LocalName);
        var e = Assert.Throws<DistillSharpException>(() => new MethodSettings(local.Name, local.Parameters, new Dictionary<string, double> { ["nce_k"] = 10 }));
        Assert.Contains("no parameter 'nce_k'", e.Message);
        // The profiles cut the negatives as they do CRD's; the paper profile keeps 16384.
        Assert.Equal(256, TrainingProfile.Smoke.MethodDefaultsFor("wcord")["nce_k"]);
        Assert.Equal(4096, TrainingProfile.Cpu.MethodDefaultsFor("wcord-global")["nce_k"]);
        Assert.Empty(TrainingProfile.Paper.MethodDefaultsFor("wcord"));
    }

    // ---- The paper profile's pairs ----

    [Fact]
    public void EveryPairOfThePaperTableBuildsAtThePaperProfileAndTakesAStep()
    {
        var table = PaperTable.Load("wcord");
        Assert.Equal(13, table.Rows.Count);
        var profile = TrainingProfile.Paper;
        Assert.Equal(("cifar100", 240, 64), (profile.Dataset, profile.Options.Epochs, profile.Options.BatchSize));
        var info = DatasetCatalog.Info(profile.Dataset);
        var settings = profile.MethodDefaultsFor("wcord");
        using var labels = arange(200, dtype: ScalarType.Int64) % info.NumClasses;   // two images per class
        using var images = FormulaFill.Input([2, 3, 32, 32]);
        using var idx = tensor(new long[] { 3, 150 });
        foreach (var row in table.Rows)
        {
            Assert.Equal(row.Student is "MobileNetV2" or "ShuffleV1" or "ShuffleV2" ? 0.01 : 0.05, profile.LearningRateFor(row.Student));
            random.manual_seed(1);
            var teacher = ModelZoo.Create(row.Teacher!, info.NumClasses, 3);
            var student = ModelZoo.Create(row.Student, info.NumClasses, 3);
            var context = new DistillerContext(student, teacher, labels.shape[0], labels, info.NumClasses, 3, 32, 1);
            using var d = DistillerRegistry.Create("wcord", context, settings);
            d.train();
            using var scope = NewDisposeScope();
            using var batch = new Batch(images.clone(), labels.index_select(0, idx), idx.clone());
            var step = d.TrainingStep(batch);
            var total = step.Total();
            Assert.True(float.IsFinite(total.item<float>()), $"{row.Teacher} -> {row.Student}");
            total.backward();
            teacher.Dispose();
        }
    }
}
