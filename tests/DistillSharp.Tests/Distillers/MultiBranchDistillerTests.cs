using System.Text.Json;
using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Losses;
using DistillSharp.Models;
using DistillSharp.Tests.Models;
using DistillSharp.Tests.Support;
using DistillSharp.Training;
using TorchSharp;
using DataLoader = DistillSharp.Data.DataLoader;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Distillers;

/// <summary>
/// <c>one</c> and <c>ffm-cd</c> as methods: one training step each against tests/reference/multibranch_reference.py
/// (PyTorch, float64), the gate and the ensembles, where each term's gradient goes, the parameters' ranges, the
/// predictions and the diversity column a run reports, and the diversity the CD loss adds on a short run.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class MultiBranchDistillerTests
{
    private static Distiller Build(string method, int classes, int channels, long seed, IReadOnlyDictionary<string, double>? parameters = null, string network = "resnet8")
    {
        random.manual_seed(seed);
        var student = ModelZoo.Create(network, classes, channels);
        using var labels = zeros(8, dtype: ScalarType.Int64);
        var context = new DistillerContext(student, null, 8, labels, classes, channels, 32, seed);
        return DistillerRegistry.Create(method, context, parameters);
    }

    // ---- The golden step ----

    [Theory]
    [InlineData("one")]
    [InlineData("ffm-cd")]
    public void ATrainingStepMatchesThePyTorchTranscriptionTermByTermAndGradientByGradient(string method)
    {
        var root = Golden.Load("multibranch.json");
        var g = root.GetProperty("cases").GetProperty(method);
        bool layout = ZooModel.UseChannelsLast;
        ZooModel.UseChannelsLast = false;   // batch statistics round differently channels-last (see DistillerStepTests)
        try
        {
            using var scope = NewDisposeScope();
            int classes = root.GetProperty("classes").GetInt32();
            var parameters = g.GetProperty("parameters").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
            using var d = (MultiBranchDistiller)Build(method, classes, 3, 0, parameters);
            d.BeginEpoch(root.GetProperty("epoch").GetInt32(), root.GetProperty("epochs").GetInt32());
            Assert.Equal(g.GetProperty("ramp_weight").GetDouble(), d.RampWeight, 12);
            var state = FormulaFill.Ordered(d);
            Assert.Equal(g.GetProperty("state_keys").EnumerateArray().Select(k => k.GetString()!), state.Select(kv => kv.Key));
            FormulaFill.Apply(state);
            d.train();
            var images = FormulaFill.Input(root.GetProperty("input").Longs());
            var labels = tensor(root.GetProperty("labels").Longs());
            var step = d.TrainingStep(new Batch(images, labels, arange(labels.shape[0], dtype: ScalarType.Int64)));

            var expected = g.GetProperty("losses");
            Assert.Equal(expected.EnumerateObject().Select(e => e.Name).Where(n => n != "total").Order(), step.Losses.Keys.Order());
            var terms = step.Losses.ToDictionary(kv => kv.Key, kv => kv.Value);
            terms["total"] = step.Total();
            foreach (var (name, value) in terms)
            {
                double reference = expected.GetProperty(name).GetDouble();
                double tolerance = 5e-6 + 5 * g.GetProperty("float32_loss_drift").GetProperty(name).GetDouble();
                Assert.True(Math.Abs(value.item<float>() - reference) <= tolerance * Math.Abs(reference), $"{name}: {value.item<float>()} vs {reference}");
            }

            // The ensembles and the gate (a second forward on the same batch: train mode, the same batch statistics).
            var outputs = g.GetProperty("outputs");
            var (_, gate, gated, mean) = d.Forward(images);
            foreach (var (name, actual) in new[] { ("gate", gate), ("gated", gated), ("mean", mean) })
            {
                var reference = outputs.GetProperty(name).Floats();
                Golden.AssertClose(reference, actual.reshape(-1).data<float>().ToArray(), 1e-4, 1e-5);
            }
            Assert.True((step.Predictions![^1] - gated).abs().max().item<float>() < 1e-5);
            Assert.True((step.Logits - mean).abs().max().item<float>() < 1e-5);

            // Each term's gradient alone: whole tensors by relative error and cosine, none where the reference has none.
            var named = d.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var term in g.GetProperty("grads").EnumerateObject())
            {
                d.zero_grad();
                terms[term.Name].backward(retain_graph: true);
                foreach (var watched in term.Value.EnumerateObject())
                {
                    var grad = named[watched.Name].grad;
                    if (watched.Value.ValueKind == JsonValueKind.Null)
                    {
                        Assert.True(grad is null || grad.abs().max().item<float>() == 0, $"{term.Name} reaches {watched.Name}");
                        continue;
                    }
                    Assert.NotNull(grad);
                    var reference = tensor(watched.Value.Floats()).to(float64);
                    var actual = grad.reshape(-1).to(float64);
                    double relative = (actual - reference).norm().item<double>() / reference.norm().item<double>();
                    double cosine = (actual * reference).sum().item<double>() / (actual.norm().item<double>() * reference.norm().item<double>());
                    // 5e-4, or ten times PyTorch's own float32 error on this gradient where that is larger.
                    double tolerance = Math.Max(5e-4, 10 * g.GetProperty("float32_grad_drift").GetProperty(term.Name).GetProperty(watched.Name).GetDouble());
                    Assert.True(relative < tolerance && cosine > 1 - Math.Max(1e-6, tolerance * tolerance),
                        $"{term.Name}/{watched.Name}: relative error {relative:E2} (tolerance {tolerance:E1}), cosine {cosine:F8}");
                }
            }
        }
        finally
        {
            ZooModel.UseChannelsLast = layout;
        }
    }

    // ---- Gate and ensembles ----

    [Theory]
    [InlineData("one", 0)]
    [InlineData("ffm-cd", 1)]
    [InlineData("ffm-cd", 0)]
    public void GateWeightsSumToOnePerSampleAndTheEnsembleIsTheGateWeightedSum(string method, double ffm)
    {
        using var scope = NewDisposeScope();
        var parameters = method == "one" ? null : new Dictionary<string, double> { ["ffm"] = ffm, ["branches"] = 4 };
        using var d = (MultiBranchDistiller)Build(method, 5, 1, 3, parameters);
        int m = d.Network.Branches;
        using var gen = new Generator(7);
        var x = randn(new long[] { 6, 1, 32, 32 }, generator: gen);
        foreach (bool training in new[] { true, false })
        {
            d.train(training);
            using var guard = training ? null : no_grad();
            var (branches, gate, gated, mean) = d.Forward(x);
            Assert.Equal(new long[] { 6, m }, gate.shape);
            Assert.True((gate.sum(1) - 1).abs().max().item<float>() < 1e-6);
            Assert.True(gate.min().item<float>() >= 0);
            var g = gate.to(float64).data<double>().ToArray();
            var z = branches.Select(b => b.to(float64).data<double>().ToArray()).ToArray();
            var e = gated.to(float64).data<double>().ToArray();
            var avg = mean.to(float64).data<double>().ToArray();
            for (int row = 0; row < 6; row++)
            {
                for (int c = 0; c < 5; c++)
                {
                    double sum = 0, plain = 0;
                    for (int i = 0; i < m; i++)
                    {
                        sum += g[row * m + i] * z[i][row * 5 + c];
                        plain += z[i][row * 5 + c] / m;
                    }
                    Assert.Equal(sum, e[row * 5 + c], 1e-5);
                    Assert.Equal(plain, avg[row * 5 + c], 1e-5);
                }
            }
        }
        // The gate is not the uniform 1/m everywhere (it depends on the image).
        d.eval();
        using (no_grad()) Assert.True(d.Forward(x).Gate.std(0).max().item<float>() > 0);
    }

    [Fact]
    public void PredictionsAreTheEnsembleEachBranchAndTheGatedEnsembleWithTheBranchMeanAndTheDisagreement()
    {
        using var d = Build("ffm-cd", 4, 1, 1);
        Assert.Null(d.Student);
        Assert.Null(d.Teacher);
        Assert.False(DistillerRegistry.Get("one").NeedsTeacher);
        Assert.False(DistillerRegistry.Get("ffm-cd").NeedsTeacher);
        Assert.Equal(["ensemble", "branch1", "branch2", "branch3", "gated"], d.PredictionNames);
        Assert.Equal(["branch1", "branch2", "branch3"], d.AccuracyMeans["branch_mean"]);
        Assert.Equal(["branch_disagreement"], d.PredictionMetrics);
        var columns = new PredictionColumns(d).Columns;
        Assert.Contains("test_top1/branch_mean", columns);
        Assert.Equal("test_branch_disagreement", columns[^1]);

        using var scope = NewDisposeScope();
        d.eval();
        using var guard = no_grad();
        using var gen = new Generator(2);
        var predictions = d.Predict(randn(new long[] { 5, 1, 32, 32 }, generator: gen));
        Assert.Equal(5, predictions.Count);
        var values = d.PredictionMetricValues(predictions);
        var expected = ClassifierDiversity.Disagreement(predictions.Skip(1).Take(3).ToArray()) * 100;
        Assert.True((values.Single() - expected).abs().max().item<float>() == 0);
    }

    // ---- Gradients and the optimizer ----

    private static bool Reached(TorchSharp.Modules.Parameter p) => p.grad is not null && p.grad.abs().sum().item<float>() > 0;

    [Fact]
    public void EachTermReachesExactlyTheParametersItShould()
    {
        using var train = Synthetic.Dataset(16);
        using var batch = new DataLoader(train, 16, false, 1, Synthetic.Plain()).Epoch(1).First();
        using var d = (MultiBranchDistiller)Build("ffm-cd", train.NumClasses, 1, 2, new Dictionary<string, double> { ["cd_weight"] = 0.1 });
        var net = d.Network;
        var fusion = d.named_parameters().Where(p => p.name.StartsWith("ffm.", StringComparison.Ordinal)).Select(p => p.parameter).ToArray();
        Assert.Equal(5, fusion.Length);   // conv weight, bn weight and bias, fc weight and bias
        var classifierWeights = net.Classifiers.Select(c => c.weight!).ToHashSet(ReferenceEqualityComparer.Instance);
        var grouped = OptimizerChecks.Optimized(d, new TrainingOptions());
        Assert.All(d.parameters(), p => Assert.Contains(p, grouped));
        Assert.Equal(d.parameters().Count(), grouped.Count);
        d.train();
        using var scope = NewDisposeScope();
        var step = d.TrainingStep(batch);
        Assert.Equal(["ce", "ce_ensemble", "kl", "cd"], step.Losses.Keys);

        void Backward(string term)
        {
            d.zero_grad();
            step.Losses[term].backward(retain_graph: true);
        }
        // The branches' cross-entropies: trunk and every branch, not the gate.
        Backward("ce");
        Assert.All(net.TrunkParameters(), p => Assert.True(Reached(p)));
        for (int i = 0; i < net.Branches; i++) Assert.All(net.BranchParameters(i), p => Assert.True(Reached(p)));
        Assert.All(fusion, p => Assert.False(Reached(p)));
        // The ensemble's cross-entropy and the KL (its target is not detached): the gate too.
        foreach (var term in new[] { "ce_ensemble", "kl" })
        {
            Backward(term);
            Assert.All(fusion, p => Assert.True(Reached(p), $"{term} does not reach the fusion module"));
            Assert.All(net.TrunkParameters(), p => Assert.True(Reached(p)));
        }
        // The CD loss: the classifiers' weights and nothing else.
        Backward("cd");
        foreach (var (name, p) in d.named_parameters())
        {
            Assert.True(Reached(p) == classifierWeights.Contains(p), $"cd {(Reached(p) ? "reaches" : "misses")} {name}");
        }

        // ONE: its gate is reached by the ensemble's cross-entropy only, never by the branches' own.
        using var one = (MultiBranchDistiller)Build("one", train.NumClasses, 1, 2);
        one.train();
        var oneStep = one.TrainingStep(batch);
        Assert.Equal(["ce", "ce_ensemble", "kl"], oneStep.Losses.Keys);
        var gate = one.named_parameters().Where(p => p.name.StartsWith("gate.", StringComparison.Ordinal)).Select(p => p.parameter).ToArray();
        Assert.Equal(4, gate.Length);
        oneStep.Losses["ce"].backward(retain_graph: true);
        Assert.All(gate, p => Assert.False(Reached(p)));
        one.zero_grad();
        oneStep.Losses["ce_ensemble"].backward();
        Assert.All(gate, p => Assert.True(Reached(p)));
    }

    [Fact]
    public void TheKlTermCarriesAlphaAndTheRampUpOfTheEpoch()
    {
        using var train = Synthetic.Dataset(8);
        using var batch = new DataLoader(train, 8, false, 1, Synthetic.Plain()).Epoch(1).First();
        using var d = (MultiBranchDistiller)Build("one", train.NumClasses, 1, 5, new Dictionary<string, double> { ["alpha"] = 0.5, ["rampup_fraction"] = 0.4 });
        d.train();
        Assert.Equal(Math.Exp(-5), d.RampWeight, 12);   // before the first epoch: w(0)
        using var scope = NewDisposeScope();
        foreach (var (epoch, w) in new[] { (1, Math.Exp(-5)), (2, Math.Exp(-5 * 0.75 * 0.75)), (5, 1.0), (10, 1.0) })
        {
            d.BeginEpoch(epoch, 10);                      // L = 0.4 · 10 = 4 epochs
            Assert.Equal(w, d.RampWeight, 12);
            var (branches, _, gated, _) = d.Forward(batch.Images);
            double expected = 0.5 * w * OnTheFlyNativeEnsemble.EnsembleDistillation(branches, gated, 3.0).item<float>();
            Assert.Equal(expected, d.TrainingStep(batch).Losses["kl"].item<float>(), 1e-6 + 1e-5 * Math.Abs(expected));
        }
        using var noRamp = (MultiBranchDistiller)Build("one", train.NumClasses, 1, 5, new Dictionary<string, double> { ["rampup_fraction"] = 0 });
        noRamp.BeginEpoch(1, 10);
        Assert.Equal(1.0, noRamp.RampWeight);
        using var noKl = Build("one", train.NumClasses, 1, 5, new Dictionary<string, double> { ["alpha"] = 0 });
        Assert.Equal(["ce", "ce_ensemble"], noKl.TrainingStep(batch).Losses.Keys);
    }

    // ---- Parameters ----

    [Theory]
    [InlineData("one", "branches", 1.0)]
    [InlineData("one", "branches", 2.5)]
    [InlineData("one", "branches", 17.0)]
    [InlineData("one", "temperature", 0.0)]
    [InlineData("one", "alpha", -1.0)]
    [InlineData("one", "rampup_fraction", 1.5)]
    [InlineData("ffm-cd", "ffm", 2.0)]
    [InlineData("ffm-cd", "ffm_channels", -1.0)]
    [InlineData("ffm-cd", "ffm_radius", 4.0)]
    [InlineData("ffm-cd", "cd_weight", -5e-8)]
    [InlineData("ffm-cd", "cd_weight", double.NaN)]
    public void ABadValueIsAnErrorNamingTheParameterBeforeAnyNetworkOrDataExists(string method, string name, double value)
    {
        var entry = DistillerRegistry.Get(method);
        var e = Assert.Throws<DistillSharpException>(() => new MethodSettings(entry.Name, entry.Parameters, new Dictionary<string, double> { [name] = value }));
        Assert.Contains($"parameter '{name}'", e.Message);
        Assert.StartsWith($"{method}:", e.Message);
        // The run refuses it before it looks for data (the data folder does not exist).
        var spec = new RunSpec { Method = method, Student = "resnet8", MethodParameters = new Dictionary<string, double> { [name] = value }, DataDir = "/nonexistent-data" };
        var run = Assert.Throws<DistillSharpException>(() => Experiment.Run(spec, null));
        Assert.Contains($"parameter '{name}'", run.Message);
    }

    [Fact]
    public void DefaultsAreOnesAndTheCdWeightOfTheReimplementations()
    {
        var one = DistillerRegistry.Get("one").Parameters.ToDictionary(p => p.Name, p => p.Default);
        Assert.Equal(new Dictionary<string, double> { ["branches"] = 3, ["temperature"] = 3, ["alpha"] = 1, ["rampup_fraction"] = 80.0 / 300 }, one);
        var ffm = DistillerRegistry.Get("ffm-cd").Parameters.ToDictionary(p => p.Name, p => p.Default);
        Assert.Equal(5e-8, ffm["cd_weight"]);
        Assert.Equal(1, ffm["ffm"]);
        Assert.All(DistillerRegistry.Get("ffm-cd").Parameters, p => Assert.False(string.IsNullOrWhiteSpace(p.Description)));
        // ffm = 0 and cd_weight = 0: ONE's gate and terms, parameter for parameter.
        using var plain = Build("ffm-cd", 4, 1, 9, new Dictionary<string, double> { ["ffm"] = 0, ["cd_weight"] = 0 });
        using var reference = Build("one", 4, 1, 9);
        Assert.Equal(reference.named_parameters().Select(p => (p.name, p.parameter.shape.Aggregate(1L, (a, b) => a * b))),
            plain.named_parameters().Select(p => (p.name, p.parameter.shape.Aggregate(1L, (a, b) => a * b))));
        // A network outside the two families is refused by name.
        Assert.Contains("'vgg8'", Assert.Throws<DistillSharpException>(() => Build("one", 4, 1, 1, network: "vgg8")).Message);
    }

    // ---- A short run ----

    private static (double Disagreement, EpochMetrics Last) ShortRun(double cdWeight)
    {
        using var train = Synthetic.Dataset(128, classes: 4);
        using var test = Synthetic.Dataset(128, classes: 4, seed: 9);
        using var d = Build("ffm-cd", 4, 1, 21, new Dictionary<string, double> { ["cd_weight"] = cdWeight });
        var options = new TrainingOptions { Epochs = 2, BatchSize = 32, LearningRate = 0.05, Schedule = "constant", Milestones = [], Seed = 21 };
        var trainer = new Trainer(d, new DataLoader(train, 32, true, 21, Synthetic.Augment()), new DataLoader(test, 128, false, 21, Synthetic.Plain()),
            options, null, null, e => new CheckpointHeader("resnet8", 4, 1, "synthetic", d.Method, e, 21, 0));
        var last = trainer.Fit().Last;
        return (last.Accuracies["test_branch_disagreement"], last);
    }

    [Fact]
    public void OnAShortRunTheBranchesDisagreeMoreWithTheCdLossThanWithout()
    {
        var (without, last) = ShortRun(0);
        var (with, _) = ShortRun(CdWeightOfTheShortRun);
        Assert.InRange(without, 0, 100);
        Assert.True(with > without, $"disagreement {with:F2}% with CD, {without:F2}% without");
        Assert.Contains("test_top1/branch_mean", last.Accuracies.Keys);
        Assert.Equal(last.Accuracies.Where(kv => kv.Key.StartsWith("test_top1/branch", StringComparison.Ordinal) && kv.Key != "test_top1/branch_mean").Average(kv => kv.Value),
            last.Accuracies["test_top1/branch_mean"], 9);
    }

    private const double CdWeightOfTheShortRun = 1.0;

    [Fact]
    public void ACheckpointHoldsTheWholeMethodWithoutAZooStudentAndRestoresItsPredictions()
    {
        var root = Directory.CreateTempSubdirectory("distill-multibranch-").FullName;
        try
        {
            using var train = Synthetic.Dataset(32);
            using var test = Synthetic.Dataset(16, seed: 9);
            var parameters = new Dictionary<string, double> { ["branches"] = 2, ["cd_weight"] = 0.01 };
            using var d = Build("ffm-cd", train.NumClasses, 1, 4, parameters);
            var folder = new RunFolder(root);
            var options = new TrainingOptions { Epochs = 1, BatchSize = 16, LearningRate = 0.05, Schedule = "constant", Milestones = [], Seed = 4 };
            new Trainer(d, new DataLoader(train, 16, true, 4, Synthetic.Augment()), new DataLoader(test, 16, false, 4, Synthetic.Plain()),
                options, folder, null, e => new CheckpointHeader("resnet8", train.NumClasses, 1, "synthetic", d.Method, e, 4, 0)).Fit();
            var header = Checkpoint.ReadHeader(folder.LastCheckpoint);
            Assert.False(header.HasStudent);
            Assert.Equal(["ensemble", "branch1", "branch2", "gated"], header.Predictions);
            Assert.Contains("test_branch_disagreement", File.ReadLines(folder.Metrics).First().Split(','));
            Assert.Contains("not one zoo network", Assert.Throws<DistillSharpException>(() => Checkpoint.LoadModel(folder.LastCheckpoint)).Message);

            using var restored = Build("ffm-cd", train.NumClasses, 1, 99, parameters);
            Checkpoint.Restore(folder.LastCheckpoint, restored, optimizer: null);
            using var scope = NewDisposeScope();
            d.eval();
            restored.eval();
            using var guard = no_grad();
            var x = randn(4, 1, 32, 32);
            foreach (var (a, b) in d.Predict(x).Zip(restored.Predict(x))) Assert.Equal(0f, (a - b).abs().max().item<float>());
            var reread = EpochMetrics.ReadCsv(folder.Metrics).Single();
            Assert.InRange(reread.Accuracies["test_branch_disagreement"], 0, 100);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
