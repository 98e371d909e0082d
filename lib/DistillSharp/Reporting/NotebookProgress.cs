using System.Globalization;
using DistillSharp.Training;

namespace DistillSharp.Reporting;

/// <summary>
/// A run's progress in a notebook cell: one displayed status line updated in place (epoch, step, running loss and
/// training top-1, images per second, time left), redrawn at most once per <see cref="Interval"/> and at the end of
/// every epoch (then with the test accuracy and the time so far), plus one printed line per finished epoch, which
/// stays in the cell's output as the run's log.
/// </summary>
/// <remarks>
/// By default the status goes through the notebook host's display (<see cref="NotebookHost.Display"/>: the
/// <c>display</c> of <c>distill run</c>); with no host, each status is printed as a line. Under .NET Interactive, pass
/// its own <c>display</c> so the status updates in place there too; the same source compiles in both: <c>new NotebookProgress("teacher", v =&gt; { var shown = display(v); return u =&gt; shown.Update(u); })</c>.
/// </remarks>
public sealed class NotebookProgress : ITrainingObserver
{
    /// <summary>The shortest time between two redraws of the status within an epoch.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(2);

    private readonly string title;
    private readonly Func<object?, Action<object?>> show;
    private readonly TextWriter? lines;
    private readonly TimeProvider clock;
    private Action<object?>? update;
    private DateTimeOffset lastDraw;
    private double secondsSoFar;
    private double bestTop1 = double.NegativeInfinity;

    /// <summary>Creates the observer; nothing is shown until the run reports its first step.</summary>
    /// <param name="title">What is training, at the start of every line (e.g. <c>teacher resnet20</c>).</param>
    /// <param name="show">Shows a value and returns the action that replaces it (default: <see cref="NotebookHost.Display"/>, else a printed line per status).</param>
    /// <param name="lines">Where the per-epoch lines go (default: <see cref="Console.Out"/> at the time of writing).</param>
    /// <param name="clock">The clock of the throttle (default: the system clock).</param>
    /// <param name="interval">The shortest time between two redraws within an epoch (default <see cref="DefaultInterval"/>).</param>
    public NotebookProgress(string title, Func<object?, Action<object?>>? show = null, TextWriter? lines = null,
        TimeProvider? clock = null, TimeSpan? interval = null)
    {
        this.title = title;
        this.show = show ?? NotebookHost.Display ?? PrintStatus;
        this.lines = lines;
        this.clock = clock ?? TimeProvider.System;
        Interval = interval ?? DefaultInterval;
        if (Interval < TimeSpan.Zero)
        {
            throw new DistillSharpException($"NotebookProgress interval must not be negative; got {Interval}.");
        }
    }

    /// <summary>The shortest time between two redraws of the status within an epoch.</summary>
    public TimeSpan Interval { get; }

    /// <inheritdoc />
    public void OnStep(StepProgress progress)
    {
        var now = clock.GetUtcNow();
        if (update is not null && now - lastDraw < Interval)
        {
            return;
        }
        Draw(StatusLine(title, progress), now);
    }

    /// <inheritdoc />
    public void OnEpoch(EpochMetrics metrics, int totalEpochs)
    {
        secondsSoFar += metrics.Seconds;
        bestTop1 = Math.Max(bestTop1, metrics.TestTop1);
        Draw(EpochStatus(title, metrics, totalEpochs, secondsSoFar, bestTop1), clock.GetUtcNow());
        (lines ?? Console.Out).WriteLine(EpochLine(title, metrics, totalEpochs));
    }

    /// <inheritdoc />
    public void OnMessage(string message) => (lines ?? Console.Out).WriteLine($"{title}: {message}");

    /// <summary>
    /// The status within an epoch:
    /// <c>TITLE: epoch 2/5  step 80/157  loss 0.4123  train top-1 85.20%  1234 img/s  ETA 1m05s</c>.
    /// </summary>
    public static string StatusLine(string title, StepProgress p) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{title}: epoch {p.Epoch}/{p.TotalEpochs}  step {p.Step}/{p.StepsPerEpoch}  loss {p.Loss:F4}  train top-1 {p.Top1:F2}%  {p.ImagesPerSecond:F0} img/s  ETA {Duration(p.Remaining)}");

    /// <summary>
    /// The line of a finished epoch:
    /// <c>TITLE: epoch 2/5  lr 0.0345  ce 0.3012  kd 0.1020  train top-1 88.10%  test top-1 87.45%  top-5 99.60%  (61.2 s)</c>.
    /// </summary>
    public static string EpochLine(string title, EpochMetrics m, int totalEpochs)
    {
        var c = CultureInfo.InvariantCulture;
        var terms = string.Concat(m.Losses.Select(kv => string.Create(c, $"  {kv.Key} {kv.Value:F4}")));
        return string.Create(c,
            $"{title}: epoch {m.Epoch}/{totalEpochs}  lr {m.LearningRate:G4}{terms}  train top-1 {m.TrainTop1:F2}%  test top-1 {m.TestTop1:F2}%  top-5 {m.TestTop5:F2}%{m.NamedTestTop1()}  ({m.Seconds:F1} s)");
    }

    /// <summary>
    /// The status after an epoch: <c>TITLE: epoch 2/5 done, 2m03s so far: test top-1 87.45%</c>, and after the last
    /// one <c>TITLE: done, 5 epochs in 5m10s: test top-1 88.01% (best epoch 88.20%)</c>.
    /// </summary>
    /// <param name="title">What is training.</param>
    /// <param name="m">The finished epoch.</param>
    /// <param name="totalEpochs">Epochs in the run.</param>
    /// <param name="secondsSoFar">Seconds of the epochs this observer has seen.</param>
    /// <param name="bestTop1">The best test top-1 (%) of those epochs.</param>
    public static string EpochStatus(string title, EpochMetrics m, int totalEpochs, double secondsSoFar, double bestTop1) =>
        m.Epoch >= totalEpochs
            ? string.Create(CultureInfo.InvariantCulture,
                $"{title}: done, {totalEpochs} epoch{(totalEpochs == 1 ? "" : "s")} in {Duration(TimeSpan.FromSeconds(secondsSoFar))}: test top-1 {m.TestTop1:F2}% (best epoch {bestTop1:F2}%)")
            : string.Create(CultureInfo.InvariantCulture,
                $"{title}: epoch {m.Epoch}/{totalEpochs} done, {Duration(TimeSpan.FromSeconds(secondsSoFar))} so far: test top-1 {m.TestTop1:F2}%");

    /// <summary>A duration as <c>1h02m</c>, <c>3m05s</c> or <c>0m09s</c>.</summary>
    public static string Duration(TimeSpan t) =>
        t.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:D2}m")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes}m{t.Seconds:D2}s");

    private static Action<object?> PrintStatus(object? value)
    {
        Console.WriteLine(value);
        return update => Console.WriteLine(update);
    }

    private void Draw(string text, DateTimeOffset now)
    {
        lastDraw = now;
        if (update is null)
        {
            update = show(text);
        }
        else
        {
            update(text);
        }
    }
}
