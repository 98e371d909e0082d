using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Losses;

/// <summary>How each side's representation is normalised before the two are compared (the paper's first design axis).</summary>
public enum FeatureNormalization
{
    /// <summary>The features as they are.</summary>
    None = 0,

    /// <summary>Each row divided by its Euclidean norm, <c>ẑ_b = z_b / max(‖z_b‖₂, 1e-12)</c>.</summary>
    L2 = 1,

    /// <summary>
    /// Batch normalisation without affine parameters, on the batch's own statistics:
    /// <c>ẑ_bd = (z_bd − μ_d) / √(σ²_d + ε)</c>, μ and σ² (biased) over the batch.
    /// </summary>
    BatchNorm = 2,

    /// <summary>Layer normalisation without affine parameters: the same over each row's dimensions.</summary>
    LayerNorm = 3,
}

/// <summary>The function that turns the per-element differences into one number (the paper's "soft maximum").</summary>
public enum SoftMaximum
{
    /// <summary>The mean squared error, <c>(1/BD) Σ_bd (ẑˢ_bd − ẑᵗ_bd)²</c>.</summary>
    SquaredError = 0,

    /// <summary><see cref="Projector.LogSumLoss"/>: <c>log Σ_bd |ẑˢ_bd − ẑᵗ_bd|^p</c>.</summary>
    LogSum = 1,

    /// <summary><see cref="Projector.SumLoss"/>: <c>Σ_bd |ẑˢ_bd − ẑᵗ_bd|^p</c>, the same sum without the log.</summary>
    Sum = 2,

    /// <summary><see cref="Projector.CorrelationLoss"/>: the DeiT variant on the batch mean of the products.</summary>
    Correlation = 3,
}

/// <summary>
/// Miles and Mikolajczyk, "A closer look at the training dynamics of knowledge distillation" (arXiv 2303.11098;
/// AAAI 2024 as "Understanding the Role of the Projector in Knowledge Distillation"): the representation losses
/// between a projected student feature and the teacher's, after normalisation. Pure functions: tensors in, a tensor
/// out, no state. The projector and the whole loss live in <see cref="Distillers.SimpleRecipeDistiller"/>.
/// </summary>
/// <remarks>
/// Every loss takes features of shape [B, D], the student's already projected to the teacher's width D and both
/// already normalised (<see cref="Normalize"/>); the teacher's is treated as given (the callers pass features computed
/// without gradients). The log of a sum of p-th powers is a smooth maximum: for large p the largest differences
/// dominate the sum, and the log makes the gradient <c>p |d|^(p−1) sign(d) / Σ|d|^p</c>, scale-free in the
/// differences' overall size.
/// </remarks>
public static class Projector
{
    private const double L2Floor = 1e-12;

    /// <summary>The constant inside the log of <see cref="CorrelationLoss"/> (1e-5, as the official DeiT code).</summary>
    public const double CorrelationEpsilon = 1e-5;

    /// <summary>
    /// The log-sum loss of the official ResNet code, <c>L = log Σ_b Σ_d |ẑˢ_bd − ẑᵗ_bd|^p</c> (p = 4 there, where the
    /// method multiplies it by 2), for already normalised features.
    /// </summary>
    /// <param name="zStudent">ẑˢ, the normalised projected student feature, [B, D].</param>
    /// <param name="zTeacher">ẑᵗ, the normalised teacher feature, [B, D].</param>
    /// <param name="exponent">p ≥ 1.</param>
    /// <returns>A scalar; −∞ when the two are equal.</returns>
    public static Tensor LogSumLoss(Tensor zStudent, Tensor zTeacher, double exponent)
    {
        Check(zStudent, zTeacher, exponent);
        using var scope = NewDisposeScope();
        return (zStudent - zTeacher).abs().pow(exponent).sum().log().MoveToOuterDisposeScope();
    }

    /// <summary>The plain sum <c>L = Σ_b Σ_d |ẑˢ_bd − ẑᵗ_bd|^p</c>: <see cref="LogSumLoss"/> without the log (an ablation).</summary>
    /// <param name="zStudent">ẑˢ, [B, D].</param>
    /// <param name="zTeacher">ẑᵗ, [B, D].</param>
    /// <param name="exponent">p ≥ 1.</param>
    public static Tensor SumLoss(Tensor zStudent, Tensor zTeacher, double exponent)
    {
        Check(zStudent, zTeacher, exponent);
        using var scope = NewDisposeScope();
        return (zStudent - zTeacher).abs().pow(exponent).sum().MoveToOuterDisposeScope();
    }

