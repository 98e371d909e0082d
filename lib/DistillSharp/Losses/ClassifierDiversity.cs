using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Losses;

/// <summary>
/// The Classifier Diversification (CD) loss of Li et al., "Online Knowledge Distillation via Multi-branch Diversity
/// Enhancement" (ACCV 2020, arXiv 2010.00795), and the measure of diversity it is meant to raise: how often the branches
/// of a multi-branch network disagree. Pure functions: tensors in, a tensor out, no state.
/// </summary>
public static class ClassifierDiversity
{
    /// <summary>
    /// <c>L_CD = Σ_{i &lt; j} ‖ W_i W_jᵀ ‖_F</c> over every pair of branches, W_i the classes × d weight of branch i's
    /// classifier: the Frobenius norm of the matrix of inner products between every class vector of one classifier and
    /// every class vector of another. It is 0 exactly when the classifiers' row spaces are mutually orthogonal, and
    /// minimising it pushes them apart. Its gradient with respect to W_i is <c>Σ_{j≠i} (W_i W_jᵀ) W_j / ‖W_i W_jᵀ‖_F</c>
    /// (0 for a pair already orthogonal: libtorch's norm has gradient 0 at 0).
    /// </summary>
    /// <param name="classifierWeights">W_1 … W_m (m ≥ 1), each classes × d with the same shape; not detached, so the
    /// gradient reaches the classifiers.</param>
    /// <returns>A scalar; 0 for a single classifier.</returns>
    public static Tensor Loss(IReadOnlyList<Tensor> classifierWeights)
    {
        ArgumentNullException.ThrowIfNull(classifierWeights);
        if (classifierWeights.Count == 0) throw new DistillSharpException("the CD loss needs at least one classifier weight.");
        var first = classifierWeights[0];
        foreach (var w in classifierWeights)
        {
            if (w.dim() != 2 || !w.shape.SequenceEqual(first.shape))
            {
                throw new DistillSharpException(
                    $"the CD loss needs classifier weights of one shape classes x d; got [{string.Join(", ", first.shape)}] and [{string.Join(", ", w.shape)}].");
            }
        }
        using var scope = NewDisposeScope();
        Tensor total = zeros([], dtype: first.dtype, device: first.device);
        for (int i = 0; i < classifierWeights.Count; i++)
        {
            for (int j = i + 1; j < classifierWeights.Count; j++)
            {
                total = total + classifierWeights[i].matmul(classifierWeights[j].t()).norm();
            }
        }
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The mean pairwise disagreement of the branches' top-1 predictions for each row:
    /// <c>d_b = (2 / (m (m − 1))) Σ_{i &lt; j} [argmax z_{i,b} ≠ argmax z_{j,b}]</c>, between 0 (all branches predict the
    /// same class) and 1 (every pair differs). Its mean over a test set is the branches' diversity (1 − it, their
    /// agreement); homogenized branches drive it toward 0.
    /// </summary>
    /// <param name="branchLogits">z_1 … z_m (m ≥ 2), each B × classes.</param>
    /// <returns>float32 [B].</returns>
    public static Tensor Disagreement(IReadOnlyList<Tensor> branchLogits)
    {
        ArgumentNullException.ThrowIfNull(branchLogits);
        int m = branchLogits.Count;
        if (m < 2) throw new DistillSharpException($"disagreement needs at least two branches; got {m}.");
        using var scope = NewDisposeScope();
        var top = stack(branchLogits.Select(z => z.argmax(1)).ToArray());           // m × B
        var differ = top.unsqueeze(0).ne(top.unsqueeze(1)).to(float32).sum([0, 1]); // each unordered pair counted twice
        return (differ / (m * (m - 1.0))).MoveToOuterDisposeScope();
    }
}
