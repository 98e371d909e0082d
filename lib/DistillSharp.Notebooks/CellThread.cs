using System.Collections.Concurrent;

namespace DistillSharp.Notebooks;

/// <summary>
/// The one thread a notebook run's cells execute on, as a kernel's main thread: each cell's code runs there up to its
/// first real await, so thread-bound state (libtorch's grad mode, thread-static fields) carries from cell to cell, and
/// the runner's own thread stays free to notice an interrupt. A cell that is interrupted is left behind on this thread,
/// which is a background thread and so does not keep the process alive; <see cref="Interrupt"/> wakes it where it
/// sleeps or waits.
/// </summary>
internal sealed class CellThread : IDisposable
{
    private readonly BlockingCollection<Action> work = new();
    private readonly Thread thread;

    public CellThread()
    {
        // The main thread's stack size, not a worker's: compiling a large cell recurses deeply.
        thread = new Thread(Loop, maxStackSize: 16 * 1024 * 1024) { IsBackground = true, Name = "notebook cells" };
        thread.Start();
    }

    /// <summary>Runs <paramref name="start"/> on this thread in the caller's execution context; the task ends when the task it returns does.</summary>
    public Task<T> Run<T>(Func<Task<T>> start)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var context = ExecutionContext.Capture();
        work.Add(() =>
        {
            Task<T> task;
            try
            {
                task = Start(start, context);
            }
            catch (Exception e)
            {
                done.TrySetException(e);
                return;
            }
            task.ContinueWith(t =>
            {
                if (t.IsFaulted) done.TrySetException(t.Exception!.InnerExceptions);
                else if (t.IsCanceled) done.TrySetCanceled();
                else done.TrySetResult(t.Result);
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        });
        return done.Task;
    }

    /// <summary>Wakes the thread with a <see cref="ThreadInterruptedException"/> where it sleeps, waits or joins (now or at its next wait).</summary>
    public void Interrupt() => thread.Interrupt();

    /// <summary>Takes no more work; a cell still running is not waited for.</summary>
    public void Dispose() => work.CompleteAdding();

    private static Task<T> Start<T>(Func<Task<T>> start, ExecutionContext? context)
    {
        if (context is null) return start();
        Task<T>? task = null;
        ExecutionContext.Run(context, _ => task = start(), null);
        return task!;
    }

    private void Loop()
    {
        try
        {
            foreach (var item in work.GetConsumingEnumerable())
            {
                item();
            }
        }
        catch (ThreadInterruptedException)
        {
            // Interrupted between cells: the run is over, and so is this thread.
        }
    }
}
