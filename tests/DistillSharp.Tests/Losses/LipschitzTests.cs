using DistillSharp.Losses;
using DistillSharp.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Losses;

/// <summary>
/// LONDON's pieces against independent references: the transmitting matrix against loops over its definition, the
/// power iteration against LAPACK's singular values (<c>linalg.svdvals</c>) and its gradient against central finite
/// differences, and the bound it stands for (the product of layer spectral norms) against input-gradient norms
/// measured on a small network.
/// </summary>
[Collection(TrainingCollection.Name)]   // draws from the global generator
public sealed class LipschitzTests
{
    private static Tensor Random(long[] shape, ulong seed)
    {
        using var g = new Generator(seed);
        return randn(shape, dtype: float64, generator: g);
    }

    [Fact]
    public void TheTransmittingMatrixIsTheMeanOverPositionsOfProductsOfChannelsAfterPoolingTheLargerMap()
    {
        using var scope = NewDisposeScope();
        var a = Random([2, 3, 4, 4], 1);
        var b = Random([2, 5, 2, 2], 2);
        var tm = Lipschitz.TransmittingMatrix(a, b);
        Assert.Equal(new long[] { 2, 3, 5 }, tm.shape);
        var av = a.data<double>().ToArray();
        var bv = b.data<double>().ToArray();
        var got = tm.data<double>().ToArray();
        for (int n = 0; n < 2; n++)
        for (int c = 0; c < 3; c++)
        for (int d = 0; d < 5; d++)
        {
            double sum = 0;
            for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++)
            {
                // a pooled over its 2x2 block at (y, x)
                double pooled = 0;
                for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) pooled += av[((n * 3 + c) * 4 + 2 * y + dy) * 4 + 2 * x + dx];
                sum += pooled / 4 * bv[((n * 5 + d) * 2 + y) * 2 + x];
            }
            Assert.Equal(sum / 4, got[(n * 3 + c) * 5 + d], 12);
        }

        // Equal sizes: no pooling, A Bᵀ / HW. A first map smaller than the second is an error.
        var same = Lipschitz.TransmittingMatrix(b, b);
        var flat = b.reshape(2, 5, 4);
        Assert.True(allclose(same, bmm(flat, flat.transpose(1, 2)) / 4, 1e-12, 1e-12));
        Assert.Throws<DistillSharpException>(() => Lipschitz.TransmittingMatrix(b, a));
    }

    [Theory]
    [InlineData(6, 4, 1ul)]
    [InlineData(8, 8, 2ul)]
    [InlineData(16, 5, 3ul)]
    public void PowerIterationGivesTheLargestSingularValueOfEachMatrix(int rows, int columns, ulong seed)
    {
        using var scope = NewDisposeScope();
        var m = Random([3, rows, columns], seed);
        var exact = linalg.svdvals(m).select(1, 0);   // LAPACK, descending
        var estimate = Lipschitz.SpectralNorm(m, 200);
        Assert.Equal(new long[] { 3 }, estimate.shape);
        var relative = ((estimate - exact).abs() / exact).max().item<double>();
        Assert.True(relative < 1e-3, $"relative error {relative:E2}");

        // From a random positive start (the CIFAR code's) as from ones, in float32 too.
        var start = rand(new long[] { 3, rows }, dtype: float64, generator: new Generator(seed + 10));
        var fromRandom = Lipschitz.SpectralNorm(m.to(float32), 200, start);
        Assert.True(((fromRandom.to(float64) - exact).abs() / exact).max().item<double>() < 1e-3);

        // The values it converges to are not those of another singular value: the second is clearly smaller.
        var second = linalg.svdvals(m).select(1, 1);
        Assert.True(((exact - second) / exact).min().item<double>() > 1e-2);
    }

    [Fact]
    public void FewIterationsUnderestimateAndTheErrorShrinksWithEveryIteration()
    {
        using var scope = NewDisposeScope();
        var m = Random([4, 10, 7], 5);
        var exact = linalg.svdvals(m).select(1, 0);
        double previous = double.PositiveInfinity;
        foreach (int n in new[] { 2, 4, 8, 16, 32, 64, 128 })
        {
            var sigma = Lipschitz.SpectralNorm(m, n);
            // From the second iteration on v is a unit vector, so ‖K v‖ ≤ λ_max: estimates from below, never above.
            Assert.True((sigma - exact).max().item<double>() <= 1e-12 * exact.max().item<double>());
            double error = ((exact - sigma) / exact).max().item<double>();
            Assert.True(error <= previous + 1e-15, $"{n} iterations: {error:E2} after {previous:E2}");
            previous = error;
        }
        Assert.True(previous < 1e-3);
    }

    [Fact]
    public void ItsGradientFlowsThroughTheIterationsAndMatchesFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        const int iterations = 3;   // far from convergence, where the iterations' own derivatives matter
        var m = Random([2, 4, 3], 7).requires_grad_(true);
        var weights = tensor(new[] { 0.7, -1.3 }, dtype: float64);
        (Lipschitz.SpectralNorm(m, iterations) * weights).sum().backward();
        var analytic = m.grad!.data<double>().ToArray();

        var values = m.detach().clone();
        var flat = values.reshape(-1);
        const double h = 1e-6;
        double F()
        {
            using var inner = NewDisposeScope();
            return (Lipschitz.SpectralNorm(values, iterations) * weights).sum().item<double>();
        }
        for (int i = 0; i < flat.shape[0]; i++)
        {
            double x = flat[i].item<double>();
            flat[i] = x + h;
            double up = F();
            flat[i] = x - h;
            double down = F();
            flat[i] = x;
            double numeric = (up - down) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[i]) < 1e-6 + 1e-6 * Math.Abs(numeric), $"element {i}: {analytic[i]} vs {numeric}");
        }

        // A gradient that treats the last vector as a constant (σ = √‖K v‖ with v detached) is a different one at 3
        // iterations: the check above tells the two apart.
        var m2 = m.detach().clone().requires_grad_(true);
        var k = bmm(m2, m2.transpose(1, 2));
        var v = ones(new long[] { 2, 4, 1 }, dtype: float64);
        for (int i = 0; i < iterations - 1; i++)
        {
            using var g = no_grad();
            var kv = bmm(k, v);
            v = kv / kv.norm(1, keepdim: true);
        }
        (bmm(k, v).norm(1).reshape(2).sqrt() * weights).sum().backward();
        var detached = m2.grad!.data<double>().ToArray();
        Assert.True(analytic.Zip(detached, (p, q) => Math.Abs(p - q)).Max() > 1e-3);
    }

    [Fact]
    public void ForALinearLayerItIsTheLargestSingularValueAndTheProductOfLayerNormsBoundsEveryInputGradient()
    {
        using var scope = NewDisposeScope();
        // f(x) = W3 relu(W2 relu(W1 x)), 6 -> 8 -> 7 -> 5.
        var weights = new[] { Random([8, 6], 11), Random([7, 8], 12), Random([5, 7], 13) };
        double product = 1;
        foreach (var w in weights)
        {
            double sigma = Lipschitz.SpectralNorm(w.unsqueeze(0), 500).item<double>();
            Assert.Equal(linalg.svdvals(w)[0].item<double>(), sigma, 9);
            product *= sigma;
        }

        // Input gradients of u·f(x) for many inputs and unit directions u: ‖∇ₓ(u·f)‖ = ‖Jᵀu‖ ≤ ‖J‖ ≤ Π σ_l.
        var x = Random([400, 6], 14).requires_grad_(true);
        var u = Random([400, 5], 15);
        u = u / u.norm(1, keepdim: true);
        var h = nn.functional.relu(x.matmul(weights[0].t()));
        h = nn.functional.relu(h.matmul(weights[1].t()));
        var f = h.matmul(weights[2].t());
        (f * u).sum().backward();
        var norms = x.grad!.norm(1);
        double largest = norms.max().item<double>();
        Assert.True(largest <= product * (1 + 1e-9), $"measured {largest} above the bound {product}");
        Assert.True(largest > 0);

        // Without the ReLUs the network is the matrix W3 W2 W1: its exact constant is that product's largest singular
        // value, itself below the product of the layers' norms, and reached by the measured norms' supremum.
        var composed = weights[2].matmul(weights[1]).matmul(weights[0]);
        double exact = linalg.svdvals(composed)[0].item<double>();
        Assert.True(exact <= product);
        Assert.Equal(exact, Lipschitz.SpectralNorm(composed.unsqueeze(0), 500).item<double>(), 9);
    }

    [Fact]
    public void TheStageLossIsTheMeanSquaredDifferenceOfTheTwoNetworksValues()
    {
        using var scope = NewDisposeScope();
        var sa = Random([3, 4, 8, 8], 21).requires_grad_(true);
        var sb = Random([3, 6, 4, 4], 22);
        var ta = Random([3, 4, 8, 8], 23).requires_grad_(true);
        var tb = Random([3, 5, 4, 4], 24);
        var loss = Lipschitz.StageLoss(sa, sb, ta, tb, 300);
        double Sigma(Tensor a, Tensor b, int i) => linalg.svdvals(Lipschitz.TransmittingMatrix(a, b)[i]).max().item<double>();
        double expected = Enumerable.Range(0, 3).Average(i => Math.Pow(Sigma(sa.detach(), sb, i) - Sigma(ta.detach(), tb, i), 2));
        Assert.Equal(expected, loss.item<double>(), 6);
        loss.backward();
        Assert.True(sa.grad!.abs().sum().item<double>() > 0);
        Assert.Null(ta.grad);   // the teacher's maps are constants
    }

    [Fact]
    public void StageValuesAreTheSpectralNormsOfConsecutiveStagesTransmittingMatrices()
    {
        using var scope = NewDisposeScope();
        var stages = new[] { Random([2, 3, 8, 8], 31), Random([2, 4, 4, 4], 32), Random([2, 6, 2, 2], 33) };
        var values = Lipschitz.StageValues(stages, 200);
        Assert.Equal(new long[] { 2, 2 }, values.shape);
        for (int i = 0; i < 2; i++)
        for (int b = 0; b < 2; b++)
        {
            double exact = linalg.svdvals(Lipschitz.TransmittingMatrix(stages[i], stages[i + 1])[b])[0].item<double>();
            Assert.Equal(exact, values[b, i].item<double>(), 6);
        }
        Assert.Throws<DistillSharpException>(() => Lipschitz.StageValues(stages[..1], 3));
    }
}
