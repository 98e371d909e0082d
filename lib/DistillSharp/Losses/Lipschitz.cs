using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Losses;

/// <summary>
/// LONDON, "Lipschitz Continuity Guided Knowledge Distillation" (Shang, Duan, Zong, Nie, Yan, ICCV 2021): a network's
/// Lipschitz constant is bounded by the product of its layers' spectral norms, and the spectral norm of the map from
/// one stage's feature to the next is approximated by the largest singular value of their transmitting matrix.
/// The student is asked to match the teacher's values stage by stage. The pure parts: tensors in, tensors out, no
/// state; the distiller is <see cref="DistillSharp.Distillers.LipschitzDistiller"/>.
/// </summary>
/// <remarks>
/// Why the product bounds the constant: for <c>f = f_L ∘ … ∘ f_1</c>, the chain rule gives
/// <c>∂f/∂x = J_L ⋯ J_1</c>, so <c>‖∂f/∂x‖₂ ≤ Π_l ‖J_l‖₂</c>, and the Lipschitz constant is the supremum of the
/// left side over x. For a linear layer <c>J_l = W_l</c>, and a ReLU's Jacobian has norm at most 1. The exact
/// constant of a ReLU network is NP-hard to compute (Virmaux and Scaman 2018); the product of per-stage norms is the
/// cheap, differentiable bound LONDON works with.
/// </remarks>
public static class Lipschitz
{
    /// <summary>
    /// The transmitting matrix of two feature maps (LONDON's TM; the FSP matrix of Yim et al. 2017):
    /// <c>TM = A B^T / (H′W′)</c>, where A is <paramref name="a"/> average-pooled to <paramref name="b"/>'s spatial size
    /// when it is larger (adaptive average pooling), and A and B are flattened to [C_a, H′W′] and [C_b, H′W′] per image.
    /// </summary>
    /// <param name="a">The earlier feature, [B, C_a, H, W].</param>
    /// <param name="b">The later feature, [B, C_b, H′, W′], with H′ ≤ H and W′ ≤ W.</param>
    /// <returns>[B, C_a, C_b].</returns>
    public static Tensor TransmittingMatrix(Tensor a, Tensor b)
    {
        if (a.dim() != 4 || b.dim() != 4 || a.shape[0] != b.shape[0])
        {
            throw new DistillSharpException(
                $"a transmitting matrix needs two [B, C, H, W] maps of one batch; got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}].");
        }
        using var scope = NewDisposeScope();
        long h = b.shape[2], w = b.shape[3];
        if (a.shape[2] > h) a = nn.functional.adaptive_avg_pool2d(a, new[] { h, w });
        if (a.shape[2] != h || a.shape[3] != w)
        {
            throw new DistillSharpException(
                $"a transmitting matrix pools the first map to the second's size, which must not be larger; got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}].");
        }
        var first = a.reshape(a.shape[0], a.shape[1], h * w);
        var second = b.reshape(b.shape[0], b.shape[1], h * w);
        return (bmm(first, second.transpose(1, 2)) / (h * w)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The largest singular value of each matrix by power iteration on <c>K = M Mᵀ</c>, differentiable through every
    /// iteration: from <c>v₀</c> (ones, or <paramref name="start"/>), <c>v_k = K v_(k−1) / ‖K v_(k−1)‖</c> for
    /// k = 1..n, and <c>σ = √‖K v_(n−1)‖</c>, the square root of the Rayleigh-type estimate of K's top eigenvalue
    /// <c>σ_max(M)²</c>. It converges at the rate <c>(σ₂/σ₁)^(2n)</c>; from a start with no component along the
    /// top singular vector it finds a smaller value. From the second iteration on, v is a unit vector and the estimate
    /// never exceeds the true value; after one iteration it scales with ‖v₀‖ (the start is not normalised, as in the
    /// official code, whose ImageNet start of ones has norm √m).
    /// </summary>
    /// <param name="matrices">M, [B, m, n].</param>
    /// <param name="iterations">n ≥ 1 (LONDON's code: 10 on CIFAR, 5 on ImageNet).</param>
    /// <param name="start">v₀, [B, m] or [B, m, 1]; null for ones (the ImageNet code's start). A constant.</param>
    /// <returns>σ per matrix, [B].</returns>
    public static Tensor SpectralNorm(Tensor matrices, int iterations, Tensor? start = null)
    {
        if (matrices.dim() != 3) throw new DistillSharpException($"the spectral norm needs a batch of matrices [B, m, n]; got [{string.Join(", ", matrices.shape)}].");
        if (iterations < 1) throw new DistillSharpException($"power iteration needs at least one iteration; got {iterations}.");
        long batch = matrices.shape[0], rows = matrices.shape[1];
        if (start is not null && start.numel() != batch * rows)
        {
            throw new DistillSharpException($"the start vectors must be [{batch}, {rows}]; got [{string.Join(", ", start.shape)}].");
        }
        using var scope = NewDisposeScope();
        var k = bmm(matrices, matrices.transpose(1, 2));
        var v = start is null
            ? ones(new[] { batch, rows, 1L }, dtype: matrices.dtype, device: matrices.device)
            : start.detach().reshape(batch, rows, 1).to(matrices.dtype);
        Tensor norm = null!;
        for (int i = 0; i < iterations; i++)
        {
            var kv = bmm(k, v);
            norm = kv.norm(1, keepdim: true);
            v = kv / norm;
        }
        return norm.reshape(batch).sqrt().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One stage of LONDON's loss: <c>MSE(σ_s, σ_t) = mean_b (σ(TM(s_a, s_b))_b − σ(TM(t_a, t_b))_b)²</c>, with σ the
    /// <see cref="SpectralNorm"/> of each image's <see cref="TransmittingMatrix"/>; the teacher's maps are detached.
    /// </summary>
    /// <param name="studentA">The student's earlier map (LONDON's code: already the connector output).</param>
    /// <param name="studentB">The student's later map (its raw pre-ReLU feature).</param>
    /// <param name="teacherA">The teacher's earlier pre-ReLU map.</param>
    /// <param name="teacherB">The teacher's later pre-ReLU map.</param>
    /// <param name="iterations">Power iterations.</param>
    /// <param name="studentStart">v₀ of the student's iteration, [B, C_studentA], or null for ones.</param>
    /// <param name="teacherStart">v₀ of the teacher's iteration, [B, C_teacherA], or null for ones.</param>
    /// <remarks>The distiller sums the stages with <see cref="FeatureOverhaul.StageWeight"/>.</remarks>
    public static Tensor StageLoss(Tensor studentA, Tensor studentB, Tensor teacherA, Tensor teacherB, int iterations,
        Tensor? studentStart = null, Tensor? teacherStart = null)
    {
        using var scope = NewDisposeScope();
        var student = SpectralNorm(TransmittingMatrix(studentA, studentB), iterations, studentStart);
        var teacher = SpectralNorm(TransmittingMatrix(teacherA.detach(), teacherB.detach()), iterations, teacherStart);
        return (student - teacher).square().mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One network's transmitting-matrix spectral norms between consecutive stages,
    /// <c>σ_i = σ(TM(F_i, F_(i+1)))</c> for i = 0..N−2 (ones as the start), per image: the factors LONDON matches.
    /// Their product <c>Π_i σ_i</c> is the per-image Lipschitz estimate the notebook follows over training.
    /// </summary>
    /// <param name="stages">The stage features F_0..F_(N−1), each [B, C_i, H_i, W_i], spatial sizes not increasing.</param>
    /// <param name="iterations">Power iterations.</param>
    /// <returns>[B, N−1].</returns>
    public static Tensor StageValues(IReadOnlyList<Tensor> stages, int iterations)
    {
        if (stages.Count < 2) throw new DistillSharpException($"stage values need at least two stages; got {stages.Count}.");
        using var scope = NewDisposeScope();
        var values = Enumerable.Range(0, stages.Count - 1)
            .Select(i => SpectralNorm(TransmittingMatrix(stages[i], stages[i + 1]), iterations)).ToArray();
        return stack(values, 1).MoveToOuterDisposeScope();
    }
}
