using DistillSharp.Distillers;
using DistillSharp.Losses;
using DistillSharp.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Losses;

/// <summary>
/// The MIMKD estimators against closed forms (softplus and sigmoid by hand, in double), their range as the f-divergence
/// theory gives it, and a critic trained on correlated Gaussians whose mutual information is known.
/// </summary>
[Collection(TrainingCollection.Name)]   // the Gaussian critics are initialised from the seeded global generator
public sealed class MutualInformationTests
{
    private static double Softplus(double u) => Math.Log(1 + Math.Exp(u));

    private static double Sigmoid(double u) => 1 / (1 + Math.Exp(-u));

    private static readonly float[] Positive = [2.0f, -1.0f, 0.5f];
    private static readonly float[] Negative = [0.3f, -2.0f];

    [Fact]
    public void JensenShannonEqualsTheClosedFormOnFixedScores()
    {
        // Î = mean_i −softplus(−T⁺_i) − mean_j softplus(T⁻_j), with three positives and two negatives.
        double expected = Positive.Average(t => -Softplus(-t)) - Negative.Average(t => Softplus(t));
        using var pos = tensor(Positive);
        using var neg = tensor(Negative);
        using var value = MutualInformation.JensenShannon(pos, neg);
        Assert.Equal(0, value.dim());
        Assert.Equal(expected, value.item<float>(), 6);
        // The two arguments are not interchangeable: swapped, the value is another (the test above would catch a swap).
        using var swapped = MutualInformation.JensenShannon(neg, pos);
        Assert.True(Math.Abs(swapped.item<float>() - expected) > 0.1);
    }

    [Fact]
    public void JensenShannonGradientIsTheSigmoidOfTheScores()
    {
        // ∂Î/∂T⁺_i = σ(−T⁺_i)/n⁺ and ∂Î/∂T⁻_j = −σ(T⁻_j)/n⁻.
        using var pos = tensor(Positive).requires_grad_(true);
        using var neg = tensor(Negative).requires_grad_(true);
        using var value = MutualInformation.JensenShannon(pos, neg);
        value.backward();
        var gp = pos.grad!.data<float>().ToArray();
        var gn = neg.grad!.data<float>().ToArray();
        for (int i = 0; i < Positive.Length; i++) Assert.Equal(Sigmoid(-Positive[i]) / Positive.Length, gp[i], 6);
        for (int j = 0; j < Negative.Length; j++) Assert.Equal(-Sigmoid(Negative[j]) / Negative.Length, gn[j], 6);
        Assert.All(gp, g => Assert.True(g > 0));   // raising a positive's score raises the bound
        Assert.All(gn, g => Assert.True(g < 0));   // raising a negative's lowers it
    }

    [Fact]
    public void JensenShannonStaysInItsTheoreticalRange()
    {
        // Every value is below 0; the constant critic T ≡ 0 gives exactly −log 4.
        using (var z = zeros(5))
        using (var v = MutualInformation.JensenShannon(z, z))
        {
            Assert.Equal(-Math.Log(4), v.item<float>(), 6);
            Assert.Equal(-Math.Log(4), MutualInformation.IndependenceValue, 12);
        }
        using var gen = new Generator(11);
        foreach (double m in new[] { 0.1, 1.0, 10.0, 40.0 })
        {
            using var p = (rand(new long[] { 1000 }, generator: gen) * 2 - 1) * m;
            using var q = (rand(new long[] { 1000 }, generator: gen) * 2 - 1) * m;
            using var v = MutualInformation.JensenShannon(p, q);
            double value = v.item<float>();
            Assert.True(value < 0, $"M = {m}: {value} is not below 0");
            // Scores within [−M, M]: at least −2·softplus(M).
            Assert.True(value >= -2 * Softplus(m) - 1e-4, $"M = {m}: {value} below −2·softplus(M)");
        }
        // Approaching the upper end: positives far above, negatives far below.
        using (var hi = full(new long[] { 4 }, 30f))
        using (var lo = full(new long[] { 4 }, -30f))
        using (var v = MutualInformation.JensenShannon(hi, lo))
        {
            Assert.InRange(v.item<float>(), -1e-6, 0);
        }
    }

