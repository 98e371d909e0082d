using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// What a distiller's training forward returns (as mdistiller's distillers do): the logits of the run's prediction
/// for the training accuracy, and the loss terms by name, each already multiplied by its weight, so that the total
/// is their sum and every term can be logged and plotted without the trainer knowing the method.
/// </summary>
/// <param name="Logits">The logits of the run's prediction (the first of <see cref="Distiller.PredictionNames"/>).</param>
/// <param name="Losses">The weighted loss terms by name.</param>
/// <param name="Predictions">
/// The training logits of every one of <see cref="Distiller.PredictionNames"/>, in that order, for methods with more
/// than one prediction; null means <c>[Logits]</c>.
/// </param>
public sealed record DistillationStep(Tensor Logits, IReadOnlyDictionary<string, Tensor> Losses, IReadOnlyList<Tensor>? Predictions = null)
{
    /// <summary>The logits of every prediction, in the distiller's order.</summary>
    public IReadOnlyList<Tensor> AllPredictions => Predictions ?? [Logits];

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
