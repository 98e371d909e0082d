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

    /// <summary>The epoch with the best test top-1.</summary>
    public EpochMetrics Best => Epochs.MaxBy(e => e.TestTop1)!;
}

/// <summary>
/// Trains any <see cref="Distiller"/> (it knows no method by name): SGD with momentum and weight decay over the
/// student and the method's parts, the learning-rate schedule per step, one DisposeScope per step, evaluation and
/// an atomic checkpoint after every epoch, and resumption from the last checkpoint.
/// </summary>
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
    /// <param name="distiller">The method with its student (and teacher), already on its device.</param>
    /// <param name="train">Training batches (shuffled, augmented).</param>
    /// <param name="test">Test batches.</param>
    /// <param name="options">The recipe.</param>
    /// <param name="folder">Where metrics and checkpoints go; null keeps everything in memory.</param>
    /// <param name="observer">Progress sink.</param>
    /// <param name="header">The checkpoint header for a given epoch (model name, dataset, ...).</param>
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

    /// <summary>
    /// Trains from epoch 1, or, with <paramref name="resume"/> and a last checkpoint in the run folder, from the
    /// epoch after it (the same final weights as an uninterrupted run on CPU with the same seed).
    /// </summary>
    public RunResult Fit(bool resume = false, CancellationToken cancel = default)
    {
        var schedule = options.CreateSchedule();
        using var optimizer = optim.SGD(distiller.parameters(), options.LearningRate, options.Momentum, 0,
            options.WeightDecay, options.Nesterov);
        var runner = new TrainingStepRunner(distiller, optimizer);
        var history = new List<EpochMetrics>();
        var terms = new List<string>();
        int start = 1;
        if (resume && folder is not null && File.Exists(folder.LastCheckpoint))
        {
            var restored = Checkpoint.Restore(folder.LastCheckpoint, distiller, optimizer);
            start = restored.Epoch + 1;
            if (File.Exists(folder.Metrics))
            {
                history.AddRange(EpochMetrics.ReadCsv(folder.Metrics).Where(m => m.Epoch <= restored.Epoch));
                foreach (var t in history.SelectMany(h => h.Losses.Keys)) if (!terms.Contains(t)) terms.Add(t);
            }
            observer.OnMessage($"resumed from {folder.LastCheckpoint} after epoch {restored.Epoch}");
        }

        double best = history.Count > 0 ? history.Max(h => h.TestTop1) : double.NegativeInfinity;
        var clock = Stopwatch.StartNew();
        int stepsDone = 0;
        for (int epoch = start; epoch <= options.Epochs; epoch++)
        {
            cancel.ThrowIfCancellationRequested();
            var epochClock = Stopwatch.StartNew();
            distiller.BeginEpoch(epoch, options.Epochs);
            distiller.train();
            var sums = new Dictionary<string, double>();
            double correct1 = 0, correct5 = 0, totalLoss = 0;
            long seen = 0;
            int step = 0;
            int steps = train.BatchesPerEpoch;
            double lr = schedule.At(epoch);
            foreach (var batch in train.Epoch(epoch))
            {
                using var owned = batch;
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

                for (int i = 0; i < names.Length; i++)
                {
                    sums[names[i]] = sums.GetValueOrDefault(names[i]) + values[i];
                    if (!terms.Contains(names[i])) terms.Add(names[i]);
                }
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
            if (step == 0) throw new DistillSharpException("the training set gave no batch: is it smaller than --batch-size with drop-last?");

            var (testLoss, top1, top5) = Evaluation.Run(distiller, test);
            var metrics = new EpochMetrics(epoch, lr, sums.ToDictionary(kv => kv.Key, kv => kv.Value / step),
                100.0 * correct1 / seen, 100.0 * correct5 / seen, testLoss, top1, top5, epochClock.Elapsed.TotalSeconds);
            history.Add(metrics);
            if (folder is not null)
            {
                folder.WriteMetrics(history, terms);
                Checkpoint.Save(folder.LastCheckpoint, header(epoch) with { Epoch = epoch, TestTop1 = top1 }, distiller, optimizer);
                if (top1 > best)
                {
                    Checkpoint.Save(folder.BestCheckpoint, header(epoch) with { Epoch = epoch, TestTop1 = top1 }, distiller, optimizer);
                }
            }
            best = Math.Max(best, top1);
            observer.OnEpoch(metrics, options.Epochs);
        }
        return new RunResult(history, folder);
    }
}
