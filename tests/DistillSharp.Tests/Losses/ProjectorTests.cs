using DistillSharp.Losses;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Losses;

/// <summary>
/// The projector paper's representation losses and normalisations against hand computations in double on small
/// fixed tensors, their closed-form gradient, and BatchNorm's removal of a common scale.
/// </summary>
public sealed class ProjectorTests
{
    // Two small [B = 3, D = 2] features, neither normalised, with differences of both signs.
    private static readonly double[,] S = { { 0.5, -1.2 }, { 2.0, 0.3 }, { -0.7, 0.9 } };
    private static readonly double[,] T = { { 0.1, -0.2 }, { 1.1, 1.5 }, { 0.4, -0.6 } };

    private static Tensor Of(double[,] v) => tensor(v.Cast<double>().Select(x => (float)x).ToArray(), [v.GetLength(0), v.GetLength(1)]);

    private static IEnumerable<double> Differences() =>
        Enumerable.Range(0, 3).SelectMany(b => Enumerable.Range(0, 2).Select(d => S[b, d] - T[b, d]));

    [Fact]
    public void LogSumLossIsTheLogOfTheSumOfThePowersOfTheAbsoluteDifferences()
    {
        using var s = Of(S);
        using var t = Of(T);
        foreach (double p in new[] { 4.0, 3.0, 1.0 })
        {
            double expected = Math.Log(Differences().Sum(d => Math.Pow(Math.Abs(d), p)));
            using var value = Projector.LogSumLoss(s, t, p);
            Assert.Equal(0, value.dim());
            Assert.Equal(expected, value.item<float>(), 5);
        }
        // p = 4 by hand: differences 0.4, −1.0, 0.9, −1.2, −1.1, 1.5.
        double byHand = Math.Log(0.0256 + 1.0 + 0.6561 + 2.0736 + 1.4641 + 5.0625);
        using var four = Projector.LogSumLoss(s, t, 4);
        Assert.Equal(byHand, four.item<float>(), 5);
        // The plain sum is the same sum without the log; the squared error the mean of the squares.
        using var sum = Projector.SumLoss(s, t, 4);
        Assert.Equal(Math.Exp(byHand), sum.item<float>(), 4);
        using var mse = Projector.SquaredError(s, t);
        Assert.Equal(Differences().Average(d => d * d), mse.item<float>(), 6);
    }

    [Fact]
    public void LogSumLossGradientIsPTimesTheSignedPowerOverTheSum()
    {
        // ∂/∂s_bd log Σ|d|^p = p |d|^(p−1) sign(d) / Σ|d|^p, and the opposite for the teacher side.
        using var s = Of(S).requires_grad_(true);
        using var t = Of(T).requires_grad_(true);
        using var value = Projector.LogSumLoss(s, t, 4);
        value.backward();
        var d = Differences().ToArray();
        double total = d.Sum(x => Math.Pow(x, 4));
        var gs = s.grad!.data<float>().ToArray();
        var gt = t.grad!.data<float>().ToArray();
        for (int i = 0; i < d.Length; i++)
        {
            double expected = 4 * Math.Pow(Math.Abs(d[i]), 3) * Math.Sign(d[i]) / total;
            Assert.Equal(expected, gs[i], 6);
            Assert.Equal(-expected, gt[i], 6);
        }
    }

    [Fact]
    public void CorrelationLossIsTheDeiTFormOnTheBatchMeanOfTheProducts()
    {
        using var s = Of(S);
        using var t = Of(T);
        // c_d = (1/B) Σ_b s_bd t_bd; L = log(Σ_d |c_d − 1|^p + 1e-5).
        double c0 = (0.5 * 0.1 + 2.0 * 1.1 + -0.7 * 0.4) / 3;      // 0.6566...
        double c1 = (-1.2 * -0.2 + 0.3 * 1.5 + 0.9 * -0.6) / 3;    // 0.05
        foreach (double p in new[] { 4.0, 2.0 })
        {
            double expected = Math.Log(Math.Pow(Math.Abs(c0 - 1), p) + Math.Pow(Math.Abs(c1 - 1), p) + 1e-5);
            using var value = Projector.CorrelationLoss(s, t, p);
            Assert.Equal(expected, value.item<float>(), 5);
        }
        // Swapping the two sides leaves it unchanged (a product); a batch-normalised feature against itself (eps 0)
        // has every c_d = 1, so the loss is log 1e-5, its least value.
        using var swapped = Projector.CorrelationLoss(t, s, 4);
        using var value4 = Projector.CorrelationLoss(s, t, 4);
        Assert.Equal(value4.item<float>(), swapped.item<float>(), 6);
        using var n = Projector.Normalize(s, FeatureNormalization.BatchNorm, 0);
        using var self = Projector.CorrelationLoss(n, n, 4);
        Assert.Equal(Math.Log(1e-5), self.item<float>(), 3);
    }

