using System.Text.Json;
using DistillSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Models;

/// <summary>Every zoo model checked against the PyTorch transcription's golden values (tests/reference).</summary>
public sealed class ModelZooTests
{
    public static TheoryData<string> AllModels => [.. ModelZoo.Names];

    [Fact]
    public void NamesAreTheReferenceNames()
    {
        Assert.Equal(ZooGolden.Names, ModelZoo.Names);
        Assert.Equal(32, ModelZoo.Names.Count);
    }

    [Theory]
    [MemberData(nameof(AllModels))]
    public void StateDictMatchesReference(string name)
    {
        var golden = ZooGolden.Model(name);
        using var model = ModelZoo.Create(name, 100);

        Assert.Equal(name, model.Name);
        Assert.Equal(100, model.NumClasses);
        Assert.Equal(golden.GetProperty("params").GetInt64(), model.parameters().Sum(p => p.numel()));
        Assert.Equal(ZooGolden.Longs(golden.GetProperty("feature_channels")), model.FeatureChannels.Select(c => (long)c));

        // Keys, order and shapes of PyTorch's state_dict.
        var expected = golden.GetProperty("state_dict").EnumerateArray()
            .Select(e => $"{e[0].GetString()} {ZooGolden.Describe(ZooGolden.Longs(e[1]))}").ToList();
        var actual = model.OrderedStateDict().Select(e => $"{e.Key} {ZooGolden.Describe(e.Value.shape)}").ToList();
        Assert.Equal(expected, actual);
        // TorchSharp's own state_dict (used by save/load) holds the same keys, also once the model joins a
        // parent module (TorchSharp then registers module fields under their field names).
        var keys = expected.Select(e => e.Split(' ')[0]).ToList();
        Assert.Equal(keys.Order(), model.state_dict().Keys.Order());

        // The classifier accessor is the reference's final linear layer.
        var classifierPath = golden.GetProperty("classifier").GetString()!;
        var weight = model.named_parameters().Single(p => p.name == classifierPath + ".weight").parameter;
        Assert.Equal(weight.Handle, model.Classifier.weight!.Handle);
        Assert.Equal([100L, model.PooledSize], model.Classifier.weight!.shape);

        // Last, as disposing the holder disposes the model.
        using var holder = new Holder(model);
        Assert.Equal(keys.Select(k => "student." + k).Order(), holder.state_dict().Keys.Order());
    }

    [Theory]
    [MemberData(nameof(AllModels))]
    public void FormulaFilledForwardMatchesReference(string name)
    {
        var fill = ZooGolden.Model(name).GetProperty("fill");
        using var model = ModelZoo.Create(name, 100);
        FormulaFill.Apply(model);
        model.eval();

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var output = model.call(FormulaFill.Input(ZooGolden.Longs(fill.GetProperty("input"))));

        AssertShapes(fill.GetProperty("feature_shapes"), output.Features, "feature");
        AssertShapes(fill.GetProperty("preact_shapes"), output.PreActFeatures, "pre-activation feature");
        Assert.Same(output.Features[^1], output.Pooled);
        Assert.Same(output.Features[^1], output.PreActFeatures[^1]);
        Assert.Equal([2L, 100L], output.Logits.shape);

        var scale = fill.GetProperty("logits_abs_max").GetDouble();
        var logits = output.Logits.to(ScalarType.Float64);
        var expectedLogits = fill.GetProperty("logits").EnumerateArray().Select(ZooGolden.Doubles).ToArray();
        for (var r = 0; r < 2; r++)
        {
            var row = logits[r].data<double>().ToArray();
            for (var c = 0; c < row.Length; c++)
                AssertClose(expectedLogits[r][c], row[c], 1e-4 * scale, $"{name} logit [{r}, {c}]");
        }

        AssertSums(fill, "feature", output.Features, name);
        AssertSums(fill, "preact", output.PreActFeatures, name);
    }

