using System.Diagnostics;
using DistillSharp.Data;
using DistillSharp.Distillers;
using TorchSharp;

using static TorchSharp.torch;

namespace DistillSharp.Training;

/// <summary>The outcome of a run: every epoch's metrics and where its files are.</summary>
public sealed record RunResult(IReadOnlyList<EpochMetrics> Epochs, RunFolder? Folder)
{
    /// <summary>The last epoch's metrics.</summary>
    public EpochMetrics Last => Epochs[^1];

    /// <summary>The epoch with the best test top-1 (the earliest of equals).</summary>
    public EpochMetrics Best => BestOf(Epochs);

    /// <summary>The epoch with the best test top-1 among <paramref name="epochs"/> (the earliest of equals).</summary>
    public static EpochMetrics BestOf(IEnumerable<EpochMetrics> epochs) => epochs.MaxBy(e => e.TestTop1)!;
}

/// <summary>
/// Trains any <see cref="Distiller"/> (it knows no method by name): SGD with momentum and weight decay over the
/// distiller's <see cref="Distiller.OptimizerGroups"/>, the learning-rate schedule per step, one DisposeScope per step,
/// evaluation and atomic checkpoints after every epoch, and resumption from the last checkpoint.
/// </summary>
/// <remarks>
/// The run's record is the metrics history inside <c>last.ckpt</c>. After each epoch the trainer writes, in this order,
/// <c>last.ckpt</c> (weights and the record up to this epoch), <c>best.ckpt</c> when the epoch is the best so far (a
/// byte copy of <c>last.ckpt</c>), then <c>metrics.csv</c>, then the summary. A kill at any point therefore leaves a <c>last.ckpt</c>
/// whose record is the truth; resuming rewrites <c>metrics.csv</c> from it and, when the kill came between
/// <c>last.ckpt</c> and <c>best.ckpt</c>, copies <c>last.ckpt</c> to <c>best.ckpt</c>, so the four files agree again.
/// </remarks>
public sealed class Trainer
{
    private readonly Distiller distiller;
    private readonly DataLoader train;
    private readonly DataLoader test;
    private readonly TrainingOptions options;
    private readonly RunFolder? folder;
    private readonly ITrainingObserver observer;
    private readonly Func<int, CheckpointHeader> header;

    /// <summary>Prepares a run; nothing is trained until <see cref="Fit"/>.</summary>
    /// <param name="distiller">The method with its networks (and teacher), already on its device.</param>
    /// <param name="train">Training batches (shuffled, augmented).</param>
    /// <param name="test">Test batches.</param>
    /// <param name="options">The recipe.</param>
    /// <param name="folder">Where metrics and checkpoints go; null keeps everything in memory.</param>
    /// <param name="observer">Progress sink.</param>
    /// <param name="header">The checkpoint header for a given epoch (model name, dataset, method parameters, ...).</param>
    public Trainer(Distiller distiller, DataLoader train, DataLoader test, TrainingOptions options,
        RunFolder? folder, ITrainingObserver? observer, Func<int, CheckpointHeader> header)
    {
        options.Validate();
        this.distiller = distiller;
        this.train = train;
        this.test = test;
        this.options = options;
        this.folder = folder;
        this.observer = observer ?? SilentObserver.Instance;
        this.header = header;
    }

    /// <summary>Called after each file the trainer writes (<c>last</c>, <c>best</c>, <c>metrics</c>, <c>summary</c>); tests stop the run there.</summary>
    internal Action<string>? AfterWrite { get; init; }

    /// <summary>
    /// Called after an epoch's files are written, and once after a resume, with the record so far: the run's
    /// <c>summary.json</c> is written here (last in the order), so it never runs ahead of the checkpoints.
    /// </summary>
    public Action<RunResult>? Saved { get; init; }

