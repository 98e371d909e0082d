using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Losses;

/// <summary>
/// WCoRD, Wasserstein Contrastive Representation Distillation (Chen, Wang, Gan, Liu, Henao, Carin, CVPR 2021,
/// arXiv 2012.08674): the pure parts of its two terms, tensors in and tensors out. The memory bank and the heads live
/// in <see cref="DistillSharp.Distillers.WassersteinContrastiveDistiller"/>; the transport plan in <see cref="Sinkhorn"/>.
/// </summary>
/// <remarks>
/// <para>Global term, the dual form. CRD maximises a bound on the KL-based mutual information
/// <c>I(T; S) = KL(P_TS ‖ P_T P_S)</c>. WCoRD replaces the KL divergence by the Wasserstein-1 distance, the
/// Wasserstein dependency measure <c>I_W(T; S) = W₁(P_TS, P_T P_S)</c> (Ozair et al., NeurIPS 2019), whose
/// Kantorovich–Rubinstein dual is <c>sup_{‖g‖_L ≤ 1} E_{P_TS}[g(t, s)] − E_{P_T P_S}[g(t, s)]</c>: any critic g that is
/// 1-Lipschitz gives a lower bound. Two readings of the bound are provided: <see cref="KantorovichDual"/>, the dual
/// itself, and <see cref="ContrastiveDual"/>, its contrastive (InfoNCE) form with the same Lipschitz critic, Ozair et
/// al.'s Wasserstein predictive coding, which keeps CRD's softmax over one positive and K negatives. The constraint is
/// imposed by the distiller (a gradient penalty, <see cref="LipschitzPenalty"/>, or spectral normalisation of the
/// heads).</para>
/// <para>Local term, the primal form. Within a batch, the teacher's and the student's features are two empirical
/// distributions of B points each; their entropic Wasserstein distance under the cost <c>C_ij = 1 − cos(t_i, s_j)</c>
/// is <c>Σ_ij π*_ij C_ij</c> with the Sinkhorn plan π* held constant (<see cref="LocalPrimal"/>).</para>
/// </remarks>
public static class WassersteinContrastive
{
    private const double NormFloor = 1e-12;