    [Theory]
    [MemberData(nameof(AllModels))]
    public void SummaryMatchesReference(string name)
    {
        var shapes = ZooGolden.Model(name).GetProperty("shapes");
        var input = ZooGolden.Longs(shapes.GetProperty("input"));
        var summary = ModelZoo.Describe(name, 100, 3, (int)input[2]);

        Assert.Equal(ZooGolden.Model(name).GetProperty("params").GetInt64(), summary.Parameters);
        Assert.Equal(ZooGolden.Model(name).GetProperty("macs").GetInt64(), summary.Macs);
        Assert.Equal((int)input[2], summary.ImageSize);
        // The reference shapes are for a batch of input[0] images; the summary is for one.
        static long[][] OneImage(long[][] s) => [.. s.Select(d => (long[])[1, .. d[1..]])];
        Assert.Equal(OneImage(ZooGolden.Shapes(shapes.GetProperty("features"))), summary.FeatureShapes);
        Assert.Equal(OneImage(ZooGolden.Shapes(shapes.GetProperty("preact_features"))), summary.PreActFeatureShapes);
        Assert.Equal([1L, 100L], summary.LogitsShape);
        Assert.Contains(name, summary.ToString());
    }

    [Theory]
    [MemberData(nameof(AllModels))]
    public void BatchNormsBeforeReluMatchReference(string name)
    {
        var golden = ZooGolden.Model(name).GetProperty("bn_before_relu");
        using var model = ModelZoo.Create(name, 100);
        if (golden.ValueKind == JsonValueKind.Null)
        {
            Assert.False(model.HasBatchNormsBeforeRelu);
            var e = Assert.Throws<DistillSharpException>(() => model.BatchNormsBeforeRelu());
            Assert.Contains(name, e.Message);
            return;
        }
        Assert.True(model.HasBatchNormsBeforeRelu);
        var paths = model.named_modules().ToList();
        var actual = model.BatchNormsBeforeRelu()
            .Select(bn => paths.Single(p => ReferenceEquals(p.module, bn)).name)
            .ToList();
        Assert.Equal(golden.EnumerateArray().Select(e => e.GetString()), actual);
    }

    [Theory]
    [MemberData(nameof(AllModels))]
    public void SingleChannelInputWorks(string name)
    {
        using var model = ModelZoo.Create(name, 10, inChannels: 1);
        Assert.Equal(1, model.InChannels);
        var firstConv = model.OrderedStateDict().First(e => e.Value.dim() == 4).Value;
        Assert.Equal(1, firstConv.shape[1]);

        model.eval();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var size = model.ImageSize == 32 ? 32 : 64;
        var output = model.call(torch.randn(1, 1, size, size));
        Assert.Equal([1L, 10L], output.Logits.shape);
        Assert.Equal(model.FeatureChannels.Select(c => (long)c), output.Features.Select(f => f.shape[1]));
        Assert.Equal(model.PreActFeatureChannels.Select(c => (long)c), output.PreActFeatures.Select(f => f.shape[1]));
    }

    private sealed class Holder : nn.Module<Tensor, ModelOutput>
    {
        private readonly ZooModel student;

        public Holder(ZooModel student) : base(nameof(Holder))
        {
            this.student = student;
            RegisterComponents();
        }

        public override ModelOutput forward(Tensor x) => student.call(x);
    }

    private static void AssertShapes(JsonElement expected, IReadOnlyList<Tensor> actual, string what)
    {
        var shapes = ZooGolden.Shapes(expected);
        Assert.Equal(shapes.Length, actual.Count);
        for (var i = 0; i < shapes.Length; i++)
            Assert.True(shapes[i].SequenceEqual(actual[i].shape),
                $"{what} {i}: expected {ZooGolden.Describe(shapes[i])}, got {ZooGolden.Describe(actual[i].shape)}");
    }

    private static void AssertSums(JsonElement fill, string prefix, IReadOnlyList<Tensor> tensors, string name)
    {
        var sums = ZooGolden.Doubles(fill.GetProperty(prefix + "_sums"));
        var absSums = ZooGolden.Doubles(fill.GetProperty(prefix + "_abs_sums"));
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i].to(ScalarType.Float64);
            AssertClose(absSums[i], t.abs().sum().item<double>(), 1e-4 * absSums[i], $"{name} {prefix} {i} |sum|");
            AssertClose(sums[i], t.sum().item<double>(), 1e-4 * absSums[i], $"{name} {prefix} {i} sum");
        }
    }

    private static void AssertClose(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance + 1e-9,
            $"{what}: expected {expected:R}, got {actual:R} (tolerance {tolerance:G3})");
}
