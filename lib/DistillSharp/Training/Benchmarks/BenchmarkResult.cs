namespace DistillSharp.Training.Benchmarks;

/// <summary>Memory and tensors after one epoch of the leak check.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="ResidentBytes">The process's resident set after the epoch (training, evaluation and checkpoints).</param>
/// <param name="TrimmedBytes">The resident set after a full, compacting garbage collection (with finalizers) and the
/// allocator's return of its cached free memory (<see cref="NativeAllocator.Trim"/>): the memory retained, where a
/// leak shows.</param>
/// <param name="LiveTensors">TorchSharp tensors not yet disposed, read before that collection (a tensor left to its
/// finalizer counts).</param>
/// <param name="ManagedBytes">Bytes the .NET garbage collector has committed after that collection (its share of the
/// retained resident set).</param>
/// <param name="Seconds">The epoch's duration.</param>
public sealed record LeakEpoch(int Epoch, long ResidentBytes, long TrimmedBytes, long LiveTensors, long ManagedBytes, double Seconds);

/// <summary>The measurement of one <see cref="BenchmarkCase"/>.</summary>
/// <param name="Case">What was measured.</param>
/// <param name="BatchSize">Images per step.</param>
/// <param name="Threads">libtorch intra-op threads during the measurement.</param>
/// <param name="WindowImagesPerSecond">Images per second of each timed window, in order.</param>
/// <param name="WindowStepSeconds">Mean seconds per step of each window.</param>
/// <param name="BaselineBytes">Resident bytes before the networks and data were built.</param>
/// <param name="PeakBytes">The process's peak resident bytes at the end of the measurement.</param>
/// <param name="Isolated">True when the case ran alone in a child process (the peak is its own).</param>
/// <param name="Epochs">The leak check's epochs (null for the other kinds).</param>
public sealed record BenchmarkResult(
    BenchmarkCase Case, int BatchSize, int Threads, IReadOnlyList<double> WindowImagesPerSecond, IReadOnlyList<double> WindowStepSeconds,
    long BaselineBytes, long PeakBytes, bool Isolated, IReadOnlyList<LeakEpoch>? Epochs = null)
{
    /// <summary>The threads that decoded each batch (image-folder data rows); null for the other rows.</summary>
    public int? DecodeThreads { get; init; }

    /// <summary>The median window's images per second.</summary>
    public double MedianImagesPerSecond => Median(WindowImagesPerSecond);

    /// <summary>The slowest window's images per second.</summary>
    public double MinImagesPerSecond => WindowImagesPerSecond.Count == 0 ? double.NaN : WindowImagesPerSecond.Min();

    /// <summary>The fastest window's images per second.</summary>
    public double MaxImagesPerSecond => WindowImagesPerSecond.Count == 0 ? double.NaN : WindowImagesPerSecond.Max();

    /// <summary>(fastest - slowest) / median, in percent.</summary>
    public double SpreadPercent => 100 * (MaxImagesPerSecond - MinImagesPerSecond) / MedianImagesPerSecond;

    /// <summary>The median window's milliseconds per step.</summary>
    public double MedianStepMilliseconds => 1000 * Median(WindowStepSeconds);

    /// <summary>
    /// The leak check's verdict: memory in use (the trimmed resident set) after the last epoch relative to after
    /// epoch 2, in percent.
    /// </summary>
    public double? GrowthAfterEpoch2Percent =>
        Epochs is { Count: >= 2 } e ? 100.0 * (e[^1].TrimmedBytes - e[1].TrimmedBytes) / e[1].TrimmedBytes : null;

    /// <summary>The same for the untrimmed resident set (which includes the allocator's cache of free memory).</summary>
    public double? ResidentGrowthAfterEpoch2Percent =>
        Epochs is { Count: >= 2 } e ? 100.0 * (e[^1].ResidentBytes - e[1].ResidentBytes) / e[1].ResidentBytes : null;

    internal static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