    /// <summary>
    /// Critic scores <c>g[b, k] = ⟨rows[b, k], anchor[b]⟩ / τ</c> of one anchor per sample against its K + 1 memory
    /// rows (column 0 the positive, the rest negatives); no gradient flows into the rows (the bank).
    /// </summary>
    /// <param name="rows">Memory rows, shape [B, K + 1, D].</param>
    /// <param name="anchor">Anchor embeddings, shape [B, D].</param>
    /// <param name="temperature">τ &gt; 0 (CRD: 0.07).</param>
    public static Tensor CriticScores(Tensor rows, Tensor anchor, double temperature)
    {
        using var scope = NewDisposeScope();
        return (ContrastiveRepresentation.RowDots(rows, anchor) / temperature).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The contrastive form of the dual, as a loss to minimise: the cross-entropy of picking the positive among the
    /// K + 1 candidates, <c>L = (1/B) Σ_b [ log Σ_k exp(g_bk) − g_b0 ]</c> (InfoNCE; its negative plus log(K + 1)
    /// lower-bounds the dependency between anchor and rows). Lower means the positive stands out more.
    /// </summary>
    /// <param name="scores">g, shape [B, K + 1], column 0 the positive (<see cref="CriticScores"/>).</param>
    public static Tensor ContrastiveDual(Tensor scores)
    {
        CheckScores(scores);
        using var scope = NewDisposeScope();
        return (scores.logsumexp(1) - scores.select(1, 0)).mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The Kantorovich–Rubinstein dual, as a loss to minimise: the negative of the estimate
    /// <c>Ŵ = mean_b g_b0 − mean_{b, k ≥ 1} g_bk</c>, the critic's mean on joint pairs minus its mean on pairs of the
    /// product of the marginals. With a 1-Lipschitz g, Ŵ lower-bounds <c>W₁(P_TS, P_T P_S)</c>.
    /// </summary>
    /// <param name="scores">g, shape [B, K + 1], column 0 the positive.</param>
    public static Tensor KantorovichDual(Tensor scores)
    {
        CheckScores(scores);
        using var scope = NewDisposeScope();
        var joint = scores.select(1, 0).mean();
        var marginals = scores.narrow(1, 1, scores.shape[1] - 1).mean();
        return (marginals - joint).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The one-sided gradient penalty on the critic (Gulrajani et al. 2017's penalty with the one-sided reading of
    /// Petzka et al. 2018, which penalises only a slope above 1, the Lipschitz bound itself):
    /// <c>P = (1/B) Σ_b max(0, ‖∇_x g(x_b)‖₂ − 1)²</c>, one row of <paramref name="inputGradients"/> per sample.
    /// </summary>
    /// <param name="inputGradients">∇ of each sample's critic score with respect to that sample's input, [B, F] (the
    /// caller concatenates the gradients with respect to the teacher's and the student's features). Must carry its
    /// graph (<c>create_graph</c>) for the penalty to train the critic.</param>
    public static Tensor LipschitzPenalty(Tensor inputGradients)
    {
        if (inputGradients.dim() != 2 || inputGradients.shape[0] < 1)
        {
            throw new DistillSharpException("the Lipschitz penalty needs gradients of shape [batch, features].");
        }
        using var scope = NewDisposeScope();
        var slope = inputGradients.pow(2).sum(1).sqrt();
        return nn.functional.relu(slope - 1).pow(2).mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The cosine cost between two sets of features, <c>C_ij = 1 − ⟨t_i, s_j⟩ / (‖t_i‖ ‖s_j‖)</c>, in [0, 2]
    /// (norms floored at 1e-12, as PyTorch's <c>F.normalize</c>).
    /// </summary>
    /// <param name="teacher">t, shape [n, D].</param>
    /// <param name="student">s, shape [m, D].</param>
    /// <returns>C, shape [n, m].</returns>
    public static Tensor CosineCost(Tensor teacher, Tensor student)
    {
        if (teacher.dim() != 2 || student.dim() != 2 || teacher.shape[1] != student.shape[1])
        {
            throw new DistillSharpException(
                $"the cosine cost needs features [n, D] and [m, D] of one width; got [{string.Join(", ", teacher.shape)}] and [{string.Join(", ", student.shape)}].");
        }
        using var scope = NewDisposeScope();
        var t = teacher / teacher.norm(1, keepdim: true).clamp_min(NormFloor);
        var s = student / student.norm(1, keepdim: true).clamp_min(NormFloor);
        return (1 - t.matmul(s.t())).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// WCoRD's local term, the primal form: <c>L_local = Σ_ij π*_ij C_ij</c> with <c>C = </c><see cref="CosineCost"/>
    /// between the batch's teacher and student features and π* the entropic plan between uniform marginals
    /// (<see cref="Sinkhorn.Plan"/>), held constant.
    /// </summary>
    /// <param name="teacher">The teacher's features, [B, D].</param>
    /// <param name="student">The student's (projected) features, [B, D].</param>
    /// <param name="epsilon">ε of Sinkhorn.</param>
    /// <param name="iterations">Sinkhorn iterations.</param>
    public static Tensor LocalPrimal(Tensor teacher, Tensor student, double epsilon, int iterations)
    {
        using var scope = NewDisposeScope();
        return Sinkhorn.Cost(CosineCost(teacher, student), epsilon, iterations).MoveToOuterDisposeScope();
    }

    private static void CheckScores(Tensor scores)
    {
        if (scores.dim() != 2 || scores.shape[1] < 2)
        {
            throw new DistillSharpException("WCoRD critic scores must have shape [batch, 1 + negatives] with at least one negative.");
        }
    }
}
