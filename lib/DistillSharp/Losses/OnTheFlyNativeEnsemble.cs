using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Losses;

/// <summary>
/// ONE, "Knowledge Distillation by On-the-fly Native Ensemble" (Lan, Zhu, Gong, NeurIPS 2018), as implemented in
/// OKDDip (github.com/DefangChen/OKDDip, <c>train_one.py</c>, <c>utils.py</c>): the gated ensemble of a multi-branch
/// network's branches, its distillation into every branch, and the sigmoid ramp-up of that term. Pure functions.
/// </summary>
public static class OnTheFlyNativeEnsemble
{
    /// <summary>
    /// The gated ensemble <c>z_e = Σ_i g_i z_i</c>, per row: <c>z_e,b = Σ_i g_{b,i} z_{i,b}</c>.
    /// </summary>
    /// <param name="branchLogits">z_1 … z_m, each B × classes.</param>
    /// <param name="gate">g, B × m (each row a probability vector for a gate; any weights are accepted).</param>
    /// <returns>B × classes.</returns>
    public static Tensor GatedEnsemble(IReadOnlyList<Tensor> branchLogits, Tensor gate)
    {
        ArgumentNullException.ThrowIfNull(branchLogits);
        if (branchLogits.Count == 0) throw new DistillSharpException("the gated ensemble needs at least one branch.");
        if (gate.dim() != 2 || gate.shape[0] != branchLogits[0].shape[0] || gate.shape[1] != branchLogits.Count)
        {
            throw new DistillSharpException(
                $"the gate must be B x m = {branchLogits[0].shape[0]} x {branchLogits.Count}; got [{string.Join(", ", gate.shape)}].");
        }
        using var scope = NewDisposeScope();
        var z = stack(branchLogits.ToArray(), 1);                  // B × m × classes
        return (gate.unsqueeze(2) * z).sum(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The distillation of the ensemble into the branches,
    /// <c>L_KL = Σ_i T² · (1/B) Σ_b KL( softmax(z_e,b / T) ‖ softmax(z_i,b / T) )</c>, as OKDDip's <c>KL_Loss</c> summed
    /// over the branches. The ensemble is not detached (neither is it in OKDDip): the term's gradient reaches the gate and,
    /// through z_e, every branch as target as well as student.
    /// </summary>
    /// <param name="branchLogits">z_1 … z_m, each B × classes.</param>
    /// <param name="ensembleLogits">z_e, B × classes.</param>
    /// <param name="temperature">T &gt; 0 (3 in ONE).</param>
    public static Tensor EnsembleDistillation(IReadOnlyList<Tensor> branchLogits, Tensor ensembleLogits, double temperature)
    {
        ArgumentNullException.ThrowIfNull(branchLogits);
        if (!(temperature > 0) || !double.IsFinite(temperature))
        {
            throw new DistillSharpException($"the ensemble's temperature must be a positive number; got {temperature}.");
        }
        using var scope = NewDisposeScope();
        var logP = nn.functional.log_softmax(ensembleLogits / temperature, 1);
        var p = logP.exp();
        Tensor total = zeros([], dtype: ensembleLogits.dtype, device: ensembleLogits.device);
        foreach (var z in branchLogits)
        {
            var logQ = nn.functional.log_softmax(z / temperature, 1);
            total = total + (p * (logP - logQ)).sum();
        }
        return (total * (temperature * temperature / ensembleLogits.shape[0])).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The sigmoid ramp-up of Laine and Aila (arXiv 1610.02242) that OKDDip's ONE puts on the distillation term:
    /// <c>w(t) = exp(−5 (1 − min(t, L)/L)²)</c> at 0-based epoch t for a ramp of L epochs, and 1 for L = 0. It rises from
    /// e⁻⁵ ≈ 0.0067 at t = 0 to 1 at t = L.
    /// </summary>
    /// <param name="epoch">t, the 0-based epoch (at least 0).</param>
    /// <param name="length">L, the ramp's length in epochs (at least 0; need not be whole).</param>
    public static double RampUp(double epoch, double length)
    {
        if (epoch < 0 || length < 0 || !double.IsFinite(epoch) || !double.IsFinite(length))
        {
            throw new DistillSharpException($"the ramp-up needs an epoch and a length of at least 0; got {epoch} and {length}.");
        }
        if (length == 0) return 1.0;
        double phase = 1.0 - Math.Min(epoch, length) / length;
        return Math.Exp(-5.0 * phase * phase);
    }
}