    [Fact]
    public void TheOptimalCriticReachesTwiceTheJensenShannonDivergenceMinusLog4AndNoOtherCriticExceedsIt()
    {
        // P = (1/2, 1/4, 1/4), Q = (1/4, 1/4, 1/2) on atoms a, b, c, as samples that hold the exact proportions.
        // The optimum T* = log(p/q) gives Î = 2·JSD(P ‖ Q) − log 4 (Nowozin et al.'s f-GAN bound with Deep InfoMax's
        // softplus form); any other critic gives less.
        double[] p = [0.5, 0.25, 0.25], q = [0.25, 0.25, 0.5];
        int[] fromP = [0, 0, 1, 2], fromQ = [0, 1, 2, 2];
        double jsd = 0;
        for (int k = 0; k < 3; k++)
        {
            double mk = (p[k] + q[k]) / 2;
            jsd += 0.5 * p[k] * Math.Log(p[k] / mk) + 0.5 * q[k] * Math.Log(q[k] / mk);
        }
        double Bound(double[] critic)
        {
            using var pos = tensor(fromP.Select(k => (float)critic[k]).ToArray());
            using var neg = tensor(fromQ.Select(k => (float)critic[k]).ToArray());
            using var v = MutualInformation.JensenShannon(pos, neg);
            return v.item<float>();
        }
        var optimal = Enumerable.Range(0, 3).Select(k => Math.Log(p[k] / q[k])).ToArray();
        double best = Bound(optimal);
        Assert.Equal(2 * jsd - Math.Log(4), best, 6);
        Assert.InRange(best, -Math.Log(4), 0);
        using var gen = new Generator(3);
        using var noise = randn(new long[] { 50, 3 }, generator: gen);
        var perturbations = noise.to(float64).data<double>().ToArray();
        for (int r = 0; r < 50; r++)
        {
            var critic = optimal.Select((t, k) => t + 0.5 * perturbations[3 * r + k]).ToArray();
            Assert.True(Bound(critic) < best, $"critic {string.Join(", ", critic)} exceeds the optimum");
        }
        // Independence (P = Q): no critic exceeds −log 4, pointwise −softplus(−t) − softplus(t) ≤ −log 4.
        for (int r = 0; r < 50; r++)
        {
            var t = Enumerable.Range(0, 3).Select(k => 3 * perturbations[3 * r + k]).ToArray();
            using var s = tensor(fromP.Select(k => (float)t[k]).ToArray());
            using var v = MutualInformation.JensenShannon(s, s);
            Assert.True(v.item<float>() <= -Math.Log(4) + 1e-6);
        }
    }

    [Fact]
    public void DonskerVaradhanEqualsTheClosedFormAndIsTheKlDivergenceAtTheOptimalCritic()
    {
        // Î_DV = mean T⁺ − log mean exp T⁻.
        double expected = Positive.Average(t => (double)t) - Math.Log(Negative.Average(t => Math.Exp(t)));
        using (var pos = tensor(Positive))
        using (var neg = tensor(Negative))
        using (var v = MutualInformation.DonskerVaradhan(pos, neg))
        {
            Assert.Equal(expected, v.item<float>(), 6);
        }
        // With T* = log(p/q) on the exact samples above it is KL(P ‖ Q).
        double[] p = [0.5, 0.25, 0.25], q = [0.25, 0.25, 0.5];
        double kl = Enumerable.Range(0, 3).Sum(k => p[k] * Math.Log(p[k] / q[k]));
        var t = Enumerable.Range(0, 3).Select(k => (float)Math.Log(p[k] / q[k])).ToArray();
        using var tp = tensor(new[] { t[0], t[0], t[1], t[2] });
        using var tq = tensor(new[] { t[0], t[1], t[2], t[2] });
        using var dv = MutualInformation.DonskerVaradhan(tp, tq);
        Assert.Equal(kl, dv.item<float>(), 6);
    }

    [Fact]
    public void RolledPairScoresPairEachStudentCodeWithItsOwnTeacherCodeAndThePreviousImages()
    {
        // u: [3, 2], v: global [3, 2] and local [3, 2 positions, 2].
        float[] u = [1, 2, -1, 0.5f, 3, -2];
        float[] v = [0.5f, -1, 2, 1, -3, 0.25f];
        using var ut = tensor(u, [3, 2]);
        using var vt = tensor(v, [3, 2]);
        var (pos, neg) = MutualInformation.RolledPairScores(ut, vt);
        double Dot(int i, int j) => u[2 * i] * v[2 * j] + u[2 * i + 1] * v[2 * j + 1];
        Assert.Equal([3L], pos.shape);
        Golden.AssertClose([(float)Dot(0, 0), (float)Dot(1, 1), (float)Dot(2, 2)], pos.data<float>().ToArray(), 1e-6);
        Golden.AssertClose([(float)Dot(0, 2), (float)Dot(1, 0), (float)Dot(2, 1)], neg.data<float>().ToArray(), 1e-6);

        float[] w = Enumerable.Range(0, 12).Select(i => (float)Math.Sin(0.7 * i + 0.2)).ToArray();
        using var wt = tensor(w, [3, 2, 2]);
        var (lp, ln) = MutualInformation.RolledPairScores(ut, wt);
        Assert.Equal([3L, 2L], lp.shape);
        double Local(int i, int j, int position) => u[2 * i] * w[4 * j + 2 * position] + u[2 * i + 1] * w[4 * j + 2 * position + 1];
        var expectedPos = new List<float>();
        var expectedNeg = new List<float>();
        for (int i = 0; i < 3; i++)
        {
            for (int h = 0; h < 2; h++)
            {
                expectedPos.Add((float)Local(i, i, h));
                expectedNeg.Add((float)Local(i, (i + 2) % 3, h));
            }
        }
        Golden.AssertClose([.. expectedPos], lp.data<float>().ToArray(), 1e-6);
        Golden.AssertClose([.. expectedNeg], ln.data<float>().ToArray(), 1e-6);
        foreach (var t in new[] { pos, neg, lp, ln }) t.Dispose();
    }