    /// <summary>
    /// Trains from epoch 1, or, with <paramref name="resume"/>, from the epoch after the run folder's last checkpoint
    /// (the same final weights as an uninterrupted run on CPU with the same seed). Resuming without a last checkpoint
    /// is an error: a run is continued or refused, never started over.
    /// </summary>
    public RunResult Fit(bool resume = false, CancellationToken cancel = default)
    {
        var schedule = options.CreateSchedule();
        using var optimizer = new OptimizerSetup(distiller, options);
        var runner = new TrainingStepRunner(distiller, optimizer);
        var columns = new PredictionColumns(distiller);
        var history = new List<EpochMetrics>();
        var terms = new List<string>();
        int start = 1;
        if (resume)
        {
            if (folder is null) throw new ArgumentException("resuming needs a run folder", nameof(resume));
            if (!File.Exists(folder.LastCheckpoint))
            {
                throw new DistillSharpException(
                    $"--resume: {folder.Path} has no checkpoint to continue from ({folder.LastCheckpoint} is missing); nothing was changed. " +
                    "To start a new run, leave out --resume and choose another --out.");
            }
            var restored = Checkpoint.Restore(folder.LastCheckpoint, distiller, optimizer.Optimizer);
            history.AddRange(restored.History);
            if (history.Count != restored.Epoch || history.Select(h => h.Epoch).Where((e, i) => e != i + 1).Any())
            {
                throw new DistillSharpException($"checkpoint {folder.LastCheckpoint} records epochs {string.Join(",", history.Select(h => h.Epoch))} but says it ends at epoch {restored.Epoch}; it cannot be continued.");
            }
            start = restored.Epoch + 1;
            foreach (var t in history.SelectMany(h => h.Losses.Keys)) if (!terms.Contains(t)) terms.Add(t);
            Reconcile(folder, history, terms, columns.Columns);
            Saved?.Invoke(new RunResult(history.ToArray(), folder));
            observer.OnMessage($"resumed from {folder.LastCheckpoint} after epoch {restored.Epoch}");
        }

        double best = history.Count > 0 ? history.Max(h => h.TestTop1) : double.NegativeInfinity;
        var clock = Stopwatch.StartNew();
        int stepsDone = 0;
        int predictions = columns.Predictions.Count;
        var skipLog = new SkipLog(observer);
        for (int epoch = start; epoch <= options.Epochs; epoch++)
        {
            cancel.ThrowIfCancellationRequested();
            var epochClock = Stopwatch.StartNew();
            distiller.BeginEpoch(epoch, options.Epochs);
            if (options.ResetMomentumAtMilestones && options.Milestones.Contains(epoch - 1)) optimizer.ResetMomentum();
            distiller.train();
            var sums = new Dictionary<string, double>();
            double correct1 = 0, correct5 = 0, totalLoss = 0;
            var correctEach = new double[predictions];
            long seen = 0;
            int step = 0;
            int steps = train.BatchesPerEpoch;
            double lr = schedule.At(epoch);
            int skippedTrain = 0;
            foreach (var batch in train.Epoch(epoch))
            {
                using var owned = batch;
                skippedTrain += skipLog.Report(batch.Skipped);
                if (batch.Size == 0) continue;
                lr = schedule.At(epoch, step, steps);
                var outcome = runner.Run(batch, lr);
                var names = outcome.Names;
                var values = outcome.Values;
                double loss = outcome.Loss;
                if (!outcome.Applied)
                {
                    var bad = names.Where((n, i) => !double.IsFinite(values[i])).ToArray();
                    throw new DistillSharpException(
                        $"the loss became {loss} at epoch {epoch}, step {step + 1} (term{(bad.Length > 1 ? "s" : "")} " +
                        $"{string.Join(", ", bad.Select(b => $"'{b}'"))}); training stopped. " +
                        (folder is not null && File.Exists(folder.LastCheckpoint)
                            ? $"The last good checkpoint is {folder.LastCheckpoint} (epoch {epoch - 1}). "
                            : "No checkpoint was written yet. ") +
                        "Lower --lr or the method's weights, or check the data.");
                }
                if (values.Length != names.Length + 1 + 2 * predictions)
                {
                    throw new InvalidOperationException(
                        $"method '{distiller.Method}' returned {(values.Length - names.Length - 1) / 2} training predictions for its {predictions} names");
                }

                for (int i = 0; i < names.Length; i++)
                {
                    sums[names[i]] = sums.GetValueOrDefault(names[i]) + values[i];
                    if (!terms.Contains(names[i])) terms.Add(names[i]);
                }
                for (int i = 0; i < predictions; i++) correctEach[i] += outcome.Correct1Of(i);
                long b = batch.Labels.shape[0];
                totalLoss += loss;
                correct1 += outcome.Correct1;
                correct5 += outcome.Correct5;
                seen += b;
                step++;
                stepsDone++;
                double perStep = clock.Elapsed.TotalSeconds / stepsDone;
                var remaining = TimeSpan.FromSeconds(perStep * ((options.Epochs - epoch) * (double)steps + (steps - step)));
                observer.OnStep(new StepProgress(epoch, options.Epochs, step, steps, totalLoss / step,
                    100.0 * correct1 / seen, seen / epochClock.Elapsed.TotalSeconds, remaining));
            }
            if (step == 0)
            {
                throw new DistillSharpException(skippedTrain > 0
                    ? $"no training image of epoch {epoch} could be read ({skippedTrain} skipped; the log names them): check the data."
                    : "the training set gave no batch: is it smaller than --batch-size with drop-last?");
            }

            var evaluation = Evaluation.Run(distiller, test);
            int skippedTest = skipLog.Report(evaluation.Skipped);
            if (skippedTrain + skippedTest > 0)
            {
                observer.OnMessage($"epoch {epoch}: skipped {skippedTrain} unreadable training image{(skippedTrain == 1 ? "" : "s")} " +
                    $"and {skippedTest} test image{(skippedTest == 1 ? "" : "s")} (each is named in a warning the first time)");
            }
            var accuracies = columns.Accuracies("train_", correctEach, null, seen);
            foreach (var (k, v) in evaluation.Accuracies) accuracies[k] = v;
            var metrics = new EpochMetrics(epoch, lr, sums.ToDictionary(kv => kv.Key, kv => kv.Value / step),
                100.0 * correct1 / seen, 100.0 * correct5 / seen, evaluation.Loss, evaluation.Top1, evaluation.Top5,
                epochClock.Elapsed.TotalSeconds) { Accuracies = accuracies };
            history.Add(metrics);
            if (folder is not null)
            {
                var saved = header(epoch) with
                {
                    Epoch = epoch, TestTop1 = evaluation.Top1, Predictions = columns.Predictions, History = history.ToArray(),
                };
                Checkpoint.Save(folder.LastCheckpoint, saved, distiller, optimizer.Optimizer);
                AfterWrite?.Invoke("last");
                if (evaluation.Top1 > best)
                {
                    CopyCheckpoint(folder.LastCheckpoint, folder.BestCheckpoint);
                    AfterWrite?.Invoke("best");
                }
                folder.WriteMetrics(history, terms, columns.Columns);
                AfterWrite?.Invoke("metrics");
                Saved?.Invoke(new RunResult(history.ToArray(), folder));
                AfterWrite?.Invoke("summary");
            }
            best = Math.Max(best, evaluation.Top1);
            observer.OnEpoch(metrics, options.Epochs);
        }
        return new RunResult(history, folder);
    }

