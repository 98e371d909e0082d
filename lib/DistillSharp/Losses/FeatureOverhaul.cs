using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Losses;

/// <summary>
/// OFD, "A Comprehensive Overhaul of Feature Distillation" (Heo, Kim, Yun, Park, Kwak, Choi, ICCV 2019): the
/// student's connector output is matched to the teacher's pre-ReLU feature, after the teacher transform
/// <c>σ_m(t) = max(t, m)</c> (the margin m from the teacher's batch norm) and under the partial L2 distance, which
/// forgives a student that is below a teacher value the ReLU will clip anyway. The pure parts: tensors in, tensors
/// out, no state. The connectors live in <see cref="DistillSharp.Distillers.FeatureOverhaulDistiller"/>.
/// </summary>
public static class FeatureOverhaul
{
    /// <summary>
    /// Below this probability of a negative response, <see cref="Margin"/> falls back to <c>−3σ</c> (OFD's code: the
    /// conditional mean of a channel that is almost never negative is numerically unreliable and nearly unused).
    /// </summary>
    public const double NegativeProbabilityFloor = 0.001;

    /// <summary>
    /// OFD's margin per channel, the expectation of a teacher response that is negative (the paper's Eq. for m):
    /// with the batch norm before the ReLU giving responses <c>x ~ N(μ, σ²)</c>, <c>μ = β</c> (its bias),
    /// <c>σ = |γ|</c> (its weight),
    /// <c>m = E[x | x &lt; 0] = μ − σ · φ(μ/σ) / Φ(−μ/σ)</c> when <c>Φ(−μ/σ) &gt; 0.001</c>, else <c>m = −3σ</c>;
    /// φ and Φ are the standard normal density and distribution. Computed in float64, returned in
    /// <paramref name="gamma"/>'s type.
    /// </summary>
    /// <param name="gamma">γ, the batch norm's weight, [C].</param>
    /// <param name="beta">β, the batch norm's bias, [C].</param>
    /// <returns>m, [C], every entry negative.</returns>
    public static Tensor Margin(Tensor gamma, Tensor beta)
    {
        if (gamma.dim() != 1 || !gamma.shape.SequenceEqual(beta.shape))
        {
            throw new DistillSharpException(
                $"the margin needs a batch norm's weight and bias of one shape [C]; got [{string.Join(", ", gamma.shape)}] and [{string.Join(", ", beta.shape)}].");
        }
        using var scope = NewDisposeScope();
        using var guard = no_grad();
        var s = gamma.detach().to(float64).abs();
        var m = beta.detach().to(float64);
        var z = m / s;
        var negative = special.ndtr(-z);
        var density = exp(-0.5 * z * z) / Math.Sqrt(2 * Math.PI);
        var conditional = m - s * density / negative;
        var margin = where(negative > NegativeProbabilityFloor, conditional, -3 * s);
        return margin.to(gamma.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The teacher transform <c>σ_m(t) = max(t, m)</c>: a teacher response below the channel's margin is raised to it.
    /// </summary>
    /// <param name="teacher">The teacher's pre-ReLU feature, [B, C, H, W].</param>
    /// <param name="margin">m per channel, [C].</param>
    public static Tensor TeacherTransform(Tensor teacher, Tensor margin) =>
        maximum(teacher, margin.reshape(1, -1, 1, 1));

    /// <summary>
    /// The partial L2 distance, summed over every element:
    /// <c>d_p(T, S) = Σ_i [ S_i &gt; T_i or T_i &gt; 0 ] · (T_i − S_i)²</c>: a student value at or below a
    /// non-positive target costs nothing (the ReLU after both would make them equal).
    /// </summary>
    /// <param name="student">S, the student's connector output.</param>
    /// <param name="target">T, the transformed teacher feature of the same shape (a constant).</param>
    /// <returns>A scalar: the sum, not the mean.</returns>
    public static Tensor PartialL2(Tensor student, Tensor target)
    {
        if (!student.shape.SequenceEqual(target.shape))
        {
            throw new DistillSharpException(
                $"the partial L2 distance needs features of one shape; got student [{string.Join(", ", student.shape)}] and teacher [{string.Join(", ", target.shape)}].");
        }
        using var scope = NewDisposeScope();
        var kept = logical_or(student > target, target > 0);
        var squared = (student - target).square();
        return (squared * kept.to(squared.dtype)).sum().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One stage of OFD's distillation loss, <c>d_p(σ_m(t), r(s))</c>: <see cref="PartialL2"/> between the student's
    /// connector output and <see cref="TeacherTransform"/> of the teacher's pre-ReLU feature, summed.
    /// </summary>
    /// <param name="student">r(s), the connector output, [B, C, H, W] (C the teacher's channels).</param>
    /// <param name="teacher">t, the teacher's pre-ReLU feature, [B, C, H, W]; detached here.</param>
    /// <param name="margin">m per channel, [C] (<see cref="Margin"/>).</param>
    public static Tensor DistillationLoss(Tensor student, Tensor teacher, Tensor margin)
    {
        using var scope = NewDisposeScope();
        var target = TeacherTransform(teacher.detach(), margin);
        return PartialL2(student, target).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The weight of stage i (0-based) of N in OFD's sum over stages and in LONDON's, <c>1 / 2^(N−1−i)</c>: the last
    /// stage counts fully, each earlier one half as much as the next (both official codes).
    /// </summary>
    public static double StageWeight(int stage, int stages) => Math.Pow(2, -(stages - 1 - stage));
}