    [Fact]
    public void WithATemperatureTheScoresAreCosinesDividedByIt()
    {
        // T(u, v) = ⟨u, v⟩ / (‖u‖ ‖v‖ τ), τ = 0.5, global and per position.
        float[] u = [3, 4, 1, 0];
        float[] v = [0, 2, -5, 0];
        float[] w = [1, 1, 0, -2, 3, 0, 0.5f, 0.5f];
        using var ut = tensor(u, [2, 2]);
        using var vt = tensor(v, [2, 2]);
        using var wt = tensor(w, [2, 2, 2]);
        static double Cos(float[] a, int i, float[] b, int j) =>
            (a[i] * b[j] + a[i + 1] * b[j + 1]) / (Math.Sqrt(a[i] * a[i] + a[i + 1] * a[i + 1]) * Math.Sqrt(b[j] * b[j] + b[j + 1] * b[j + 1]));
        var (pos, neg) = MutualInformation.RolledPairScores(ut, vt, 0.5);
        Golden.AssertClose([(float)(Cos(u, 0, v, 0) / 0.5), (float)(Cos(u, 2, v, 2) / 0.5)], pos.data<float>().ToArray(), 1e-6);
        Golden.AssertClose([(float)(Cos(u, 0, v, 2) / 0.5), (float)(Cos(u, 2, v, 0) / 0.5)], neg.data<float>().ToArray(), 1e-6);
        var (lp, ln) = MutualInformation.RolledPairScores(ut, wt, 0.5);
        Golden.AssertClose([(float)(Cos(u, 0, w, 0) / 0.5), (float)(Cos(u, 0, w, 2) / 0.5), (float)(Cos(u, 2, w, 4) / 0.5), (float)(Cos(u, 2, w, 6) / 0.5)],
            lp.data<float>().ToArray(), 1e-6);
        Golden.AssertClose([(float)(Cos(u, 0, w, 4) / 0.5), (float)(Cos(u, 0, w, 6) / 0.5), (float)(Cos(u, 2, w, 0) / 0.5), (float)(Cos(u, 2, w, 2) / 0.5)],
            ln.data<float>().ToArray(), 1e-6);
        // Bounded by 1/τ whatever the codes' scale; the codes' scale does not matter.
        using var big = ut * 1e4f;
        var (bp, bn) = MutualInformation.RolledPairScores(big, vt, 0.5);
        Golden.AssertClose(pos.data<float>().ToArray(), bp.data<float>().ToArray(), 1e-5);
        Assert.True(bn.abs().max().item<float>() <= 2 + 1e-5);
        foreach (var t in new[] { pos, neg, lp, ln, bp, bn }) t.Dispose();
        Assert.Contains("temperature", Assert.Throws<DistillSharpException>(() => MutualInformation.RolledPairScores(ut, vt, -1)).Message);
    }

    [Fact]
    public void RolledPairScoresNeedTwoImagesAndMatchingCodes()
    {
        using var one = zeros(1, 4);
        Assert.Contains("at least 2 images", Assert.Throws<DistillSharpException>(() => MutualInformation.RolledPairScores(one, one)).Message);
        using var a = zeros(3, 4);
        using var b = zeros(3, 5);
        Assert.Contains("[3, 4]", Assert.Throws<DistillSharpException>(() => MutualInformation.RolledPairScores(a, b)).Message);
        using var empty = zeros(0);
        Assert.Throws<DistillSharpException>(() => MutualInformation.JensenShannon(empty, a));
    }

    // ---- Correlated Gaussians: x, y ∈ R^d, y = ρ x + √(1 − ρ²) ε, I(X; Y) = −d/2 · log(1 − ρ²). ----

    private const int Dim = 2;

