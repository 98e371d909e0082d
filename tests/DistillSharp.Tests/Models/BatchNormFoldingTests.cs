using DistillSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Models;

/// <summary>
/// Folding batch norms into the convolutions before them (<see cref="ZooModel.FoldBatchNorms"/>) for one network of
/// every zoo family: the folded network gives the unfolded one's logits, features, pre-activation features and pooled
/// vector to float32 rounding, its weights are the formula's (computed here independently, in float64, from the
/// unfolded state), it runs exactly the batch norms its architecture keeps, and two wrong folds (the mean left out,
/// γ/σ² for γ/σ) fail the same tolerance.
/// </summary>
/// <remarks>
/// <para>Weights: <see cref="FormulaFill"/>, whose running means (0.1·s), variances (1 + 0.5|s|) and affine parameters
/// (γ = 1 + 0.25·s, β = 0.1·s) differ per channel, so every term of the fold matters; eval mode.</para>
/// <para>Tolerance: the folded and the unfolded forward differ only in rounding. Folding rounds each folded weight and
/// bias once (a relative change of at most u = 2⁻²⁴ ≈ 6e-8 each) and drops the batch norm's two roundings per value;
/// each layer's relative perturbation, at most a few u times the condition of its sums, is carried through the layers
/// above it. With at most about 60 weighted layers here and sums whose condition stays below about 25, the outputs
/// agree to 60 · 25 · 4u ≈ 4e-4 in the worst case; measured, the relative differences are 1e-7 to 1e-6, so the bound
/// is 1e-4 (relative Frobenius norm of each output tensor). The wrong folds move the outputs by 1e-2 or more.</para>
/// </remarks>
public sealed class BatchNormFoldingTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;
    private const double Eps = 1e-5;

    /// <summary>A fold formula: the right one or a wrong one, on float64 tensors.</summary>
    private enum Variant { Right, MeanLeftOut, VarianceNotRooted }

    /// <summary>
    /// The networks, with how many batch norms fold and how many stay, from their architectures:
    /// resnet8 (n = 1): stem + 3 blocks × 2 + the projections of layer2 and layer3 = 9; resnet8x4: layer1 also widens
    /// (32 → 64), 10; wrn_16_2 (n = 2): each of the 6 blocks folds bn2 and keeps bn1, plus the final bn1 (6 and 7);
    /// vgg8: one convolution per block, 5; MobileNetV2: conv1, 3 in each of 17 inverted residuals, conv2 = 53;
    /// ShuffleV1: stem + 3 × 16 units = 49; ShuffleV2: stem + 5 × 3 down-sampling units + 3 × 13 basic units + head = 56;
    /// ResNet18: stem + 2 × 8 blocks + 3 projections = 20; resnet50_imagenet: stem + 3 × 16 bottlenecks + 4 projections = 53;
    /// pyramidnet110_a84 (54 basic blocks): stem + 2 per block = 109, keeping each block's bn1 and bn_final (55);
    /// pyramidnet200_a240 (66 bottlenecks): stem + 3 per block = 199, keeping 67.
    /// </summary>
    public static TheoryData<string, int, int> Families() => new()
    {
        { "resnet8", 9, 0 },
        { "resnet8x4", 10, 0 },
        { "wrn_16_2", 6, 7 },
        { "vgg8", 5, 0 },
        { "MobileNetV2", 53, 0 },
        { "ShuffleV1", 49, 0 },
        { "ShuffleV2", 56, 0 },
        { "ResNet18", 20, 0 },
        { "resnet50_imagenet", 53, 0 },
        { "pyramidnet110_a84", 109, 55 },
        { "pyramidnet200_a240", 199, 67 },
    };

    /// <summary>How a family names the convolution before each batch norm.</summary>
    private enum Layout
    {
        /// <summary><c>bnK</c> follows <c>convK</c>, or a Sequential's previous layer.</summary>
        Plain,

        /// <summary>A wide ResNet's pre-activation block: only <c>bn2</c> folds, into <c>conv1</c>.</summary>
        PreActivation,

        /// <summary>A PyramidNet: the stem's <c>bn1</c> follows <c>conv1</c>; in a block <c>bnK</c> follows <c>conv(K − 1)</c>.</summary>
        Pyramid,
    }

    private static Layout LayoutOf(string name) =>
        name.StartsWith("wrn", StringComparison.Ordinal) ? Layout.PreActivation
        : name.StartsWith("pyramidnet", StringComparison.Ordinal) ? Layout.Pyramid
        : Layout.Plain;

    private static ZooModel Build(string name)
    {
        var model = ModelZoo.Create(name, 10);
        FormulaFill.Apply(model);
        model.eval();
        return model;
    }

    private static Tensor Images()
    {
        using var gen = new Generator(17);
        return randn(new long[] { 4, 3, 32, 32 }, generator: gen);
    }

    /// <summary>Every output tensor, named: logits, pooled, each feature and pre-activation feature.</summary>
    private static List<(string Name, Tensor Value)> Outputs(ModelOutput o)
    {
        var list = new List<(string, Tensor)> { ("logits", o.Logits), ("pooled", o.Pooled) };
        for (int i = 0; i < o.Features.Count; i++) list.Add(($"feature {i}", o.Features[i]));
        for (int i = 0; i < o.PreActFeatures.Count; i++) list.Add(($"pre-activation {i}", o.PreActFeatures[i]));
        return list;
    }

    private static double RelativeError(Tensor a, Tensor reference)
    {
        using var scope = NewDisposeScope();
        var r = reference.to(ScalarType.Float64);
        return (a.to(ScalarType.Float64) - r).norm().item<double>() / r.norm().item<double>();
    }

    /// <summary>The largest relative error over every output of <paramref name="model"/> against <paramref name="reference"/>, and its name.</summary>
    private static (double Error, string Name) WorstError(ZooModel model, ModelOutput reference, Tensor x)
    {
        using var scope = NewDisposeScope();
        using var guard = no_grad();
        var got = Outputs(model.call(x));
        var want = Outputs(reference);
        return got.Zip(want).Select(p => (RelativeError(p.First.Value, p.Second.Value), p.First.Name)).MaxBy(e => e.Item1);
    }

    /// <summary>The convolution a folded batch norm followed, by the reference's names.</summary>
    private static string ConvolutionOf(string norm, Layout layout)
    {
        int dot = norm.LastIndexOf('.');
        string parent = dot < 0 ? "" : norm[..(dot + 1)], last = norm[(dot + 1)..];
        if (int.TryParse(last, out int index)) return parent + (index - 1);   // a Sequential: the layer before
        if (layout == Layout.PreActivation) return parent + "conv1";          // a wide ResNet block: conv1 → bn2
        if (layout == Layout.Pyramid && parent != "")                          // a PyramidNet block: conv(K-1) → bnK
        {
            return parent + "conv" + (int.Parse(last["bn".Length..], System.Globalization.CultureInfo.InvariantCulture) - 1);
        }
        return parent + "conv" + last["bn".Length..];                         // bnK follows convK
    }

    /// <summary>
    /// The folded weights and bias of every pair, computed from the unfolded state in float64:
    /// s = γ/√(σ² + ε), W' = s·W, b' = β + s·(b − μ); or a wrong variant.
    /// </summary>
    private static Dictionary<string, (Tensor Weight, Tensor Bias)> ReferenceFold(
        IReadOnlyDictionary<string, Tensor> unfolded, IEnumerable<string> norms, Layout layout, Variant variant)
    {
        var result = new Dictionary<string, (Tensor, Tensor)>();
        foreach (var norm in norms)
        {
            string conv = ConvolutionOf(norm, layout);
            Tensor D(string key) => unfolded[key].to(ScalarType.Float64);
            var (gamma, beta, mean, variance) = (D(norm + ".weight"), D(norm + ".bias"), D(norm + ".running_mean"), D(norm + ".running_var"));
            var scale = variant == Variant.VarianceNotRooted ? gamma / (variance + Eps) : gamma / (variance + Eps).sqrt();
            var bias = unfolded.ContainsKey(conv + ".bias") ? D(conv + ".bias") : zeros_like(beta);
            var shift = variant == Variant.MeanLeftOut ? bias : bias - mean;
            result[conv] = (D(conv + ".weight") * scale.view(-1, 1, 1, 1), beta + scale * shift);
        }
        return result;
    }

    private static int CountExecutedBatchNorms(ZooModel model, Tensor x)
    {
        int calls = 0;
        var hooks = model.modules().OfType<BatchNorm2d>()
            .Select(bn => bn.register_forward_hook((m, input, result) => { calls++; return result; })).ToList();
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            model.call(x);
        }
        foreach (var h in hooks) h.remove();
        return calls;
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void TheFoldedNetworkComputesTheSameOutputsWithoutItsFoldedBatchNorms(string name, int folded, int kept)
    {
        using var scope = NewDisposeScope();
        var layout = LayoutOf(name);
        using var unfolded = Build(name);
        using var network = Build(name);
        var x = Images();
        var before = unfolded.OrderedStateDict().ToDictionary(e => e.Key, e => e.Value);
        Assert.All(unfolded.modules().OfType<BatchNorm2d>(), bn => Assert.Equal(Eps, bn.eps));
        Assert.Equal(folded + kept, CountExecutedBatchNorms(unfolded, x));

        Assert.False(network.IsBatchNormFolded);
        Assert.Equal(folded, network.FoldBatchNorms());
        Assert.True(network.IsBatchNormFolded);
        Assert.Equal(0, network.FoldBatchNorms());

        // What runs: only the batch norms the architecture keeps are left in the module tree, and only they execute.
        Assert.Equal(kept, network.modules().OfType<BatchNorm2d>().Count());
        Assert.Equal(kept, CountExecutedBatchNorms(network, x));

        // The state: the folded batch norms' entries are gone, each convolution they followed has a bias, nothing else changed.
        var after = network.OrderedStateDict().ToDictionary(e => e.Key, e => e.Value);
        var removed = before.Keys.Except(after.Keys).ToList();
        var norms = removed.Where(k => k.EndsWith(".running_mean", StringComparison.Ordinal)).Select(k => k[..^".running_mean".Length]).ToList();
        Assert.Equal(folded, norms.Count);
        Assert.Equal(5 * folded, removed.Count);   // weight, bias, running_mean, running_var, num_batches_tracked
        var expected = ReferenceFold(before, norms, layout, Variant.Right);
        var added = after.Keys.Except(before.Keys).Order().ToList();
        Assert.Equal(expected.Keys.Where(c => !before.ContainsKey(c + ".bias")).Select(c => c + ".bias").Order(), added);
        foreach (var (conv, (weight, bias)) in expected)
        {
            Assert.True(RelativeError(after[conv + ".weight"], weight) < 1e-7, $"{name}: {conv}.weight is not s·W");
            Assert.True(RelativeError(after[conv + ".bias"], bias) < 1e-7, $"{name}: {conv}.bias is not β + s·(b − μ)");
            Assert.Equal(ScalarType.Float32, after[conv + ".bias"].dtype);
        }
        foreach (var key in after.Keys.Intersect(before.Keys).Where(k => !expected.ContainsKey(k[..k.LastIndexOf('.')])))
        {
            Assert.True(after[key].equal(before[key]).all().item<bool>(), $"{name}: {key} changed but belongs to no folded pair");
        }

        // The function: every output agrees to float32 rounding, and the output's shared entries stay shared.
        ModelOutput reference, got;
        using (no_grad())
        {
            reference = unfolded.call(x);
            got = network.call(x);
        }
        var pairs = Outputs(got).Zip(Outputs(reference)).ToList();
        foreach (var (g, r) in pairs)
        {
            Assert.Equal(r.Value.shape, g.Value.shape);
            double error = RelativeError(g.Value, r.Value);
            output.WriteLine($"{name} {g.Name}: {error:E2}");
            Assert.True(error < Tolerance, $"{name} {g.Name}: folded differs from unfolded by {error:E2} (relative), above {Tolerance:E0}");
        }
        Assert.Same(got.Pooled, got.Features[^1]);
        for (int i = 0; i < got.Features.Count; i++)
        {
            Assert.Equal(ReferenceEquals(reference.Features[i], reference.PreActFeatures[i]), ReferenceEquals(got.Features[i], got.PreActFeatures[i]));
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void AWrongFoldFailsTheTolerance(string name, int folded, int kept)
    {
        using var scope = NewDisposeScope();
        var layout = LayoutOf(name);
        using var unfolded = Build(name);
        var before = unfolded.OrderedStateDict().ToDictionary(e => e.Key, e => e.Value);
        var x = Images();
        ModelOutput reference;
        using (no_grad()) reference = unfolded.call(x);

        foreach (var variant in new[] { Variant.Right, Variant.MeanLeftOut, Variant.VarianceNotRooted })
        {
            // The library's folded network, its folded weights replaced by the variant's.
            using var network = Build(name);
            Assert.Equal(folded, network.FoldBatchNorms());
            var norms = before.Keys.Except(network.OrderedStateDict().Select(e => e.Key))
                .Where(k => k.EndsWith(".running_mean", StringComparison.Ordinal)).Select(k => k[..^".running_mean".Length]);
            var state = network.OrderedStateDict().ToDictionary(e => e.Key, e => e.Value);
            using (no_grad())
            {
                foreach (var (conv, (weight, bias)) in ReferenceFold(before, norms, layout, variant))
                {
                    state[conv + ".weight"].copy_(weight.to(ScalarType.Float32));
                    state[conv + ".bias"].copy_(bias.to(ScalarType.Float32));
                }
            }
            var (error, worst) = WorstError(network, reference, x);
            output.WriteLine($"{name} {variant}: worst {worst} {error:E2} (kept {kept})");
            if (variant == Variant.Right) Assert.True(error < Tolerance, $"{name}: the reference fold differs by {error:E2} ({worst})");
            else Assert.True(error > 100 * Tolerance, $"{name}: the wrong fold {variant} differs by only {error:E2} ({worst}), within 100x the tolerance");
        }
    }

    [Fact]
    public void ATrainModeNetworkIsRefusedAndAFoldedOneCannotTrain()
    {
        using var model = ModelZoo.Create("resnet8", 10);
        model.train();
        var e = Assert.Throws<DistillSharpException>(() => model.FoldBatchNorms());
        Assert.Contains("'resnet8' is in train mode", e.Message);
        Assert.Contains("eval()", e.Message);
        Assert.False(model.IsBatchNormFolded);
        Assert.Equal(9, model.modules().OfType<BatchNorm2d>().Count());

        model.eval();
        Assert.Equal(9, model.FoldBatchNorms());
        var t = Assert.Throws<DistillSharpException>(() => model.train());
        Assert.Contains("cannot train", t.Message);
        Assert.False(model.training);
        model.eval();   // eval mode stays possible
        var bn = Assert.Throws<DistillSharpException>(() => model.BatchNormsBeforeRelu());
        Assert.Contains("folded", bn.Message);
    }

    [Fact]
    public void AFoldedStateDoesNotLoadIntoAnUnfoldedNetwork()
    {
        using var folded = ModelZoo.Create("resnet8", 10);
        folded.eval();
        folded.FoldBatchNorms();
        using var plain = ModelZoo.Create("resnet8", 10);
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) folded.save(writer);
        stream.Position = 0;
        using var reader = new BinaryReader(stream);
        Assert.ThrowsAny<Exception>(() => plain.load(reader));
    }
}
