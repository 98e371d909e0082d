using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Losses;

/// <summary>
/// MIMKD (Shrivastava, Qi, Ordonez, arXiv 2110.15946): lower bounds on the mutual information between teacher and
/// student representations, estimated from a critic's scores on positive pairs (both features of the same image)
/// and negative pairs (features of different images). The pure parts: tensors in, tensors out, no state. The critics
/// that produce the scores live in <see cref="DistillSharp.Distillers.MutualInformationDistiller"/>.
/// </summary>
/// <remarks>
/// <para>The estimator is the Jensen-Shannon bound of Deep InfoMax (Hjelm et al., ICLR 2019, after Nowozin et al.'s
/// f-GAN), which MIMKD adopts; its exact form in MIMKD is inferred, the paper's text was not available.</para>
/// <para>Range of the Jensen-Shannon form. Both of its expectations are negative, so every value is below 0. Over all
/// critics its supremum is <c>2·JSD(P ‖ Q) − log 4</c>, reached at <c>T* = log(p/q)</c>, where P is the joint
/// distribution, Q the product of the marginals and JSD the Jensen-Shannon divergence (between 0 and log 2): the
/// estimate of the best critic lies in <c>[−log 4, 0)</c>, and <c>−log 4</c> (<see cref="IndependenceValue"/>) is the
/// most any critic can reach on independent pairs; it is also the value of the constant critic <c>T ≡ 0</c>. Below,
/// the form is unbounded (a critic that scores positives at −∞), but a critic whose scores stay within <c>[−M, M]</c>
/// gives at least <c>−2·softplus(M)</c>.</para>
/// </remarks>
public static class MutualInformation
{
    /// <summary>
    /// <c>−log 4 ≈ −1.386</c>: the supremum of <see cref="JensenShannon"/> over all critics when the pairs are
    /// independent (P = Q), and its value for the constant critic T ≡ 0. <c>Î_JSD + log 4</c> is an estimate of
    /// twice the Jensen-Shannon divergence between the joint and the product of the marginals.
    /// </summary>
    public static readonly double IndependenceValue = -Math.Log(4.0);

    private const double NormFloor = 1e-12;