    /// <summary>
    /// Makes <c>best.ckpt</c> and <c>metrics.csv</c> agree with the record in <c>last.ckpt</c> after a kill: the best
    /// epoch is decided from the record, and when it is the last one, <c>best.ckpt</c> is its copy.
    /// </summary>
    private void Reconcile(RunFolder runFolder, List<EpochMetrics> history, List<string> terms, IReadOnlyList<string> accuracyColumns)
    {
        if (history.Count == 0) return;
        var bestEpoch = RunResult.BestOf(history).Epoch;
        int? bestSaved = null;
        if (File.Exists(runFolder.BestCheckpoint))
        {
            try
            {
                bestSaved = Checkpoint.ReadHeader(runFolder.BestCheckpoint).Epoch;
            }
            catch (DistillSharpException e)
            {
                observer.OnMessage($"warning: {e.Message}");
            }
        }
        if (bestSaved != bestEpoch)
        {
            if (bestEpoch == history[^1].Epoch)
            {
                CopyCheckpoint(runFolder.LastCheckpoint, runFolder.BestCheckpoint);
                observer.OnMessage($"best.ckpt {(bestSaved is int s ? $"held epoch {s}" : "was missing")}; the record's best is epoch {bestEpoch}, the last one: copied last.ckpt to it");
            }
            else
            {
                observer.OnMessage($"warning: best.ckpt {(bestSaved is int s ? $"holds epoch {s}" : "is missing")} but the record's best is epoch {bestEpoch}; that epoch's weights are not in the folder any more");
            }
        }

        var expected = RunFolder.MetricsText(history, terms, accuracyColumns);
        string? actual = File.Exists(runFolder.Metrics) ? File.ReadAllText(runFolder.Metrics) : null;
        if (actual != expected)
        {
            if (actual is not null && !IsPrefixOf(actual, expected))
            {
                observer.OnMessage($"warning: {runFolder.Metrics} did not match the record in last.ckpt (epochs 1-{history[^1].Epoch}); rewritten from it");
            }
            runFolder.WriteMetrics(history, terms, accuracyColumns);
        }
    }

    // A kill between last.ckpt and metrics.csv leaves a metrics.csv that is the record without its last rows.
    private static bool IsPrefixOf(string actual, string expected) => expected.StartsWith(actual, StringComparison.Ordinal);

    private static void CopyCheckpoint(string from, string to) =>
        AtomicFile.Write(to, target =>
        {
            using var source = File.OpenRead(from);
            source.CopyTo(target);
        });
}

/// <summary>
/// Writes a warning naming each unreadable image the first time a run meets it (an epoch meets the same files again)
/// and counts every skip, for the trainer's per-epoch total.
/// </summary>
internal sealed class SkipLog(ITrainingObserver observer)
{
    private readonly HashSet<string> warned = new(StringComparer.Ordinal);

    /// <summary>Warns about the images not seen before; returns how many were skipped.</summary>
    public int Report(IReadOnlyList<SkippedImage> skipped)
    {
        foreach (var s in skipped)
        {
            if (warned.Add(s.Path)) observer.OnMessage(s.ToString());
        }
        return skipped.Count;
    }
}
