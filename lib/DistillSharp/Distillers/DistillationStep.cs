using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// What a distiller's training forward returns (as mdistiller's distillers do): the student logits for the
/// training accuracy, and the loss terms by name, each already multiplied by its weight, so that the total
/// is their sum and every term can be logged and plotted without the trainer knowing the method.
/// </summary>
public sealed record DistillationStep(Tensor Logits, IReadOnlyDictionary<string, Tensor> Losses)
{
    /// <summary>The loss to minimise: the sum of the weighted terms.</summary>
    public Tensor Total()
    {
        Tensor? total = null;
        foreach (var term in Losses.Values)
        {
            total = total is null ? term : total + term;
        }
        return total ?? throw new InvalidOperationException("a distillation step must return at least one loss term");
    }
}
