using DistillSharp.Losses;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Losses;

/// <summary>
/// Log-space Sinkhorn against exact optimal transport (the best assignment, by brute force over every permutation, for
/// n = m ≤ 7 with uniform marginals), against the 2 × 2 closed form of the entropic plan, its marginals, its stability
/// on large costs at a small ε, and the gradient of the cost with the plan held constant.
/// </summary>
public sealed class SinkhornTests
{
    private static double[,] RandomCost(int n, int m, int seed, double scale = 1.0)
    {
        var rng = new Random(seed);
        var c = new double[n, m];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++) c[i, j] = scale * rng.NextDouble();
        }
        return c;
    }

    private static Tensor ToTensor(double[,] c, ScalarType dtype = ScalarType.Float64) =>
        tensor(c.Cast<double>().ToArray(), new long[] { c.GetLength(0), c.GetLength(1) }).to(dtype);

    /// <summary>min over permutations σ of (1/n) Σ_i C[i, σ(i)], enumerating all n! of them (Heap's algorithm).</summary>
    private static double BestAssignment(double[,] c)
    {
        int n = c.GetLength(0);
        var p = Enumerable.Range(0, n).ToArray();
        double Value() => Enumerable.Range(0, n).Sum(i => c[i, p[i]]) / n;
        double best = Value();
        var counter = new int[n];
        int k = 1, seen = 1;
        while (k < n)
        {
            if (counter[k] < k)
            {
                int swap = k % 2 == 0 ? 0 : counter[k];
                (p[swap], p[k]) = (p[k], p[swap]);
                best = Math.Min(best, Value());
                seen++;
                counter[k]++;
                k = 1;
            }
            else
            {
                counter[k] = 0;
                k++;
            }
        }
        Assert.Equal(Enumerable.Range(1, n).Aggregate(1, (a, b) => a * b), seen);
        return best;
    }

    [Theory]
    [InlineData(2, 11)]
    [InlineData(3, 12)]
    [InlineData(4, 13)]
    [InlineData(5, 14)]
    [InlineData(6, 15)]
    [InlineData(7, 16)]
    public void TheCostApproachesTheBestAssignmentAsEpsilonShrinks(int n, int seed)
    {
        var c = RandomCost(n, n, seed);
        double exact = BestAssignment(c);
        using var cost = ToTensor(c);
        double previousGap = double.PositiveInfinity, previousSlack = 0;
        foreach (var epsilon in new[] { 0.3, 0.1, 0.03, 0.01 })
        {
            using var plan = Sinkhorn.Plan(cost, epsilon, 3000);
            // The columns are exact; the rows within δ (L1). Moving mass δ/2 turns the plan into a coupling, which
            // changes its cost by at most δ · max C (max C ≤ 1 here): the slack of every bound below.
            using var columns = plan.sum(dim: 0);
            Assert.True((columns - 1.0 / n).abs().max().item<double>() < 1e-12);
            using var rows = plan.sum(1);
            double slack = (rows - 1.0 / n).abs().sum().item<double>();
            Assert.True(slack < 1e-3, $"n={n}, ε={epsilon}: rows off by {slack} in L1");
            double value;
            using (var v = (plan * cost).sum()) value = v.item<double>();
            using (var v = Sinkhorn.Cost(cost, epsilon, 3000)) Assert.Equal(value, v.item<double>(), 14);
            double gap = value - exact;
            Assert.True(gap >= -slack - 1e-12, $"n={n}, ε={epsilon}: cost {value} below the optimal {exact}");
            // The entropic plan's excess cost is at most ε log n (entropies of couplings lie in [log n, 2 log n]).
            Assert.True(gap <= epsilon * Math.Log(n) + slack + 1e-12, $"n={n}, ε={epsilon}: gap {gap} above ε log n = {epsilon * Math.Log(n)}");
            Assert.True(gap <= previousGap + slack + previousSlack + 1e-12, $"n={n}, ε={epsilon}: gap {gap} grew from {previousGap}");
            previousGap = gap;
            previousSlack = slack;
        }
        Assert.True(previousGap < 0.01 * Math.Log(n) + previousSlack + 1e-12);
    }

    [Fact]
    public void ATwoByTwoPlanHasTheClosedForm()
    {
        // Uniform marginals 1/2: π = [[p, ½ − p], [½ − p, p]] and π11 π22 / (π12 π21) = exp(−(C11 + C22 − C12 − C21)/ε),
        // so p / (½ − p) = √r with r that ratio, p = √r / (2 (1 + √r)).
        var c = new[,] { { 0.2, 0.9 }, { 0.4, 0.3 } };
        const double epsilon = 0.25;
        double sqrtR = Math.Sqrt(Math.Exp(-(c[0, 0] + c[1, 1] - c[0, 1] - c[1, 0]) / epsilon));
        double p = sqrtR / (2 * (1 + sqrtR));
        using var cost = ToTensor(c);
        using var plan = Sinkhorn.Plan(cost, epsilon, 200);
        var actual = plan.data<double>().ToArray();
        double[] expected = [p, 0.5 - p, 0.5 - p, p];
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], actual[i], 12);
        using var value = Sinkhorn.Cost(cost, epsilon, 200);
        Assert.Equal(expected.Zip(new[] { 0.2, 0.9, 0.4, 0.3 }).Sum(t => t.First * t.Second), value.item<double>(), 12);
    }

    [Theory]
    [InlineData(5, 8, 0.1)]
    [InlineData(8, 5, 0.05)]
    [InlineData(64, 64, 0.05)]
    public void ThePlansMarginalsMatchToOneInTenThousand(int n, int m, double epsilon)
    {
        using var cost = ToTensor(RandomCost(n, m, n * 31 + m, scale: 2.0), ScalarType.Float32);
        using var plan = Sinkhorn.Plan(cost, epsilon, 1000);
        Assert.Equal(ScalarType.Float32, plan.dtype);
        Assert.Equal(new long[] { n, m }, plan.shape);
        using var rows = plan.sum(1);
        using var columns = plan.sum(dim: 0);
        Assert.True((rows - 1.0 / n).abs().max().item<float>() < 1e-4);
        Assert.True((columns - 1.0 / m).abs().max().item<float>() < 1e-4);
        Assert.True(plan.min().item<float>() >= 0);
    }

    [Fact]
    public void CostsUpToAHundredWithEpsilonOneThousandthGiveNoNaN()
    {
        var c = RandomCost(16, 12, 3, scale: 100.0);
        c[0, 0] = 0;
        c[15, 11] = 100;
        using var cost = ToTensor(c, ScalarType.Float32);
        using var plan = Sinkhorn.Plan(cost, 1e-3, 100);
        Assert.False(plan.isnan().any().item<bool>());
        Assert.False(plan.isinf().any().item<bool>());
        Assert.True(plan.min().item<float>() >= 0);
        using var columns = plan.sum(dim: 0);
        Assert.True((columns - 1.0 / 12).abs().max().item<float>() < 1e-4);
        Assert.Equal(1.0, plan.sum().item<float>(), 4);
        using var value = Sinkhorn.Cost(cost, 1e-3, 100);
        Assert.True(float.IsFinite(value.item<float>()));
        Assert.InRange(value.item<float>(), 0f, 100f);
        // Costs of 1e4 / ε in the exponent, which a plain (not log-space) kernel exp(−C/ε) would underflow to 0 and 0/0.
        using var kernel = (cost / -1e-3).exp();
        Assert.True(kernel.eq(0).any().item<bool>());
    }

    [Fact]
    public void TheCostsGradientIsThePlanHeldConstant()
    {
        using var cost = ToTensor(RandomCost(4, 6, 9, scale: 2.0)).requires_grad_(true);
        using var value = Sinkhorn.Cost(cost, 0.2, 300);
        value.backward();
        using var plan = Sinkhorn.Plan(cost, 0.2, 300);
        Assert.False(plan.requires_grad);
        using var diff = cost.grad!.sub(plan);
        Assert.True(diff.abs().max().item<double>() < 1e-15);
    }

    [Fact]
    public void BadArgumentsAreErrors()
    {
        using var cost = zeros(3, 3);
        Assert.Throws<DistillSharpException>(() => Sinkhorn.Plan(cost, 0, 10));
        Assert.Throws<DistillSharpException>(() => Sinkhorn.Plan(cost, double.NaN, 10));
        Assert.Throws<DistillSharpException>(() => Sinkhorn.Plan(cost, 0.1, 0));
        using var vector = zeros(3);
        Assert.Throws<DistillSharpException>(() => Sinkhorn.Plan(vector, 0.1, 10));
    }
}
