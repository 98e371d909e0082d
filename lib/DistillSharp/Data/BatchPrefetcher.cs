namespace DistillSharp.Data;

/// <summary>
/// Decodes the batches of one epoch in order on a background task, up to <c>ahead</c> batches beyond the one the
/// caller last took, so that while batch k trains, batches k+1 (and k+2) are being decoded. The batches are decoded
/// one after the other (each on the reader's own decoding threads), so what each holds depends only on its indices,
/// the seed and the epoch, never on timing. Disposing stops the work not yet started and waits for the rest.
/// </summary>
internal sealed class BatchPrefetcher : IDisposable
{
    private readonly ISampleReader reader;
    private readonly IReadOnlyList<long[]> batches;
    private readonly long seed;
    private readonly int epoch;
    private readonly Task<SampleBatch>?[] tasks;
    private readonly CancellationTokenSource cancel = new();
    private Task chain = Task.CompletedTask;
    private int scheduled;
    private bool disposed;

    /// <summary>Starts decoding the first batches.</summary>
    public BatchPrefetcher(ISampleReader reader, IReadOnlyList<long[]> batches, long seed, int epoch, int ahead)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ahead);
        this.reader = reader;
        this.batches = batches;
        this.seed = seed;
        this.epoch = epoch;
        tasks = new Task<SampleBatch>?[batches.Count];
        Ahead = ahead;
        while (scheduled < Math.Min(ahead, batches.Count)) Schedule();
    }

    /// <summary>Batches decoded beyond the one last taken.</summary>
    public int Ahead { get; }

    /// <summary>
    /// Batch <paramref name="k"/> (taken in order 0, 1, ...), waiting for it if it is not decoded yet; an exception of
    /// the reader is rethrown here.
    /// </summary>
    public SampleBatch Take(int k)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        while (scheduled <= Math.Min(k + Ahead, batches.Count - 1)) Schedule();
        var task = tasks[k] ?? throw new InvalidOperationException($"batch {k} was taken already");
        tasks[k] = null;
        return task.GetAwaiter().GetResult();
    }

    private void Schedule()
    {
        int k = scheduled++;
        var indices = batches[k];
        var task = chain.ContinueWith(_ => reader.Read(indices, seed, epoch), cancel.Token,
            TaskContinuationOptions.LazyCancellation, TaskScheduler.Default);
        tasks[k] = task;
        chain = task;
    }

    /// <summary>Cancels the batches not started and waits for the one in progress.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        cancel.Cancel();
        try
        {
            chain.Wait();
        }
        catch (AggregateException)
        {
            // Cancelled batches, or a failure nobody took: the epoch is over either way.
        }
        cancel.Dispose();
    }
}
