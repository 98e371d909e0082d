using DistillSharp.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Losses;

/// <summary>
/// OFD's pieces against independent references: the margin against a numeric integral of the truncated Gaussian, the
/// partial L2 distance and the teacher transform against their element-wise definitions evaluated by hand.
/// </summary>
public sealed class FeatureOverhaulTests
{
    /// <summary>E[x | x &lt; 0] for x ~ N(μ, σ²) by Simpson's rule over [μ − 12σ, 0] (the tail beyond is below 1e-30).</summary>
    private static double TruncatedMean(double mu, double sigma)
    {
        double lo = Math.Min(mu - 12 * sigma, -1e-9), hi = 0;
        const int n = 200_000;
        double step = (hi - lo) / n, mass = 0, moment = 0;
        for (int i = 0; i <= n; i++)
        {
            double x = lo + i * step;
            double w = i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2;
            double density = Math.Exp(-0.5 * Math.Pow((x - mu) / sigma, 2));
            mass += w * density;
            moment += w * x * density;
        }
        return moment / mass;
    }

    [Fact]
    public void TheMarginIsTheMeanOfTheNegativePartOfTheBatchNormsGaussian()
    {
        // (γ, β) across the formula's branch: β/|γ| from −2 to 2.5 (P(x < 0) = Φ(−β/|γ|) from 0.98 down to 0.006),
        // and a negative γ (the sign is irrelevant: σ = |γ|).
        double[] gamma = [1.0, 0.5, 2.0, -1.5, 0.3, 1.2];
        double[] beta = [0.0, -1.0, 1.0, 0.7, 0.75, 3.0];
        using var m = FeatureOverhaul.Margin(tensor(gamma, dtype: float64), tensor(beta, dtype: float64));
        var values = m.data<double>().ToArray();
        for (int c = 0; c < gamma.Length; c++)
        {
            double expected = TruncatedMean(beta[c], Math.Abs(gamma[c]));
            Assert.True(Math.Abs(values[c] - expected) < 1e-7 * Math.Max(1, Math.Abs(expected)), $"channel {c}: {values[c]} vs integral {expected}");
            Assert.True(values[c] < 0);
        }
        // β = 0: the half-normal's mean, −σ √(2/π).
        Assert.Equal(-Math.Sqrt(2 / Math.PI), values[0], 9);
    }

    [Fact]
    public void BelowOneInAThousandNegativeResponsesTheMarginIsMinusThreeSigma()
    {
        // Φ(−β/σ) for β/σ = 3.2 is 6.9e-4 (below 0.001), for 3.0 it is 1.35e-3 (above).
        using var m = FeatureOverhaul.Margin(tensor(new[] { 1.0f, 0.5f, 2.0f }), tensor(new[] { 3.2f, 1.5f, 0.0f }));
        var values = m.data<float>().ToArray();
        Assert.Equal(-3.0f, values[0], 5);
        Assert.Equal(TruncatedMean(1.5, 0.5), values[1], 4);
        Assert.Equal(ScalarType.Float32, m.dtype);
    }

    [Fact]
    public void ThePartialL2DistanceForgivesAStudentBelowANonPositiveTargetAndTheTransformRaisesTheTeacherToTheMargin()
    {
        // One channel, margin −0.5: teacher values and student values, element by element.
        double[] t = [-2.0, -0.2, 0.4, -1.0, 1.5, -0.7];
        double[] s = [-3.0, -1.0, 0.1, 0.2, 2.0, -0.5];
        const double m = -0.5;
        using var teacher = tensor(t, dtype: float64).reshape(1, 1, 2, 3);
        using var student = tensor(s, dtype: float64).reshape(1, 1, 2, 3).requires_grad_(true);
        using var margin = tensor(new[] { m }, dtype: float64);

        using var transformed = FeatureOverhaul.TeacherTransform(teacher, margin);
        Assert.Equal(t.Select(v => Math.Max(v, m)), transformed.data<double>().ToArray());

        double expected = 0;
        var grad = new double[t.Length];
        for (int i = 0; i < t.Length; i++)
        {
            double target = Math.Max(t[i], m);
            if (s[i] <= target && target <= 0) continue;   // forgiven
            expected += Math.Pow(s[i] - target, 2);
            grad[i] = 2 * (s[i] - target);
        }
        // Forgiven: element 0 (−3 below the target −0.5), 1 (−1 below −0.2) and 5 (−0.5 at the target max(−0.7, −0.5));
        // counted: 2 and 4 (positive targets) and 3 (0.2 above the target −0.5).
        using var loss = FeatureOverhaul.DistillationLoss(student, teacher, margin);
        Assert.Equal(expected, loss.item<double>(), 12);
        loss.backward();
        Assert.Equal(grad, student.grad!.data<double>().ToArray());
        Assert.Equal(0.0, grad[0]);
        Assert.Equal(0.0, grad[1]);
        Assert.NotEqual(0.0, grad[3]);
        Assert.Equal(0.0, grad[5]);

        // The margin is per channel (dimension 1), and shapes must agree.
        using var two = FeatureOverhaul.TeacherTransform(full(new long[] { 1, 2, 1, 1 }, -5.0, dtype: float64), tensor(new[] { -1.0, -2.0 }, dtype: float64));
        Assert.Equal(new[] { -1.0, -2.0 }, two.data<double>().ToArray());
        Assert.Throws<DistillSharpException>(() => FeatureOverhaul.PartialL2(zeros(1, 2, 2, 2), zeros(1, 2, 2, 1)));
    }

    [Fact]
    public void StagesAreWeightedByPowersOfTwoEndingAtOne()
    {
        Assert.Equal([0.25, 0.5, 1.0], Enumerable.Range(0, 3).Select(i => FeatureOverhaul.StageWeight(i, 3)));
        Assert.Equal([0.125, 0.25, 0.5, 1.0], Enumerable.Range(0, 4).Select(i => FeatureOverhaul.StageWeight(i, 4)));
    }
}