    /// <summary>The mean squared error <c>L = (1/BD) Σ_b Σ_d (ẑˢ_bd − ẑᵗ_bd)²</c> (an ablation: no soft maximum).</summary>
    /// <param name="zStudent">ẑˢ, [B, D].</param>
    /// <param name="zTeacher">ẑᵗ, [B, D].</param>
    public static Tensor SquaredError(Tensor zStudent, Tensor zTeacher)
    {
        Check(zStudent, zTeacher, 2);
        using var scope = NewDisposeScope();
        return (zStudent - zTeacher).square().mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The DeiT form of the official code: with <c>c_d = (1/B) Σ_b ẑˢ_bd ẑᵗ_bd</c> (for batch-normalised features,
    /// the correlation of dimension d across the batch), <c>L = log( Σ_d |c_d − 1|^p + 1e-5 )</c>.
    /// </summary>
    /// <param name="zStudent">ẑˢ, [B, D].</param>
    /// <param name="zTeacher">ẑᵗ, [B, D].</param>
    /// <param name="exponent">p ≥ 1 (4 in the official code).</param>
    public static Tensor CorrelationLoss(Tensor zStudent, Tensor zTeacher, double exponent)
    {
        Check(zStudent, zTeacher, exponent);
        using var scope = NewDisposeScope();
        var c = (zStudent * zTeacher).mean([0]);
        return ((c - 1).abs().pow(exponent).sum() + CorrelationEpsilon).log().MoveToOuterDisposeScope();
    }

    /// <summary>The loss of <paramref name="kind"/> (<see cref="SoftMaximum"/>) between two normalised features.</summary>
    public static Tensor RepresentationLoss(Tensor zStudent, Tensor zTeacher, SoftMaximum kind, double exponent) => kind switch
    {
        SoftMaximum.SquaredError => SquaredError(zStudent, zTeacher),
        SoftMaximum.LogSum => LogSumLoss(zStudent, zTeacher, exponent),
        SoftMaximum.Sum => SumLoss(zStudent, zTeacher, exponent),
        SoftMaximum.Correlation => CorrelationLoss(zStudent, zTeacher, exponent),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown soft maximum"),
    };

    /// <summary>
    /// <paramref name="z"/> [B, D] normalised as <paramref name="kind"/> says (<see cref="FeatureNormalization"/>),
    /// with <paramref name="eps"/> under the square root of batch and layer normalisation. Batch normalisation always
    /// uses the batch's statistics (the official code's BatchNorm1d in training mode) and keeps none.
    /// </summary>
    public static Tensor Normalize(Tensor z, FeatureNormalization kind, double eps)
    {
        if (z.dim() != 2) throw new DistillSharpException($"a feature to normalise must be [batch, dims]; got [{string.Join(", ", z.shape)}].");
        if (!(eps >= 0) || double.IsInfinity(eps)) throw new DistillSharpException($"the normalisation's eps must be 0 or positive; got {eps}.");
        using var scope = NewDisposeScope();
        var result = kind switch
        {
            FeatureNormalization.None => z.alias(),
            FeatureNormalization.L2 => z / z.norm(1, keepdim: true).clamp_min(L2Floor),
            FeatureNormalization.BatchNorm => Standardize(z, 0, eps),
            FeatureNormalization.LayerNorm => Standardize(z, 1, eps),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown normalisation"),
        };
        return result.MoveToOuterDisposeScope();
    }

    private static Tensor Standardize(Tensor z, long dim, double eps)
    {
        var mean = z.mean([dim], keepdim: true);
        var centered = z - mean;
        var variance = centered.square().mean([dim], keepdim: true);
        return centered / (variance + eps).sqrt();
    }

    private static void Check(Tensor zStudent, Tensor zTeacher, double exponent)
    {
        if (zStudent.dim() != 2 || !zStudent.shape.SequenceEqual(zTeacher.shape))
        {
            throw new DistillSharpException(
                "the student's projected feature and the teacher's must both be [batch, dims] with the same shape; got " +
                $"[{string.Join(", ", zStudent.shape)}] and [{string.Join(", ", zTeacher.shape)}].");
        }
        if (!(exponent >= 1) || double.IsInfinity(exponent))
        {
            throw new DistillSharpException($"the exponent p of the soft maximum must be a number >= 1; got {exponent}.");
        }
    }
}
