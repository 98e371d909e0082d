using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Losses;

/// <summary>
/// Contrastive Representation Distillation (Tian, Krishnan, Isola, ICLR 2020), as computed by its code
/// (RepDistiller, <c>crd/</c>): the pure parts, tensors in and tensors out. The memory bank that holds state
/// lives in <see cref="DistillSharp.Distillers.ContrastMemory"/>.
/// </summary>
/// <remarks>
/// With unit embeddings e and a memory row m, a pair's unnormalised score is <c>h = exp(⟨m, e⟩ / τ)</c>
/// (CRD eq. 19 without the bias), and dividing by a constant <c>Z</c> turns it into an estimate of
/// the probability that the pair was drawn from the joint rather than from the K-noise distribution.
/// </remarks>
public static class ContrastiveRepresentation
{
    /// <summary>The small constant RepDistiller adds to the NCE denominators.</summary>
    public const double Epsilon = 1e-7;

    /// <summary>
    /// Unnormalised scores <c>h[b, k] = exp(⟨rows[b, k], anchor[b]⟩ / τ)</c> of one anchor per sample against
    /// its K + 1 memory rows (column 0 the positive, the rest negatives).
    /// </summary>
    /// <param name="rows">Memory rows, shape [B, K + 1, D] (no gradient flows into the bank).</param>
    /// <param name="anchor">Anchor embeddings, shape [B, D].</param>
    /// <param name="temperature">τ &gt; 0 (CRD: 0.07).</param>
    public static Tensor Scores(Tensor rows, Tensor anchor, double temperature)
    {
        using var scope = NewDisposeScope();
        return (RowDots(rows, anchor) / temperature).exp().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The dot products <c>d[b, k] = ⟨rows[b, k], anchor[b]⟩</c> [B, K + 1], with no gradient into the rows (the bank).
    /// Computed as the row vector <c>anchor[b]ᵀ</c> times <c>rows[b]ᵀ</c> (<c>bmm([B, 1, D], [B, D, K + 1])</c>) rather than
    /// <c>rows[b]</c> times the column <c>anchor[b]</c>: the same sums, and the anchor's gradient is then
    /// <c>bmm([B, 1, K + 1], rows)</c> on the bank rows as stored. libtorch 2.10 runs the other order's gradient,
    /// <c>bmm(rowsᵀ, g)</c>, 7x slower at B = 64, K = 4,096, D = 128 (27 against 3.9 ms, AMD EPYC Zen 5, 2 threads), and
    /// the whole score with its backward 3x slower (42 against 14 ms); PyTorch 1.13 runs both orders alike.
    /// </summary>
    /// <param name="rows">Memory rows, shape [B, K + 1, D].</param>
    /// <param name="anchor">Anchor embeddings, shape [B, D].</param>
    public static Tensor RowDots(Tensor rows, Tensor anchor)
    {
        using var scope = NewDisposeScope();
        return bmm(anchor.unsqueeze(1), rows.detach().transpose(1, 2)).squeeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The normalisation constant <c>Z = N · mean(h)</c> that RepDistiller fixes once, from the first batch
    /// it sees (a Monte-Carlo estimate of the partition function over the N training samples).
    /// </summary>
    public static double NormalizationConstant(Tensor scores, long numData) =>
        scores.mean().item<float>() * (double)numData;

    /// <summary>
    /// The NCE loss of CRD (eq. 18, RepDistiller's <c>ContrastLoss</c>). With P = h / Z, K negatives per positive
    /// and a uniform noise distribution P_n = 1 / N:
    /// <c>L = −(1/B) Σ_b [ log( P_b0 / (P_b0 + K·P_n + ε) ) + Σ_k log( K·P_n / (P_bk + K·P_n + ε) ) ]</c>.
    /// </summary>
    /// <param name="probabilities">h / Z, shape [B, K + 1], column 0 the positive.</param>
    /// <param name="numData">N, the number of training samples the bank covers.</param>
    public static Tensor NceLoss(Tensor probabilities, long numData)
    {
        if (probabilities.dim() != 2 || probabilities.shape[1] < 2)
        {
            throw new DistillSharpException("CRD scores must have shape [batch, 1 + negatives] with at least one negative.");
        }
        using var scope = NewDisposeScope();
        long batch = probabilities.shape[0];
        double kPn = (probabilities.shape[1] - 1) / (double)numData;
        var positive = probabilities.select(1, 0);
        var negatives = probabilities.narrow(1, 1, probabilities.shape[1] - 1);
        var logD1 = (positive / (positive + (kPn + Epsilon))).log();
        var logD0 = (kPn / (negatives + (kPn + Epsilon))).log();
        var loss = -(logD1.sum() + logD0.sum()) / batch;
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The memory update of CRD: <c>m ← normalize(μ·m + (1 − μ)·e)</c>, row by row, for the positives' slots.
    /// Returns the new rows; the caller writes them back into the bank.
    /// </summary>
    /// <param name="oldRows">The slots' current rows, shape [B, D].</param>
    /// <param name="embeddings">The new embeddings, shape [B, D].</param>
    /// <param name="momentum">μ in [0, 1) (CRD: 0.5).</param>
    public static Tensor MomentumUpdate(Tensor oldRows, Tensor embeddings, double momentum)
    {
        using var scope = NewDisposeScope();
        var mixed = oldRows * momentum + embeddings.detach() * (1 - momentum);
        var norm = mixed.pow(2).sum(1, keepdim: true).sqrt();
        return (mixed / norm).MoveToOuterDisposeScope();
    }

    /// <summary>L2 normalisation of each row, <c>x / ‖x‖₂</c>, as RepDistiller's <c>Normalize(2)</c> (no epsilon).</summary>
    public static Tensor L2Normalize(Tensor x)
    {
        using var scope = NewDisposeScope();
        return (x / x.pow(2).sum(1, keepdim: true).sqrt()).MoveToOuterDisposeScope();
    }
}
