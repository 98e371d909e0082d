using DistillSharp.Training;

namespace DistillSharp.Cli;

/// <summary>
/// The terminal's view of a run: a live line rewritten in place (epoch, step, loss, accuracy, images/s, ETA) when the
/// output is a terminal, a line every tenth of an epoch when it is a file or a pipe, and one line per finished epoch.
/// </summary>
internal sealed class ConsoleProgress(TextWriter output, bool interactive) : ITrainingObserver
{
    private DateTime lastDraw = DateTime.MinValue;
    private int lastDecile = -1;

    public void OnStep(StepProgress p)
    {
        string line = $"epoch {p.Epoch}/{p.TotalEpochs}  step {p.Step}/{p.StepsPerEpoch}  loss {p.Loss:F4}  top1 {p.Top1:F2}%  {p.ImagesPerSecond:F0} img/s  ETA {Format(p.Remaining)}";
        if (interactive)
        {
            if ((DateTime.UtcNow - lastDraw).TotalMilliseconds < 200 && p.Step != p.StepsPerEpoch) return;
            lastDraw = DateTime.UtcNow;
            output.Write("\r" + line.PadRight(Math.Max(line.Length, 100)));
            output.Flush();
        }
        else
        {
            int decile = p.Step * 10 / Math.Max(1, p.StepsPerEpoch);
            if (decile == lastDecile) return;
            lastDecile = decile;
            output.WriteLine(line);
        }
    }

    public void OnEpoch(EpochMetrics m, int totalEpochs)
    {
        if (interactive) output.Write("\r" + new string(' ', 120) + "\r");
        lastDecile = -1;
        var terms = string.Join("  ", m.Losses.Select(kv => $"{kv.Key} {kv.Value:F4}"));
        output.WriteLine($"epoch {m.Epoch}/{totalEpochs}  lr {m.LearningRate:G4}  {terms}  train top1 {m.TrainTop1:F2}%  test top1 {m.TestTop1:F2}%  top5 {m.TestTop5:F2}%{m.NamedTestTop1()}  ({m.Seconds:F1} s)");
    }

    public void OnMessage(string message) => output.WriteLine(message);

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : $"{t.Minutes}m{t.Seconds:D2}s";
}
