namespace DistillSharp.Training.Benchmarks;

/// <summary>
/// How a benchmark measures: the batch, the warm-up, the timed windows, the threads and the synthetic data's shape
/// (CIFAR-100's by default: 3 channels, 32x32, 100 classes, 50,000 training images for the methods' memory banks).
/// </summary>
public sealed record BenchmarkSettings
{
    /// <summary>Training batch size (the data pipeline uses it too).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Evaluation batch size (as <see cref="Experiment"/>: at least 256).</summary>
    public int EvalBatchSize => Math.Max(BatchSize, 256);

    /// <summary>Untimed steps before the first window.</summary>
    public int WarmupSteps { get; init; } = 10;

    /// <summary>Steps in each timed window.</summary>
    public int StepsPerWindow { get; init; } = 10;

    /// <summary>Timed windows; the table reports their median and spread.</summary>
    public int Windows { get; init; } = 5;

    /// <summary>libtorch intra-op threads, or null for the library's default.</summary>
    public int? Threads { get; init; }

    /// <summary>Input channels (CIFAR's 3).</summary>
    public int Channels => 3;

    /// <summary>Input height and width (CIFAR's 32).</summary>
    public int ImageSize => 32;

    /// <summary>Classes (CIFAR-100's 100).</summary>
    public int Classes => 100;

    /// <summary>Training images the methods see (CRD's memory bank has one row per image; the pipeline reads from them).</summary>
    public int TrainImages { get; init; } = 50_000;

    /// <summary>Method parameters that override the defaults (each must belong to at least one benchmarked method).</summary>
    public IReadOnlyDictionary<string, double> MethodParameters { get; init; } = new Dictionary<string, double>();

    /// <summary>Epochs of the leak check.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Training images of the leak check (a class-balanced subset for a real dataset).</summary>
    public int LeakImages { get; init; } = 1024;

    /// <summary>The leak check's data: <c>synthetic</c> (the default) or a dataset name (e.g. fashion-mnist).</summary>
    public string LeakDataset { get; init; } = "synthetic";

    /// <summary>The data folder for a real leak-check dataset (null: the usual resolution).</summary>
    public string? DataDir { get; init; }

    /// <summary>The teachers' number format for the pair rows: fp32, bf16 or auto (<see cref="Training.TeacherPrecision"/>).</summary>
    public string TeacherPrecision { get; init; } = Training.TeacherPrecision.Fp32;

    /// <summary>Threads that decode a batch in the image-folder data rows; null for one per processor.</summary>
    public int? DecodeThreads { get; init; }

    /// <summary>
    /// Whether the pairs' float32 teachers in eval mode run with their batch norms folded into their convolutions
    /// (<see cref="Models.ZooModel.FoldBatchNorms"/>; bf16 teachers always are, train-mode teachers never).
    /// </summary>
    public bool FoldTeacherBatchNorms { get; init; }

    /// <summary>The seed of the weights and the synthetic data.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Checks every value; a bad one is an error naming the option.</summary>
    public void Validate()
    {
        Training.TeacherPrecision.Check(TeacherPrecision);
        if (BatchSize < 1) throw new DistillSharpException($"--batch-size must be at least 1; got {BatchSize}.");
        if (WarmupSteps < 0) throw new DistillSharpException($"--warmup must be 0 or more steps; got {WarmupSteps}.");
        if (StepsPerWindow < 1) throw new DistillSharpException($"--steps must be at least 1 step per window; got {StepsPerWindow}.");
        if (Windows < 1) throw new DistillSharpException($"--windows must be at least 1; got {Windows}.");
        if (Threads is < 1) throw new DistillSharpException($"--threads must be at least 1; got {Threads}.");
        if (DecodeThreads is < 1) throw new DistillSharpException($"--decode-threads must be at least 1; got {DecodeThreads}.");
        if (Epochs < 2) throw new DistillSharpException($"--epochs must be at least 2 for the leak check (it compares later epochs with epoch 2); got {Epochs}.");
        if (LeakImages < BatchSize) throw new DistillSharpException($"--subset ({LeakImages}) must hold at least one batch of {BatchSize} images.");
        if (TrainImages < BatchSize) throw new DistillSharpException($"the synthetic training set ({TrainImages}) must hold at least one batch of {BatchSize} images.");
    }
}
