using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Losses;

/// <summary>
/// Entropic optimal transport between two uniform discrete distributions by Sinkhorn's iterations (Cuturi, NeurIPS
/// 2013), computed in log space: the primal form of the Wasserstein distance that WCoRD's local term uses
/// (<see cref="WassersteinContrastive.LocalPrimal"/>). Pure functions: tensors in, tensors out.
/// </summary>
/// <remarks>
/// <para>For an (n, m) cost C and marginals a = 1/n (rows), b = 1/m (columns), the entropic problem is
/// <c>π_ε = argmin_{π ∈ U(a, b)} ⟨π, C⟩ − ε H(π)</c>, <c>H(π) = −Σ π_ij (log π_ij − 1)</c>, whose solution is
/// <c>π_ij = u_i · exp(−C_ij / ε) · v_j</c>. Sinkhorn alternates <c>u ← a / (K v)</c> and <c>v ← b / (Kᵀ u)</c>
/// with <c>K = exp(−C/ε)</c>; in log space, with <c>f = log u</c> and <c>g = log v</c>,
/// <c>f_i = log a_i − logsumexp_j(−C_ij/ε + g_j)</c> and <c>g_j = log b_j − logsumexp_i(−C_ij/ε + f_i)</c>, which
/// never forms K and so stays finite for any ε &gt; 0 (K underflows to 0 in float32 once C/ε exceeds about 100).
/// The iteration starts from g = 0 and ends with a g update, so the column sums are exact and the row sums converge
/// (how fast depends on ε and on the cost: linearly, more slowly the smaller ε and the closer the cost is to having
/// two optimal assignments). The iterations run in float64 whatever the cost's dtype, and the plan is returned in the
/// cost's dtype.</para>
/// <para>As ε → 0 the plan tends to an optimal plan of the unregularised problem. The exact entropic plan's cost exceeds
/// the optimal cost by at most <c>ε · log(min(n, m))</c> (compare both with the objective: every coupling of the two
/// uniform marginals has a Shannon entropy between <c>log max(n, m)</c> and <c>log(n m)</c>). With n = m the optimum is a
/// permutation (Birkhoff), the best assignment. The smaller ε, the more iterations are needed to converge.</para>
/// </remarks>
public static class Sinkhorn
{
    /// <summary>
    /// The entropic plan <c>π_ε</c> for <paramref name="cost"/> between uniform marginals (rows summing to 1/n, columns
    /// to 1/m), after <paramref name="iterations"/> log-space Sinkhorn iterations (see the class remarks). It is a
    /// constant: no gradient flows through it.
    /// </summary>
    /// <param name="cost">C, shape [n, m], any finite values (WCoRD: 1 − cosine, in [0, 2]).</param>
    /// <param name="epsilon">ε &gt; 0, the entropic regularisation (WCoRD's default 0.05).</param>
    /// <param name="iterations">Number of (f, g) updates, at least 1 (WCoRD's default 100).</param>
    /// <returns>π, shape [n, m], of the cost's dtype and device.</returns>
    public static Tensor Plan(Tensor cost, double epsilon, int iterations)
    {
        Check(cost, epsilon, iterations);
        long n = cost.shape[0], m = cost.shape[1];
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // float64 inside: with C/ε near 1e5 (costs of 100 at ε = 1e-3) f + log K + g cancels to a few units, and in
        // float32 that sum would keep only about two digits.
        using var negativeEpsilon = (-epsilon).ToScalar();
        var logKernel = cost.detach().to(float64).div(negativeEpsilon);
        var g = zeros(m, dtype: float64, device: cost.device);
        var f = zeros(n, dtype: float64, device: cost.device);
        // The loop's scalars are held for its whole length: TorchSharp otherwise makes a temporary Scalar per operator
        // (the 1 of add's alpha, the marginals' logs), and under the test suite's allocation pressure such a temporary
        // was seen reclaimed while libtorch still read it (a "toDouble" error on add).
        using var one = 1.ToScalar();
        using var logA = (-Math.Log(n)).ToScalar();
        using var logB = (-Math.Log(m)).ToScalar();
        for (int i = 0; i < iterations; i++)
        {
            using var step = NewDisposeScope();
            f = logKernel.add(g.unsqueeze(0), one).logsumexp(1).neg_().add_(logA).MoveToOuterDisposeScope();
            g = logKernel.add(f.unsqueeze(1), one).logsumexp(0).neg_().add_(logB).MoveToOuterDisposeScope();
        }
        return logKernel.add(f.unsqueeze(1), one).add_(g.unsqueeze(0), one).exp_().to(cost.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The transport cost of the entropic plan, <c>Σ_ij π_ij C_ij</c> with <c>π = </c><see cref="Plan"/> held constant:
    /// the gradient with respect to C is π itself (the envelope reading of the primal form).
    /// </summary>
    /// <param name="cost">C, shape [n, m].</param>
    /// <param name="epsilon">ε &gt; 0.</param>
    /// <param name="iterations">Sinkhorn iterations, at least 1.</param>
    /// <returns>A scalar of the cost's dtype.</returns>
    public static Tensor Cost(Tensor cost, double epsilon, int iterations)
    {
        using var scope = NewDisposeScope();
        var plan = Plan(cost, epsilon, iterations);
        return (plan * cost).sum().MoveToOuterDisposeScope();
    }

    private static void Check(Tensor cost, double epsilon, int iterations)
    {
        if (cost.dim() != 2 || cost.shape[0] < 1 || cost.shape[1] < 1)
        {
            throw new DistillSharpException($"Sinkhorn needs a cost matrix of shape [n, m] with n, m >= 1; got [{string.Join(", ", cost.shape)}].");
        }
        if (!(epsilon > 0) || !double.IsFinite(epsilon))
        {
            throw new DistillSharpException($"Sinkhorn epsilon must be positive and finite; got {epsilon}.");
        }
        if (iterations < 1)
        {
            throw new DistillSharpException($"Sinkhorn needs at least one iteration; got {iterations}.");
        }
    }
}
