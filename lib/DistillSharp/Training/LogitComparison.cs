using DistillSharp.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Training;

/// <summary>
/// How far a variant of a network (for example a teacher folded or in bfloat16) is from the reference, over a test set
/// of N images with C classes, accumulated batch by batch from both networks' logits z' (variant) and z (reference),
/// the labels y and a student's logits s:
/// <list type="bullet">
/// <item><see cref="MaxAbsDifference"/> = max_{n,c} |z'_{n,c} − z_{n,c}|;</item>
/// <item><see cref="MeanAbsDifference"/> = (1/(N·C)) Σ_{n,c} |z'_{n,c} − z_{n,c}|;</item>
/// <item><see cref="Top1Agreement"/> = 100 · (1/N) Σ_n [argmax_c z'_{n,c} = argmax_c z_{n,c}] (%);</item>
/// <item><see cref="Top1"/> = 100 · (1/N) Σ_n [argmax_c z'_{n,c} = y_n] (%), and <see cref="ReferenceTop1"/> likewise for z;</item>
/// <item><see cref="KdLoss"/> = L(z') and <see cref="ReferenceKdLoss"/> = L(z), with the soft-target loss of
/// <see cref="KnowledgeDistillation.SoftTargetLoss"/> over the whole set,
/// L(t) = T² · (1/N) Σ_n KL(softmax(t_n/T) ‖ softmax(s_n/T)) (each batch's mean weighted by its size);</item>
/// <item><see cref="KdLossRelativeDifference"/> = (L(z') − L(z)) / L(z), signed (NaN when L(z) = 0).</item>
/// </list>
/// argmax takes the first of equal largest logits. The differences are computed in float64 from the logits as given.
/// </summary>
public sealed class LogitComparison
{
    private double maxAbs;
    private double sumAbs;
    private double agreeing;
    private double correct;
    private double referenceCorrect;
    private double kd;
    private double referenceKd;

    /// <summary>Compares at temperature <paramref name="temperature"/> (T &gt; 0, for the KD loss).</summary>
    /// <exception cref="DistillSharpException">T is not a positive finite number.</exception>
    public LogitComparison(double temperature)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
        {
            throw new DistillSharpException($"the KD temperature must be a positive number; got {temperature}.");
        }
        Temperature = temperature;
    }

    /// <summary>T, the KD loss's temperature.</summary>
    public double Temperature { get; }

    /// <summary>N, the images added so far.</summary>
    public long Images { get; private set; }

    /// <summary>C, the classes (0 before the first batch).</summary>
    public long Classes { get; private set; }

    /// <summary>max_{n,c} |z'_{n,c} − z_{n,c}|.</summary>
    public double MaxAbsDifference => maxAbs;

    /// <summary>(1/(N·C)) Σ_{n,c} |z'_{n,c} − z_{n,c}|.</summary>
    public double MeanAbsDifference => sumAbs / (Images * Classes);

    /// <summary>100 · (1/N) Σ_n [argmax z'_n = argmax z_n], in %.</summary>
    public double Top1Agreement => 100 * agreeing / Images;

    /// <summary>The variant's top-1, 100 · (1/N) Σ_n [argmax z'_n = y_n], in %.</summary>
    public double Top1 => 100 * correct / Images;

    /// <summary>The reference's top-1, 100 · (1/N) Σ_n [argmax z_n = y_n], in %.</summary>
    public double ReferenceTop1 => 100 * referenceCorrect / Images;

    /// <summary>L(z'), the KD loss of the student against the variant over the set.</summary>
    public double KdLoss => kd / Images;

    /// <summary>L(z), the KD loss of the student against the reference over the set.</summary>
    public double ReferenceKdLoss => referenceKd / Images;

    /// <summary>(L(z') − L(z)) / L(z).</summary>
    public double KdLossRelativeDifference => ReferenceKdLoss == 0 ? double.NaN : (KdLoss - ReferenceKdLoss) / ReferenceKdLoss;

    /// <summary>
    /// Adds one batch: <paramref name="reference"/> z and <paramref name="variant"/> z' ([B, C] each),
    /// <paramref name="labels"/> y ([B], class indices) and <paramref name="student"/> s ([B, C]). One host transfer.
    /// </summary>
    /// <exception cref="DistillSharpException">The shapes differ from each other or from the batches before.</exception>
    public void Add(Tensor reference, Tensor variant, Tensor labels, Tensor student)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(variant);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(student);
        KnowledgeDistillation.CheckSameShape(variant, reference);
        KnowledgeDistillation.CheckSameShape(student, reference);
        long b = reference.shape[0], c = reference.shape[1];
        if (labels.dim() != 1 || labels.shape[0] != b)
        {
            throw new DistillSharpException($"labels must be [batch] = [{b}]; got [{string.Join(", ", labels.shape)}].");
        }
        if (Classes != 0 && c != Classes)
        {
            throw new DistillSharpException($"this comparison has {Classes} classes; the batch has {c}.");
        }
        using var scope = NewDisposeScope();
        using var guard = no_grad();
        var difference = (variant.to(ScalarType.Float64) - reference.to(ScalarType.Float64)).abs();
        var top = variant.argmax(1);
        var referenceTop = reference.argmax(1);
        var sums = stack(new[]
        {
            difference.max(),
            difference.sum(),
            top.eq(referenceTop).sum().to(ScalarType.Float64),
            top.eq(labels).sum().to(ScalarType.Float64),
            referenceTop.eq(labels).sum().to(ScalarType.Float64),
            KnowledgeDistillation.SoftTargetLoss(student, variant, Temperature).to(ScalarType.Float64) * b,
            KnowledgeDistillation.SoftTargetLoss(student, reference, Temperature).to(ScalarType.Float64) * b,
        }).cpu().data<double>().ToArray();
        maxAbs = Math.Max(maxAbs, sums[0]);
        sumAbs += sums[1];
        agreeing += sums[2];
        correct += sums[3];
        referenceCorrect += sums[4];
        kd += sums[5];
        referenceKd += sums[6];
        Images += b;
        Classes = c;
    }
}
