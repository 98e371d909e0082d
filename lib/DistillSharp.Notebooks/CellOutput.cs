using System.Text.Json.Nodes;

namespace DistillSharp.Notebooks;

/// <summary>
/// One output of a code cell, as nbformat 4 stores it: <see cref="StreamOutput"/> (console text),
/// <see cref="DisplayDataOutput"/> (a displayed value), <see cref="ExecuteResultOutput"/> (the value of the cell's
/// trailing expression) or <see cref="ErrorOutput"/> (the exception that stopped the cell).
/// </summary>
public abstract class CellOutput
{
    /// <summary>The nbformat <c>output_type</c>: stream, display_data, execute_result or error.</summary>
    public abstract string OutputType { get; }

    /// <summary>A deep copy of this output.</summary>
    public abstract CellOutput Clone();

    /// <summary>Whether <paramref name="mimeType"/> holds JSON (its value is any JSON, not a multi-line string).</summary>
    public static bool IsJsonMimeType(string mimeType) =>
        mimeType == "application/json" || (mimeType.StartsWith("application/", StringComparison.Ordinal) && mimeType.EndsWith("+json", StringComparison.Ordinal));
}

/// <summary>Text written to standard output (<c>stdout</c>) or standard error (<c>stderr</c>).</summary>
public sealed class StreamOutput : CellOutput
{
    /// <summary>Creates a stream output.</summary>
    public StreamOutput(string name, string text)
    {
        Name = name;
        Text = text;
    }

    /// <inheritdoc />
    public override string OutputType => "stream";

    /// <summary>The stream: <c>stdout</c> or <c>stderr</c>.</summary>
    public string Name { get; set; }

    /// <summary>The text written, newlines included.</summary>
    public string Text { get; set; }

    /// <inheritdoc />
    public override CellOutput Clone() => new StreamOutput(Name, Text);
}

/// <summary>A value shown in several representations at once: a MIME bundle (<c>text/plain</c>, <c>text/html</c>, ...).</summary>
public abstract class RichOutput : CellOutput
{
    /// <summary>The MIME bundle: text types map to strings, JSON types (<c>application/json</c>, <c>*+json</c>) to JSON.</summary>
    public JsonObject Data { get; set; } = new();

    /// <summary>Per-output metadata (sizes, ...), kept as read.</summary>
    public JsonObject Metadata { get; set; } = new();

    /// <summary>The text of <paramref name="mimeType"/>, or null when the bundle has no such entry.</summary>
    public string? GetText(string mimeType) =>
        Data[mimeType] switch
        {
            JsonValue v when v.TryGetValue(out string? s) => s,
            JsonArray a => string.Concat(a.Select(x => x?.GetValue<string>() ?? "")),
            null => null,
            var other => other.ToJsonString(),
        };

    /// <summary>Fills <see cref="Data"/> from text representations (MIME type to text).</summary>
    public void SetData(IEnumerable<KeyValuePair<string, string>> bundle)
    {
        Data = new JsonObject();
        foreach (var (mime, text) in bundle)
        {
            Data[mime] = IsJsonMimeType(mime) ? JsonNode.Parse(text) : JsonValue.Create(text);
        }
    }

    /// <summary>Copies the data and metadata of this output into <paramref name="target"/>.</summary>
    protected T CopyTo<T>(T target) where T : RichOutput
    {
        target.Data = (JsonObject)Data.DeepClone();
        target.Metadata = (JsonObject)Metadata.DeepClone();
        return target;
    }
}

/// <summary>A value shown with <c>display(value)</c> (or <c>value.Display()</c>).</summary>
public sealed class DisplayDataOutput : RichOutput
{
    /// <inheritdoc />
    public override string OutputType => "display_data";

    /// <inheritdoc />
    public override CellOutput Clone() => CopyTo(new DisplayDataOutput());
}

/// <summary>The value of a cell's trailing expression (a last line without a semicolon).</summary>
public sealed class ExecuteResultOutput : RichOutput
{
    /// <summary>The execution count of the cell that produced the value.</summary>
    public int? ExecutionCount { get; set; }

    /// <inheritdoc />
    public override string OutputType => "execute_result";

    /// <inheritdoc />
    public override CellOutput Clone() => CopyTo(new ExecuteResultOutput { ExecutionCount = ExecutionCount });
}

/// <summary>The error that stopped a cell: its type name, its message and a traceback (one string per line).</summary>
public sealed class ErrorOutput : CellOutput
{
    /// <summary>Creates an error output.</summary>
    public ErrorOutput(string name, string value, IEnumerable<string> traceback)
    {
        Name = name;
        Value = value;
        Traceback = traceback.ToList();
    }

    /// <inheritdoc />
    public override string OutputType => "error";

    /// <summary>The error's type name (nbformat <c>ename</c>), e.g. <c>System.InvalidOperationException</c>.</summary>
    public string Name { get; set; }

    /// <summary>The error's message (nbformat <c>evalue</c>).</summary>
    public string Value { get; set; }

    /// <summary>The traceback, one line per entry; the first names the cell and line of the failure.</summary>
    public List<string> Traceback { get; }

    /// <inheritdoc />
    public override CellOutput Clone() => new ErrorOutput(Name, Value, Traceback);
}
