using DistillSharp.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Losses;

/// <summary>
/// ONE's pure parts against sums written out in double: the gated ensemble, the ensemble-to-branch KL (with a finite
/// difference showing that the ensemble, the target, is not detached) and the sigmoid ramp-up.
/// </summary>
public sealed class OnTheFlyNativeEnsembleTests
{
    [Fact]
    public void TheGatedEnsembleIsTheGateWeightedSumOfTheBranchLogits()
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator(3);
        const int m = 3, b = 5, k = 4;
        var z = Enumerable.Range(0, m).Select(_ => randn(new long[] { b, k }, generator: gen)).ToArray();
        var g = rand(new long[] { b, m }, generator: gen);
        var actual = OnTheFlyNativeEnsemble.GatedEnsemble(z, g).data<float>().ToArray();
        var zs = z.Select(t => t.data<float>().ToArray()).ToArray();
        var gs = g.data<float>().ToArray();
        for (int row = 0; row < b; row++)
        {
            for (int c = 0; c < k; c++)
            {
                double expected = 0;
                for (int i = 0; i < m; i++) expected += gs[row * m + i] * zs[i][row * k + c];
                Assert.Equal(expected, actual[row * k + c], 1e-5);
            }
        }
        Assert.Throws<DistillSharpException>(() => OnTheFlyNativeEnsemble.GatedEnsemble(z, rand(b, m + 1)));
    }

    private static double Kl(double[] target, double[] student, double t)
    {
        double[] Soft(double[] v)
        {
            var e = v.Select(x => Math.Exp(x / t)).ToArray();
            return e.Select(x => x / e.Sum()).ToArray();
        }
        var p = Soft(target);
        var q = Soft(student);
        return p.Select((pi, c) => pi * Math.Log(pi / q[c])).Sum();
    }

    [Fact]
    public void TheDistillationTermIsTSquaredTimesTheBatchMeanKlFromTheEnsembleSummedOverBranches()
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator(5);
        const int m = 3, b = 4, k = 6;
        const double t = 3.0;
        var z = Enumerable.Range(0, m).Select(_ => (randn(new long[] { b, k }, generator: gen) * 2).to(float64)).ToArray();
        var e = (randn(new long[] { b, k }, generator: gen) * 2).to(float64).requires_grad_(true);
        var loss = OnTheFlyNativeEnsemble.EnsembleDistillation(z, e, t);
        double Expected(double[] ens)
        {
            double total = 0;
            foreach (var zi in z)
            {
                var zz = zi.data<double>().ToArray();
                for (int row = 0; row < b; row++) total += Kl(ens[(row * k)..((row + 1) * k)], zz[(row * k)..((row + 1) * k)], t);
            }
            return t * t * total / b;
        }
        var ensemble = e.detach().data<double>().ToArray();
        Assert.Equal(Expected(ensemble), loss.item<double>(), 10);

        // The target is not detached: the gradient with respect to the ensemble is the finite difference.
        loss.backward();
        Assert.NotNull(e.grad);
        var grad = e.grad!.data<double>().ToArray();
        const double h = 1e-6;
        foreach (int index in new[] { 0, 7, 23 })
        {
            var plus = (double[])ensemble.Clone();
            var minus = (double[])ensemble.Clone();
            plus[index] += h;
            minus[index] -= h;
            double numeric = (Expected(plus) - Expected(minus)) / (2 * h);
            Assert.True(Math.Abs(numeric - grad[index]) < 1e-6, $"entry {index}: {grad[index]} vs {numeric}");
            Assert.True(Math.Abs(numeric) > 1e-3);
        }
        // A branch equal to the ensemble contributes nothing.
        Assert.Equal(0.0, OnTheFlyNativeEnsemble.EnsembleDistillation([e.detach()], e.detach(), t).item<double>(), 12);
    }

    [Fact]
    public void TheRampUpRisesFromEToTheMinusFiveToOneOverItsLength()
    {
        Assert.Equal(Math.Exp(-5), OnTheFlyNativeEnsemble.RampUp(0, 80), 12);
        Assert.Equal(Math.Exp(-5 * 0.25), OnTheFlyNativeEnsemble.RampUp(40, 80), 12);
        Assert.Equal(Math.Exp(-5 * 0.75 * 0.75), OnTheFlyNativeEnsemble.RampUp(1, 4), 12);
        Assert.Equal(1.0, OnTheFlyNativeEnsemble.RampUp(80, 80), 12);
        Assert.Equal(1.0, OnTheFlyNativeEnsemble.RampUp(250, 80), 12);
        Assert.Equal(1.0, OnTheFlyNativeEnsemble.RampUp(0, 0), 12);
        Assert.Throws<DistillSharpException>(() => OnTheFlyNativeEnsemble.RampUp(-1, 80));
        Assert.Throws<DistillSharpException>(() => OnTheFlyNativeEnsemble.RampUp(1, -80));
    }
}