    /// <summary>
    /// The Jensen-Shannon mutual-information bound of Deep InfoMax (Hjelm et al. 2019), MIMKD's estimator:
    /// <c>Î_JSD = E_P[ −softplus(−T(x, y)) ] − E_Q[ softplus(T(x, y′)) ]</c>, each expectation the mean of its scores,
    /// with <c>softplus(u) = log(1 + eᵘ)</c>. Higher means more information; the value is always below 0 (see the
    /// class remarks for its range). Its derivatives are <c>σ(−T⁺ᵢ) / n⁺</c> for a positive score and
    /// <c>−σ(T⁻ⱼ) / n⁻</c> for a negative one.
    /// </summary>
    /// <param name="positiveScores">Critic scores T of pairs drawn from the joint P (any shape, at least one).</param>
    /// <param name="negativeScores">Critic scores of pairs drawn from the product of the marginals Q (any shape, at least one).</param>
    /// <returns>A scalar, to be maximised (the loss is its negative).</returns>
    public static Tensor JensenShannon(Tensor positiveScores, Tensor negativeScores)
    {
        CheckScores(positiveScores, negativeScores);
        using var scope = NewDisposeScope();
        var joint = -nn.functional.softplus(-positiveScores).mean();
        var marginals = nn.functional.softplus(negativeScores).mean();
        return (joint - marginals).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The Donsker-Varadhan bound <c>Î_DV = E_P[ T ] − log E_Q[ e^T ]</c>, each expectation the mean of its scores.
    /// At the Jensen-Shannon optimum <c>T* = log(p/q)</c> it equals the mutual information in nats, so evaluated with
    /// a critic trained on <see cref="JensenShannon"/> it reads that critic's estimate on the scale of the analytic
    /// value. Not a training objective here: its gradient is biased on mini-batches.
    /// </summary>
    /// <param name="positiveScores">Critic scores of pairs from the joint P.</param>
    /// <param name="negativeScores">Critic scores of pairs from the product of the marginals Q.</param>
    public static Tensor DonskerVaradhan(Tensor positiveScores, Tensor negativeScores)
    {
        CheckScores(positiveScores, negativeScores);
        using var scope = NewDisposeScope();
        var flat = negativeScores.reshape(-1);
        var logMeanExp = flat.logsumexp(0) - Math.Log(flat.shape[0]);
        return (positiveScores.mean() - logMeanExp).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The scores of a separable critic on MIMKD's pairs, with one negative per positive taken from the batch by a roll
    /// of one: positive <c>T⁺[b, p] = T(u_b, v_b,p)</c>, negative <c>T⁻[b, p] = T(u_b, v_(b−1 mod B),p)</c> (the same
    /// student code against the teacher code of the previous image, <c>torch.roll(v, 1, 0)</c>). The critic is the dot
    /// product <c>T(u, v) = ⟨u, v⟩</c> (Deep InfoMax's) when <paramref name="temperature"/> is 0, else the cosine
    /// critic <c>T(u, v) = ⟨u, v⟩ / (‖u‖ ‖v‖ τ)</c>, bounded by ±1/τ (norms floored at 1e-12). The positions p are
    /// those of a local feature map (every spatial position of a teacher map, as Deep InfoMax's local objective) or
    /// none (global codes).
    /// </summary>
    /// <param name="studentCodes">u, the student's codes, shape [B, D].</param>
    /// <param name="teacherCodes">v, the teacher's codes, shape [B, D] (global) or [B, P₁, …, D] (positions before the last axis, e.g. [B, H, W, D]).</param>
    /// <param name="temperature">τ ≥ 0: 0 for the dot product, τ &gt; 0 for the cosine critic scaled by 1/τ.</param>
    /// <returns>Positive and negative scores, each of shape [B] or [B, P₁, …].</returns>
    public static (Tensor Positive, Tensor Negative) RolledPairScores(Tensor studentCodes, Tensor teacherCodes, double temperature = 0)
    {
        if (studentCodes.dim() != 2 || teacherCodes.dim() < 2 || teacherCodes.shape[0] != studentCodes.shape[0]
            || teacherCodes.shape[^1] != studentCodes.shape[1])
        {
            throw new DistillSharpException(
                "critic codes must be [batch, D] for the student and [batch, ..., D] for the teacher; got " +
                $"[{string.Join(", ", studentCodes.shape)}] and [{string.Join(", ", teacherCodes.shape)}].");
        }
        long batch = studentCodes.shape[0], dim = studentCodes.shape[1];
        if (batch < 2)
        {
            throw new DistillSharpException("a negative pair needs another image of the batch: the batch must hold at least 2 images.");
        }
        if (!(temperature >= 0) || double.IsInfinity(temperature))
        {
            throw new DistillSharpException($"the critic temperature must be 0 (dot product) or positive; got {temperature}.");
        }
        using var scope = NewDisposeScope();
        var positions = teacherCodes.shape[1..^1];
        var u = studentCodes.unsqueeze(2);                                   // [B, D, 1]
        var v = teacherCodes.reshape(batch, -1, dim);                        // [B, P, D]
        if (temperature > 0)
        {
            u = u / (u.norm(1, keepdim: true).clamp_min(NormFloor) * temperature);
            v = v / v.norm(2, keepdim: true).clamp_min(NormFloor);
        }
        var positive = bmm(v, u).reshape([batch, .. positions]);
        var negative = bmm(v.roll(1, 0), u).reshape([batch, .. positions]);
        return (positive.MoveToOuterDisposeScope(), negative.MoveToOuterDisposeScope());
    }

    private static void CheckScores(Tensor positive, Tensor negative)
    {
        if (positive.numel() == 0 || negative.numel() == 0)
        {
            throw new DistillSharpException("a mutual-information bound needs at least one positive and one negative score.");
        }
    }
}