    [Fact]
    public void EachNormalizationMatchesItsHandComputation()
    {
        using var s = Of(S);
        const double eps = 1e-4;
        using var bn = Projector.Normalize(s, FeatureNormalization.BatchNorm, eps);
        using var ln = Projector.Normalize(s, FeatureNormalization.LayerNorm, eps);
        using var l2 = Projector.Normalize(s, FeatureNormalization.L2, eps);
        using var none = Projector.Normalize(s, FeatureNormalization.None, eps);
        var b = bn.data<float>().ToArray();
        var l = ln.data<float>().ToArray();
        var e = l2.data<float>().ToArray();
        var o = none.data<float>().ToArray();
        for (int d = 0; d < 2; d++)
        {
            // BatchNorm: per dimension over the batch, biased variance.
            double mean = (S[0, d] + S[1, d] + S[2, d]) / 3;
            double variance = Enumerable.Range(0, 3).Average(r => (S[r, d] - mean) * (S[r, d] - mean));
            for (int r = 0; r < 3; r++) Assert.Equal((S[r, d] - mean) / Math.Sqrt(variance + eps), b[r * 2 + d], 5);
        }
        for (int r = 0; r < 3; r++)
        {
            // LayerNorm: per row over its two dimensions, ±|a − b| / 2 over √((a − b)²/4 + ε).
            double half = (S[r, 0] - S[r, 1]) / 2;
            Assert.Equal(half / Math.Sqrt(half * half + eps), l[r * 2], 5);
            Assert.Equal(-half / Math.Sqrt(half * half + eps), l[r * 2 + 1], 5);
            double norm = Math.Sqrt(S[r, 0] * S[r, 0] + S[r, 1] * S[r, 1]);
            Assert.Equal(S[r, 0] / norm, e[r * 2], 6);
            Assert.Equal(S[r, 1] / norm, e[r * 2 + 1], 6);
            Assert.Equal(S[r, 0], o[r * 2], 6);
        }
    }

    [Fact]
    public void LogSumLossAfterBatchNormIgnoresACommonPositiveScaleOfBothFeatures()
    {
        using var gen = new TorchSharp.torch.Generator(5);
        using var s = randn([16, 8], generator: gen);
        using var t = randn([16, 8], generator: gen) * 0.5 + 0.3;
        double Loss(double k, double eps)
        {
            using var scope = NewDisposeScope();
            var a = Projector.Normalize(s * k, FeatureNormalization.BatchNorm, eps);
            var b = Projector.Normalize(t * k, FeatureNormalization.BatchNorm, eps);
            return Projector.LogSumLoss(a, b, 4).item<float>();
        }
        double reference = Loss(1, 0);
        foreach (double k in new[] { 1e-3, 0.37, 3.0, 250.0 })
        {
            Assert.Equal(reference, Loss(k, 0), 4);        // exactly, up to float32
        }
        // With the official eps = 1e-4 it holds while k²σ² ≫ eps (here σ² ≈ 0.25 and 1): the loss moves by about
        // −2·eps/(k²σ²); at k²σ² ≪ eps the eps dominates and shrinks every difference.
        foreach (double k in new[] { 10.0, 250.0 }) Assert.True(Math.Abs(Loss(k, 1e-4) - reference) < 1e-3, $"k = {k}");
        Assert.True(Loss(1e-3, 1e-4) < reference - 1);

        // Without normalisation the scale is not removed: log Σ|k d|⁴ = 4 log k + log Σ|d|⁴.
        using var raw = Projector.LogSumLoss(s, t, 4);
        using var scaled = Projector.LogSumLoss(s * 3.0, t * 3.0, 4);
        Assert.Equal(raw.item<float>() + 4 * Math.Log(3.0), scaled.item<float>(), 4);
    }

    [Fact]
    public void RepresentationLossDispatchesEachSoftMaximum()
    {
        using var s = Of(S);
        using var t = Of(T);
        using var scope = NewDisposeScope();
        Assert.Equal(Projector.SquaredError(s, t).item<float>(), Projector.RepresentationLoss(s, t, SoftMaximum.SquaredError, 4).item<float>());
        Assert.Equal(Projector.LogSumLoss(s, t, 3).item<float>(), Projector.RepresentationLoss(s, t, SoftMaximum.LogSum, 3).item<float>());
        Assert.Equal(Projector.SumLoss(s, t, 3).item<float>(), Projector.RepresentationLoss(s, t, SoftMaximum.Sum, 3).item<float>());
        Assert.Equal(Projector.CorrelationLoss(s, t, 3).item<float>(), Projector.RepresentationLoss(s, t, SoftMaximum.Correlation, 3).item<float>());
    }

    [Fact]
    public void MismatchedShapesAndAnExponentBelowOneAreErrors()
    {
        using var s = Of(S);
        using var wide = zeros(3, 4);
        Assert.Contains("same shape", Assert.Throws<DistillSharpException>(() => Projector.LogSumLoss(s, wide, 4)).Message);
        Assert.Contains("exponent", Assert.Throws<DistillSharpException>(() => Projector.LogSumLoss(s, s, 0.5)).Message);
        Assert.Contains("eps", Assert.Throws<DistillSharpException>(() => Projector.Normalize(s, FeatureNormalization.BatchNorm, -1)).Message);
    }
}