    private static (Tensor X, Tensor Y) Pairs(double rho, int count, Generator gen)
    {
        var x = randn(new long[] { count, Dim }, generator: gen);
        var e = randn(new long[] { count, Dim }, generator: gen);
        return (x, x * rho + e * Math.Sqrt(1 - rho * rho));
    }

    /// <summary>
    /// Trains the separable critic of MIMKD (two <see cref="CriticHead"/>s and their dot product) on the Jensen-Shannon
    /// bound, then evaluates it on fresh pairs: the bound, its standard error from the per-pair terms, and the
    /// Donsker-Varadhan reading of the same critic.
    /// </summary>
    private static (double Jsd, double StandardError, double Dv) TrainCritic(double rho)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(17);
        using var fx = new CriticHead(Dim, 32, 16);
        using var fy = new CriticHead(Dim, 32, 16);
        var parameters = fx.parameters().Concat(fy.parameters()).ToArray();
        using var adam = optim.Adam(parameters, 0.01);
        using var gen = new Generator(23);
        for (int step = 0; step < 200; step++)
        {
            using var inner = NewDisposeScope();
            var (x, y) = Pairs(rho, 128, gen);
            var (pos, neg) = MutualInformation.RolledPairScores(fx.forward(x), fy.forward(y));
            var loss = -MutualInformation.JensenShannon(pos, neg);
            adam.zero_grad();
            loss.backward();
            adam.step();
        }
        using var guard = no_grad();
        using var evalGen = new Generator(99);
        var (ex, ey) = Pairs(rho, 8192, evalGen);
        var (p, n) = MutualInformation.RolledPairScores(fx.forward(ex), fy.forward(ey));
        var perPair = (-nn.functional.softplus(-p) - nn.functional.softplus(n)).to(float64);
        double jsd = MutualInformation.JensenShannon(p, n).item<float>();
        double se = perPair.std().item<double>() / Math.Sqrt(perPair.shape[0]);
        double dv = MutualInformation.DonskerVaradhan(p, n).item<float>();
        return (jsd, se, dv);
    }

    [Fact]
    public void ACriticTrainedOnCorrelatedGaussiansRanksTheirInformationAndFindsNoneWhenIndependent()
    {
        double[] rhos = [0, 0.5, 0.9, 0.99];
        var results = rhos.Select(TrainCritic).ToArray();
        var analytic = rhos.Select(r => -Dim / 2.0 * Math.Log(1 - r * r)).ToArray();
        string report = string.Join("; ", rhos.Select((r, i) =>
            $"ρ={r}: JSD {results[i].Jsd:F4} ± {results[i].StandardError:F4}, DV {results[i].Dv:F3}, analytic {analytic[i]:F3}"));

        // Independent pairs: in expectation no critic exceeds −log 4, so the estimate may lie above it by noise only (three
        // standard errors of its own per-pair terms); below, it loses E[T²]/4 to scores that are not exactly 0: at most
        // 0.01 (scores within about ±0.2) means the critic found nothing to separate.
        var (j0, se0, dv0) = results[0];
        Assert.True(j0 <= MutualInformation.IndependenceValue + 3 * se0, report);
        Assert.True(j0 >= MutualInformation.IndependenceValue - 0.01, report);
        Assert.True(Math.Abs(dv0) < 0.05, report);
        // Dependent pairs are separated from independent ones by far more than the estimator's noise, and the bound grows
        // with ρ (as the analytic information does), each step by many standard errors.
        for (int i = 1; i < rhos.Length; i++)
        {
            double gap = results[i].Jsd - results[i - 1].Jsd;
            double noise = Math.Sqrt(Math.Pow(results[i].StandardError, 2) + Math.Pow(results[i - 1].StandardError, 2));
            Assert.True(gap > 5 * noise, $"ρ {rhos[i - 1]} → {rhos[i]}: gap {gap:F4}, noise {noise:F4}. {report}");
            Assert.True(results[i].Jsd < 0, report);
        }
        // Read through Donsker-Varadhan, the same critic orders ρ = 0, 0.5, 0.9 as the analytic information does, stays
        // below it (a lower bound, up to the small upward bias of a finite log-mean-exp) and at ρ = 0.9 reaches at least
        // half of it. Not at ρ = 0.99: there DV's log-mean-exp over negatives is ruled by rare pairs the critic
        // over-scores (its variance grows exponentially with the information); the Jensen-Shannon bound is the one trained.
        Assert.True(results[1].Dv > dv0 && results[2].Dv > results[1].Dv, report);
        Assert.True(results[1].Dv <= analytic[1] + 0.05, report);
        Assert.InRange(results[2].Dv, 0.5 * analytic[2], analytic[2] + 0.1);
    }
}
