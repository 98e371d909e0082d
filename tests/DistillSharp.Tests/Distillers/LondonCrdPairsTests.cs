using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using DistillSharp.Reporting;
using DistillSharp.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Distillers;

/// <summary>
/// <c>london</c> on each pair of CRD's CIFAR-100 table (the pairs notebook 03's <c>crd_pair</c> runs): with
/// <c>match_sizes</c> = 1 every pair builds and one step on two images gives finite, positive terms whose gradients reach
/// the student and every connector and never the teacher; with the official 0 the six cross-family pairs, whose stages
/// differ in size, are refused by name. The pooled OFD term is checked against a hand computation, and on a pair of
/// equal sizes <c>match_sizes</c> changes nothing.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class LondonCrdPairsTests
{
    public static TheoryData<int> Rows() => [.. Enumerable.Range(0, PaperTable.Load("crd").Rows.Count)];

    private const int Classes = 100;

    private static DistillerContext Context(string teacherName, string studentName, Tensor labels)
    {
        random.manual_seed(5);
        var teacher = ModelZoo.Create(teacherName, Classes);
        var student = ModelZoo.Create(studentName, Classes);
        return new DistillerContext(student, teacher, 2, labels, Classes, 3, 32, 5);
    }

    private static Tensor Images()
    {
        using var generator = new Generator(9);
        return randn(new long[] { 2, 3, 32, 32 }, generator: generator);
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void WithMatchSizesLondonBuildsAndStepsOnTheCrdPairAndWithoutItOnlySameSizePairsBuild(int row)
    {
        var pair = PaperTable.Load("crd").Rows[row];
        using var labels = tensor(new long[] { 3, 97 });
        string[] crossFamily = ["vgg13→MobileNetV2", "ResNet50→MobileNetV2", "ResNet50→vgg8", "resnet32x4→ShuffleV1", "resnet32x4→ShuffleV2", "wrn_40_2→ShuffleV1"];
        bool sameSizes = !crossFamily.Contains($"{pair.Teacher}→{pair.Student}");
        if (sameSizes)
        {
            using var official = DistillerRegistry.Create("london", Context(pair.Teacher!, pair.Student, labels), new Dictionary<string, double>());
        }
        else
        {
            var refused = Assert.Throws<DistillSharpException>(() => DistillerRegistry.Create("london", Context(pair.Teacher!, pair.Student, labels), new Dictionary<string, double>()));
            Assert.Contains("-P match_sizes=1 pools the larger map to the smaller's size", refused.Message);
        }

        using var d = DistillerRegistry.Create("london", Context(pair.Teacher!, pair.Student, labels), new Dictionary<string, double> { ["match_sizes"] = 1 });
        var overhaul = Assert.IsAssignableFrom<FeatureOverhaulDistiller>(d);
        Assert.True(overhaul.Stages >= 3, $"{pair.Name}: {overhaul.Stages} stages");

        d.train();
        using var images = Images();
        using var indices = arange(2L, dtype: ScalarType.Int64);
        using var scope = NewDisposeScope();
        var step = d.TrainingStep(new Batch(images, labels, indices));
        Assert.Equal(new[] { "ce", "lipschitz", "ofd" }, step.Losses.Keys.Order());
        foreach (var (term, value) in step.Losses) Assert.True(float.IsFinite(value.item<float>()) && value.item<float>() > 0, $"{pair.Name} {term}: {value.item<float>()}");

        d.zero_grad();
        step.Total().backward();
        var parameters = d.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        for (int i = 0; i < overhaul.Stages; i++)
        {
            Assert.True(parameters[$"Connectors.{i}.0.weight"].grad!.abs().sum().item<float>() > 0, $"{pair.Name}: connector {i} untrained");
        }
        var firstConv = parameters.First(p => p.Key.StartsWith("student.", StringComparison.Ordinal) && p.Value.dim() == 4);
        Assert.True(firstConv.Value.grad!.abs().sum().item<float>() > 0, $"{pair.Name}: {firstConv.Key} untrained");
        Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
    }

    /// <summary>
    /// ResNet50 → MobileNetV2 (teacher eval mode, for a deterministic teacher): the OFD term with match_sizes = 1 against
    /// Σ_i d_p(max(P t_i, m_i), r_i(s_i)) / 2^(N−1−i) / (1000 B), the pooling P written as the mean of each k×k block
    /// (k the size ratio) and d_p as the masked squared error, from the networks' own features.
    /// </summary>
    [Fact]
    public void ThePooledOfdTermIsTheMarginAndPartialL2OfTheBlockAveragedLargerMap()
    {
        using var labels = tensor(new long[] { 3, 97 });
        var context = Context("ResNet50", "MobileNetV2", labels);
        using var d = DistillerRegistry.Create("ofd", context, new Dictionary<string, double> { ["match_sizes"] = 1, ["teacher_train_mode"] = 0 });
        var overhaul = (FeatureOverhaulDistiller)d;
        d.train();
        using var images = Images();
        using var indices = arange(2L, dtype: ScalarType.Int64);
        using var scope = NewDisposeScope();
        var connectors = d.named_modules().Where(m => m.name.StartsWith("Connectors.", StringComparison.Ordinal) && !m.name[11..].Contains('.'))
            .Select(m => m.module).ToList();
        Assert.Equal(overhaul.Stages, connectors.Count);

        double expected = 0;
        int pooledStages = 0;
        using (no_grad())
        {
            var s = context.Student.forward(images).PreActFeatures;
            var t = context.Teacher!.forward(images).PreActFeatures;
            for (int i = 0; i < overhaul.Stages; i++)
            {
                var r = ((nn.Module<Tensor, Tensor>)connectors[i]).forward(s[i + 1]).to(float64);
                var ti = t[i + 1].to(float64);
                long k = ti.shape[2] / r.shape[2];
                if (k > 1)
                {
                    pooledStages++;
                    ti = ti.reshape(ti.shape[0], ti.shape[1], r.shape[2], k, r.shape[3], k).mean([3L, 5L]);
                }
                var target = maximum(ti, overhaul.Margin(i).to(float64).reshape(1, -1, 1, 1));
                var kept = (r > target).logical_or(target > 0).to(float64);
                expected += ((r - target).square() * kept).sum().item<double>() / Math.Pow(2, overhaul.Stages - 1 - i);
            }
        }
        expected /= 1000.0 * 2;
        Assert.True(pooledStages >= 1, "ResNet50 → MobileNetV2 should have a stage of unequal sizes");

        var step = d.TrainingStep(new Batch(images, labels, indices));
        double actual = step.Losses["ofd"].item<float>();
        Assert.True(Math.Abs(actual - expected) <= 1e-4 * Math.Abs(expected), $"ofd {actual} against {expected}");
    }

    /// <summary>On resnet32x4 → resnet8x4, whose stages have equal sizes, match_sizes = 1 gives the official term exactly.</summary>
    [Fact]
    public void OnAPairOfEqualSizesMatchSizesChangesNothing()
    {
        using var labels = tensor(new long[] { 3, 97 });
        using var images = Images();
        using var indices = arange(2L, dtype: ScalarType.Int64);
        float Term(double matchSizes)
        {
            using var d = DistillerRegistry.Create("london", Context("resnet32x4", "resnet8x4", labels),
                new Dictionary<string, double> { ["match_sizes"] = matchSizes, ["teacher_train_mode"] = 0, ["random_start"] = 0 });
            d.train();
            using var scope = NewDisposeScope();
            var step = d.TrainingStep(new Batch(images, labels, indices));
            return step.Losses["ofd"].item<float>() + 1000 * step.Losses["lipschitz"].item<float>();
        }
        Assert.Equal(Term(0), Term(1));
    }
}
