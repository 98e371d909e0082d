using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Losses;

/// <summary>
/// Hinton et al. (2015), "Distilling the Knowledge in a Neural Network": the student matches the teacher's
/// class distribution softened by a temperature.
/// </summary>
public static class KnowledgeDistillation
{
    /// <summary>
    /// The soft-target loss
    /// <c>L_KD = T² · (1/B) Σ_b KL( softmax(z_t,b / T) ‖ softmax(z_s,b / T) )</c>,
    /// a sum over classes and a mean over the batch of B rows, as RepDistiller's <c>DistillKL</c>.
    /// The factor T² keeps the gradient's scale independent of the temperature (Hinton et al., section 2).
    /// </summary>
    /// <param name="studentLogits">Student logits z_s, shape [B, classes].</param>
    /// <param name="teacherLogits">Teacher logits z_t, shape [B, classes]; treated as a constant target.</param>
    /// <param name="temperature">The temperature T &gt; 0.</param>
    public static Tensor SoftTargetLoss(Tensor studentLogits, Tensor teacherLogits, double temperature)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
        {
            throw new DistillSharpException($"KD temperature must be a positive number; got {temperature}.");
        }
        CheckSameShape(studentLogits, teacherLogits);
        using var scope = NewDisposeScope();
        var logP = nn.functional.log_softmax(teacherLogits.detach() / temperature, 1);
        var logQ = nn.functional.log_softmax(studentLogits / temperature, 1);
        var kl = (logP.exp() * (logP - logQ)).sum();
        var loss = kl * (temperature * temperature / studentLogits.shape[0]);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Softened class probabilities <c>softmax(z / T)</c>, for plots of the temperature's effect.</summary>
    public static Tensor SoftenedProbabilities(Tensor logits, double temperature)
    {
        if (!(temperature > 0)) throw new DistillSharpException($"temperature must be positive; got {temperature}.");
        return nn.functional.softmax(logits / temperature, -1);
    }

    internal static void CheckSameShape(Tensor student, Tensor teacher)
    {
        if (student.dim() != 2 || !student.shape.SequenceEqual(teacher.shape))
        {
            throw new DistillSharpException(
                $"student and teacher logits must both be [batch, classes] with the same shape; got " +
                $"[{string.Join(", ", student.shape)}] and [{string.Join(", ", teacher.shape)}].");
        }
    }
}
