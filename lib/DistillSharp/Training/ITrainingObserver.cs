namespace DistillSharp.Training;

/// <summary>Where a run's progress goes: the terminal's live line, a notebook's updating display, or nowhere.</summary>
public interface ITrainingObserver
{
    /// <summary>After each training step, with running means over the epoch so far.</summary>
    void OnStep(StepProgress progress);

    /// <summary>After each epoch's evaluation.</summary>
    void OnEpoch(EpochMetrics metrics, int totalEpochs);

    /// <summary>A line of information (resuming, checkpoint written, ...).</summary>
    void OnMessage(string message);
}

/// <summary>Progress within an epoch.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="TotalEpochs">Epochs in the run.</param>
/// <param name="Step">Steps done in this epoch.</param>
/// <param name="StepsPerEpoch">Steps per epoch.</param>
/// <param name="Loss">Mean total loss over the epoch so far.</param>
/// <param name="Top1">Training top-1 accuracy (%) over the epoch so far.</param>
/// <param name="ImagesPerSecond">Training throughput in this epoch.</param>
/// <param name="Remaining">Estimated time left in the run.</param>
public sealed record StepProgress(int Epoch, int TotalEpochs, int Step, int StepsPerEpoch, double Loss, double Top1, double ImagesPerSecond, TimeSpan Remaining);

/// <summary>An observer that ignores everything (tests, sweeps).</summary>
public sealed class SilentObserver : ITrainingObserver
{
    /// <summary>The single instance.</summary>
    public static readonly SilentObserver Instance = new();

    /// <inheritdoc />
    public void OnStep(StepProgress progress) { }
    /// <inheritdoc />
    public void OnEpoch(EpochMetrics metrics, int totalEpochs) { }
    /// <inheritdoc />
    public void OnMessage(string message) { }
}
