using System.Text;

namespace DistillSharp.Notebooks;

/// <summary>
/// Collects the outputs of the cell being executed, in order: console text (consecutive writes to one stream
/// merge into one output, as Jupyter shows them) and displayed values. Thread-safe: code in a cell may write from
/// several threads. Each piece is also passed to the run's observer, so it shows in the terminal as it happens.
/// </summary>
internal sealed class CellOutputSink
{
    [ThreadStatic]
    private static bool notifying;

    private readonly object gate = new();
    private readonly List<CellOutput> outputs = new();
    private readonly INotebookRunObserver? observer;
    private readonly string label;

    public CellOutputSink(string label, INotebookRunObserver? observer)
    {
        this.label = label;
        this.observer = observer;
    }

    /// <summary>
    /// Whether this thread is inside an observer call: what the observer writes to the console (it may hold the
    /// routed <see cref="Console.Out"/>) goes to the terminal, not back into the cell.
    /// </summary>
    public static bool Notifying => notifying;

    public void WriteStream(string name, string text)
    {
        if (text.Length == 0) return;
        lock (gate)
        {
            if (outputs.Count > 0 && outputs[^1] is StreamOutput last && last.Name == name)
            {
                last.Text += text;
            }
            else
            {
                outputs.Add(new StreamOutput(name, text));
            }
        }
        Notify(() => observer?.CellWrote(label, name, text));
    }

    public int AddRich(RichOutput output)
    {
        int index;
        lock (gate)
        {
            outputs.Add(output);
            index = outputs.Count - 1;
        }
        Notify(() => observer?.CellDisplayed(label, output));
        return index;
    }

    public void ReplaceRich(int index, RichOutput output)
    {
        lock (gate)
        {
            if (index >= 0 && index < outputs.Count)
            {
                outputs[index] = output;
            }
        }
        Notify(() => observer?.CellDisplayed(label, output));
    }

    public void Add(CellOutput output)
    {
        lock (gate)
        {
            outputs.Add(output);
        }
    }

    private static void Notify(Action call)
    {
        if (notifying) return;
        notifying = true;
        try
        {
            call();
        }
        finally
        {
            notifying = false;
        }
    }

    public List<CellOutput> Snapshot()
    {
        lock (gate)
        {
            return outputs.Select(o => o.Clone()).ToList();
        }
    }
}

/// <summary>
/// Installed once as <see cref="Console.Out"/> and <see cref="Console.Error"/>: sends what code of a running
/// notebook writes to its cell's outputs (the run is found through <see cref="NotebookContext.Current"/>, so two runs
/// in one process keep their text apart), and everything else to the original console writer.
/// </summary>
internal sealed class ConsoleRouter : TextWriter
{
    private static readonly object InstallGate = new();
    private static bool installed;

    private readonly TextWriter original;
    private readonly string stream;

    private ConsoleRouter(TextWriter original, string stream)
    {
        this.original = original;
        this.stream = stream;
    }

    public override Encoding Encoding => original.Encoding;

    public static void Install()
    {
        lock (InstallGate)
        {
            if (installed) return;
            Console.SetOut(new ConsoleRouter(Console.Out, "stdout"));
            Console.SetError(new ConsoleRouter(Console.Error, "stderr"));
            installed = true;
        }
    }

    public override void Write(char value) => Write(value.ToString());

    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    public override void Write(ReadOnlySpan<char> buffer) => Write(buffer.ToString());

    public override void Write(string? value)
    {
        if (string.IsNullOrEmpty(value)) return;
        if (NotebookContext.Current?.Sink is { } sink && !CellOutputSink.Notifying)
        {
            sink.WriteStream(stream, value);
        }
        else
        {
            original.Write(value);
        }
    }

    public override void WriteLine(string? value) => Write((value ?? "") + CoreNewLineStr);

    public override void WriteLine() => Write(CoreNewLineStr);

    public override void Flush()
    {
        if (NotebookContext.Current?.Sink is null || CellOutputSink.Notifying)
        {
            original.Flush();
        }
    }

    private string CoreNewLineStr => new(CoreNewLine);
}
