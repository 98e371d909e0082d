namespace DistillSharp.Notebooks;

/// <summary>
/// The globals of a notebook's scripting session: what cells can call without a prefix, as in .NET Interactive.
/// </summary>
public class NotebookGlobals
{
    /// <summary>
    /// Shows <paramref name="value"/> as a <c>display_data</c> output of the running cell, formatted by
    /// <see cref="DisplayFormatters"/> (a chart as HTML, a data frame as a table, anything else as text).
    /// Returns a handle whose <see cref="DisplayHandle.Update"/> replaces the shown value in place.
    /// </summary>
#pragma warning disable IDE1006 // lower-case name: the same call as in .NET Interactive notebooks
    public DisplayHandle display(object? value) => DisplayHandle.Show(value);
#pragma warning restore IDE1006
}

/// <summary>A value shown with <c>display(value)</c>; <see cref="Update"/> replaces it in the cell's outputs.</summary>
public sealed class DisplayHandle
{
    private readonly CellOutputSink? sink;
    private readonly int index;

    private DisplayHandle(CellOutputSink? sink, int index)
    {
        this.sink = sink;
        this.index = index;
    }

    /// <summary>Replaces the shown value with <paramref name="value"/>.</summary>
    public void Update(object? value)
    {
        if (sink is null)
        {
            Console.WriteLine(DisplayFormatters.Format(value)[DisplayFormatters.PlainText]);
            return;
        }
        var output = new DisplayDataOutput();
        output.SetData(DisplayFormatters.Format(value));
        sink.ReplaceRich(index, output);
    }

    /// <summary>
    /// Shows <paramref name="value"/> in the running cell's outputs; outside a notebook run, prints its
    /// <c>text/plain</c> form to the console.
    /// </summary>
    public static DisplayHandle Show(object? value)
    {
        var sink = NotebookContext.Current?.Sink;
        if (sink is null)
        {
            Console.WriteLine(DisplayFormatters.Format(value)[DisplayFormatters.PlainText]);
            return new DisplayHandle(null, -1);
        }
        var output = new DisplayDataOutput();
        output.SetData(DisplayFormatters.Format(value));
        return new DisplayHandle(sink, sink.AddRich(output));
    }
}
