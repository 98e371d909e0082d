using DistillSharp.Losses;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Losses;

/// <summary>WCoRD's loss terms against closed forms computed by hand in double.</summary>
public sealed class WassersteinContrastiveTests
{
    private static readonly double[][] Scores = [[2.0, 0.0, 1.0], [0.5, 0.5, -1.0]];

    private static Tensor ScoreTensor() => tensor(Scores.SelectMany(r => r).ToArray(), new long[] { 2, 3 });

    [Fact]
    public void TheContrastiveDualIsTheCrossEntropyOfThePositive()
    {
        // (1/B) Σ_b [log Σ_k e^{g_bk} − g_b0]
        double expected = Scores.Average(r => Math.Log(r.Sum(Math.Exp)) - r[0]);
        using var g = ScoreTensor();
        using var value = WassersteinContrastive.ContrastiveDual(g);
        Assert.Equal(expected, value.item<double>(), 12);
    }

    [Fact]
    public void TheKantorovichDualIsMinusTheJointMeanPlusTheMarginalMean()
    {
        double joint = Scores.Average(r => r[0]);
        double marginals = Scores.SelectMany(r => r.Skip(1)).Average();
        using var g = ScoreTensor().requires_grad_(true);
        using var value = WassersteinContrastive.KantorovichDual(g);
        Assert.Equal(marginals - joint, value.item<double>(), 12);
        // Its gradient: −1/B on each positive, +1/(B K) on each negative.
        value.backward();
        Assert.Equal(new[] { -0.5, 0.25, 0.25, -0.5, 0.25, 0.25 }, g.grad!.data<double>().ToArray());
    }

    [Fact]
    public void ThePenaltyCountsOnlySlopesAboveOne()
    {
        // Row norms 0.5, 1, 2, 3 (3-4-5 and axis rows): penalties 0, 0, 1, 4, mean 1.25.
        using var grads = tensor(new[] { 0.3, 0.4, 0.0, 1.0, 0.0, 0.0, 1.2, 1.6, 0.0, 0.0, 0.0, 3.0 }, new long[] { 4, 3 });
        using var value = WassersteinContrastive.LipschitzPenalty(grads);
        Assert.Equal(1.25, value.item<double>(), 12);
    }

    [Fact]
    public void CriticScoresAreDotProductsOverTheTemperatureWithoutGradientIntoTheBank()
    {
        var rows = new double[2, 3, 2] { { { 1, 0 }, { 0, 1 }, { 0.6, 0.8 } }, { { -1, 0 }, { 0.8, 0.6 }, { 0, -1 } } };
        var anchor = new double[2, 2] { { 0.6, 0.8 }, { 0, 1 } };
        using var r = tensor(rows.Cast<double>().ToArray(), new long[] { 2, 3, 2 }).requires_grad_(true);
        using var a = tensor(anchor.Cast<double>().ToArray(), new long[] { 2, 2 }).requires_grad_(true);
        using var g = WassersteinContrastive.CriticScores(r, a, 0.5);
        var actual = g.data<double>().ToArray();
        for (int b = 0; b < 2; b++)
        {
            for (int k = 0; k < 3; k++)
            {
                Assert.Equal((rows[b, k, 0] * anchor[b, 0] + rows[b, k, 1] * anchor[b, 1]) / 0.5, actual[b * 3 + k], 12);
            }
        }
        g.sum().backward();
        Assert.Null(r.grad);
        Assert.NotNull(a.grad);
    }

    [Fact]
    public void TheCosineCostIsOneMinusTheCosine()
    {
        using var t = tensor(new[] { 3.0, 4.0, 0.0, 2.0 }, new long[] { 2, 2 });
        using var s = tensor(new[] { 1.0, 0.0, -1.0, -1.0, 0.0, 5.0 }, new long[] { 3, 2 });
        using var c = WassersteinContrastive.CosineCost(t, s);
        Assert.Equal(new long[] { 2, 3 }, c.shape);
        double r2 = Math.Sqrt(2);
        double[] expected = [1 - 0.6, 1 - (-3 - 4) / (5 * r2), 1 - 0.8, 1 - 0, 1 + 1 / r2, 0];
        var actual = c.data<double>().ToArray();
        for (int i = 0; i < 6; i++) Assert.Equal(expected[i], actual[i], 12);
    }

    [Fact]
    public void TheLocalTermOfAPermutedCopyIsNearZeroWhereTheDiagonalMatchIsNot()
    {
        // The student's points are the teacher's in another order: the optimal transport is that permutation (cost 0),
        // while pairing image i with image i would cost the mean of 1 − cos over mismatched pairs.
        using var gen = new TorchSharp.torch.Generator(4);
        using var teacher = randn(new long[] { 6, 5 }, dtype: ScalarType.Float64, generator: gen);
        using var order = tensor(new long[] { 3, 0, 5, 1, 4, 2 });
        using var student = teacher.index_select(0, order) * 2.5;
        using var local = WassersteinContrastive.LocalPrimal(teacher, student, 0.01, 2000);
        using var diagonal = WassersteinContrastive.CosineCost(teacher, student).diagonal().mean();
        Assert.True(local.item<double>() < 0.01 * Math.Log(6), $"local term {local.item<double>()}");
        Assert.True(diagonal.item<double>() > 0.3, $"diagonal {diagonal.item<double>()}");
        using var direct = Sinkhorn.Cost(WassersteinContrastive.CosineCost(teacher, student), 0.01, 2000);
        Assert.Equal(direct.item<double>(), local.item<double>(), 14);
    }

    [Fact]
    public void ScoresWithoutANegativeAreAnError()
    {
        using var g = zeros(3, 1);
        Assert.Throws<DistillSharpException>(() => WassersteinContrastive.ContrastiveDual(g));
        Assert.Throws<DistillSharpException>(() => WassersteinContrastive.KantorovichDual(g));
    }
}
