using System.Diagnostics;
using DistillSharp.Notebooks;

namespace DistillSharp.Cli;

/// <summary>
/// Shows a notebook run in the terminal as it happens: what the cells print passes through at once, and the running
/// cell and its elapsed time show on a status line updated in place (on a terminal), or as a line at the start and
/// end of each cell (when the output is redirected to a file or a pipe).
/// </summary>
internal sealed class TerminalProgress : INotebookRunObserver, IDisposable
{
    private readonly object gate = new();
    private readonly TextWriter output;
    private readonly TextWriter error;
    private readonly bool interactive;
    private readonly Stopwatch cellClock = new();
    private Timer? timer;
    private string? label;
    private bool statusShown;
    private bool atLineStart = true;

    public TerminalProgress(TextWriter output, TextWriter error, bool interactive)
    {
        this.output = output;
        this.error = error;
        this.interactive = interactive;
    }

    public void CellStarted(string label)
    {
        lock (gate)
        {
            this.label = label;
            cellClock.Restart();
            if (interactive)
            {
                DrawStatus();
                timer = new Timer(_ => Tick(), null, 1000, 1000);
            }
            else
            {
                error.WriteLine($"[{label}] running");
                error.Flush();
            }
        }
    }

    public void CellWrote(string label, string stream, string text)
    {
        lock (gate)
        {
            ClearStatus();
            var target = stream == "stderr" ? error : output;
            target.Write(text);
            target.Flush();
            atLineStart = text.EndsWith('\n');
            DrawStatus();
        }
    }

    public void CellDisplayed(string label, RichOutput shown)
    {
        var text = shown.GetText(DisplayFormatters.PlainText) ?? "";
        CellWrote(label, "stdout", (atLineStart ? "" : "\n") + text + "\n");
    }

    public void CellFinished(string label, TimeSpan elapsed, ErrorOutput? failure)
    {
        lock (gate)
        {
            timer?.Dispose();
            timer = null;
            ClearStatus();
            if (!atLineStart)
            {
                output.WriteLine();
                atLineStart = true;
            }
            error.WriteLine(failure is null ? $"[{label}] done in {Format(elapsed)}"
                : failure.Name == NotebookRunner.InterruptName ? $"[{label}] interrupted after {Format(elapsed)}"
                : $"[{label}] failed after {Format(elapsed)}: {failure.Name}: {failure.Value}");
            error.Flush();
            this.label = null;
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            timer?.Dispose();
            timer = null;
            ClearStatus();
        }
    }

    private void Tick()
    {
        lock (gate)
        {
            DrawStatus();
        }
    }

    private void DrawStatus()
    {
        if (!interactive || label is null || !atLineStart) return;
        error.Write($"\r\u001b[2K[{label}] running {Format(cellClock.Elapsed)}");
        error.Flush();
        statusShown = true;
    }

    private void ClearStatus()
    {
        if (!statusShown) return;
        error.Write("\r\u001b[2K");
        error.Flush();
        statusShown = false;
    }

    private static string Format(TimeSpan elapsed) =>
        elapsed.TotalHours >= 1 ? elapsed.ToString(@"h\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture)
        : elapsed.TotalMinutes >= 1 ? elapsed.ToString(@"m\:ss", System.Globalization.CultureInfo.InvariantCulture)
        : $"{elapsed.TotalSeconds:0.0} s";
}
