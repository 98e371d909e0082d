using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DistillSharp.Training;

namespace DistillSharp.Notebooks;

/// <summary>
/// Reads and writes nbformat 4 <c>.ipynb</c> files. Reading accepts sources and multi-line outputs as a string or as
/// an array of lines; writing produces what Jupyter writes: arrays of lines, keys sorted, one-space indentation,
/// non-ASCII kept as is. A notebook whose minor version is 5 or more, or any of whose cells has an id, is written
/// as nbformat 4.5 with an id on every cell (missing ids are generated and stored on the cells); otherwise it is
/// written as the 4.x it was read as, without ids.
/// </summary>
public static partial class NotebookFile
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        IndentSize = 1,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Reads the notebook at <paramref name="path"/>.</summary>
    /// <exception cref="DistillSharpException">The file is missing, is not JSON, or is not an nbformat 4 notebook.</exception>
    public static Notebook Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DistillSharpException($"cannot read notebook {path}: {e.Message}", e);
        }
        return Parse(text, path);
    }

    /// <summary>Parses notebook JSON; <paramref name="sourceName"/> names it in error messages.</summary>
    /// <exception cref="DistillSharpException">The text is not JSON or not an nbformat 4 notebook.</exception>
    public static Notebook Parse(string json, string sourceName = "notebook")
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false });
        }
        catch (JsonException e)
        {
            throw new DistillSharpException($"{sourceName} is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
        }
        if (root is not JsonObject top)
        {
            throw Invalid(sourceName, "the top level is not a JSON object");
        }

        int major = ReadInt(top, "nbformat", sourceName) ?? throw Invalid(sourceName, "it has no \"nbformat\" version");
        if (major != 4)
        {
            throw new DistillSharpException(
                $"{sourceName} is nbformat {major}; DistillSharp reads nbformat 4 (convert it with: jupyter nbconvert --to notebook --nbformat 4 {sourceName}).");
        }
        var notebook = new Notebook
        {
            FormatMajor = major,
            FormatMinor = ReadInt(top, "nbformat_minor", sourceName) ?? 0,
            Metadata = top["metadata"] switch
            {
                JsonObject m => (JsonObject)m.DeepClone(),
                null => new JsonObject(),
                _ => throw Invalid(sourceName, "\"metadata\" is not an object"),
            },
        };

        if (top["cells"] is not JsonArray cells)
        {
            throw Invalid(sourceName, "it has no \"cells\" array");
        }
        for (int i = 0; i < cells.Count; i++)
        {
            notebook.Cells.Add(ReadCell(cells[i], $"{sourceName}, cell {i + 1}"));
        }
        return notebook;
    }

    /// <summary>Writes <paramref name="notebook"/> to <paramref name="path"/> atomically (see <see cref="AtomicFile"/>).</summary>
    public static void Write(Notebook notebook, string path) => AtomicFile.WriteAllText(path, Serialize(notebook));

    /// <summary>The notebook as nbformat 4 JSON text (ending in a newline, as Jupyter writes it).</summary>
    public static string Serialize(Notebook notebook)
    {
        bool withIds = notebook.FormatMinor >= 5 || notebook.Cells.Any(c => c.Id is not null);
        if (withIds)
        {
            EnsureCellIds(notebook);
        }

        var cells = new JsonArray();
        foreach (var cell in notebook.Cells)
        {
            cells.Add(WriteCell(cell, withIds));
        }
        var top = new JsonObject
        {
            ["cells"] = cells,
            ["metadata"] = notebook.Metadata.DeepClone(),
            ["nbformat"] = notebook.FormatMajor,
            ["nbformat_minor"] = withIds ? Math.Max(5, notebook.FormatMinor) : notebook.FormatMinor,
        };

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteSorted(writer, top);
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Gives every cell a unique id matching nbformat's pattern, keeping the valid, unique ids it has.</summary>
    public static void EnsureCellIds(Notebook notebook)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var cell in notebook.Cells)
        {
            if (cell.Id is { } id && CellIdPattern().IsMatch(id) && seen.Add(id))
            {
                continue;
            }
            string fresh;
            do
            {
                fresh = Guid.NewGuid().ToString("N")[..8];
            }
            while (!seen.Add(fresh));
            cell.Id = fresh;
        }
    }

    /// <summary>Splits text into the lines nbformat stores: each keeps its trailing newline; the last may lack one.</summary>
    public static IReadOnlyList<string> SplitLines(string text)
    {
        var lines = new List<string>();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                lines.Add(text[start..(i + 1)]);
                start = i + 1;
            }
        }
        if (start < text.Length)
        {
            lines.Add(text[start..]);
        }
        return lines;
    }

    [GeneratedRegex("^[a-zA-Z0-9-_]{1,64}$")]
    private static partial Regex CellIdPattern();

    private static NotebookCell ReadCell(JsonNode? node, string where)
    {
        if (node is not JsonObject obj)
        {
            throw Invalid(where, "the cell is not a JSON object");
        }
        var type = ReadString(obj, "cell_type", where) switch
        {
            "code" => CellType.Code,
            "markdown" => CellType.Markdown,
            "raw" => CellType.Raw,
            null => throw Invalid(where, "the cell has no \"cell_type\""),
            var other => throw Invalid(where, $"unknown cell_type \"{other}\" (expected code, markdown or raw)"),
        };
        var cell = new NotebookCell(type, ReadMultiline(obj["source"], where, "source") ?? "")
        {
            Id = ReadString(obj, "id", where),
            Metadata = obj["metadata"] switch
            {
                JsonObject m => (JsonObject)m.DeepClone(),
                null => new JsonObject(),
                _ => throw Invalid(where, "\"metadata\" is not an object"),
            },
            Attachments = obj["attachments"] as JsonObject is { } a ? (JsonObject)a.DeepClone() : null,
        };
        if (type == CellType.Code)
        {
            cell.ExecutionCount = ReadInt(obj, "execution_count", where);
            if (obj["outputs"] is JsonArray outputs)
            {
                for (int i = 0; i < outputs.Count; i++)
                {
                    cell.Outputs.Add(ReadOutput(outputs[i], $"{where}, output {i + 1}"));
                }
            }
        }
        return cell;
    }

    private static CellOutput ReadOutput(JsonNode? node, string where)
    {
        if (node is not JsonObject obj)
        {
            throw Invalid(where, "the output is not a JSON object");
        }
        switch (ReadString(obj, "output_type", where))
        {
            case "stream":
                return new StreamOutput(ReadString(obj, "name", where) ?? "stdout", ReadMultiline(obj["text"], where, "text") ?? "");
            case "display_data":
                return ReadRich(new DisplayDataOutput(), obj, where);
            case "execute_result":
                var result = ReadRich(new ExecuteResultOutput(), obj, where);
                result.ExecutionCount = ReadInt(obj, "execution_count", where);
                return result;
            case "error":
                var traceback = obj["traceback"] is JsonArray lines
                    ? lines.Select(l => l?.GetValue<string>() ?? "")
                    : Enumerable.Empty<string>();
                return new ErrorOutput(ReadString(obj, "ename", where) ?? "", ReadString(obj, "evalue", where) ?? "", traceback);
            case var other:
                throw Invalid(where, $"unknown output_type \"{other}\" (expected stream, display_data, execute_result or error)");
        }
    }

    private static T ReadRich<T>(T output, JsonObject obj, string where) where T : RichOutput
    {
        if (obj["data"] is JsonObject data)
        {
            foreach (var (mime, value) in data)
            {
                output.Data[mime] = CellOutput.IsJsonMimeType(mime)
                    ? value?.DeepClone()
                    : JsonValue.Create(ReadMultiline(value, where, $"data[{mime}]") ?? "");
            }
        }
        if (obj["metadata"] is JsonObject metadata)
        {
            output.Metadata = (JsonObject)metadata.DeepClone();
        }
        return output;
    }

    private static JsonObject WriteCell(NotebookCell cell, bool withId)
    {
        var obj = new JsonObject
        {
            ["cell_type"] = cell.Type switch { CellType.Code => "code", CellType.Markdown => "markdown", _ => "raw" },
            ["metadata"] = cell.Metadata.DeepClone(),
            ["source"] = Lines(cell.Source),
        };
        if (withId)
        {
            obj["id"] = cell.Id;
        }
        if (cell.Type == CellType.Code)
        {
            obj["execution_count"] = cell.ExecutionCount is { } n ? JsonValue.Create(n) : null;
            obj["outputs"] = new JsonArray(cell.Outputs.Select(WriteOutput).ToArray<JsonNode?>());
        }
        else if (cell.Attachments is not null)
        {
            obj["attachments"] = cell.Attachments.DeepClone();
        }
        return obj;
    }

    private static JsonObject WriteOutput(CellOutput output)
    {
        var obj = new JsonObject { ["output_type"] = output.OutputType };
        switch (output)
        {
            case StreamOutput s:
                obj["name"] = s.Name;
                obj["text"] = Lines(s.Text);
                break;
            case RichOutput r:
                var data = new JsonObject();
                foreach (var (mime, value) in r.Data)
                {
                    data[mime] = CellOutput.IsJsonMimeType(mime) ? value?.DeepClone() : Lines(r.GetText(mime) ?? "");
                }
                obj["data"] = data;
                obj["metadata"] = r.Metadata.DeepClone();
                if (r is ExecuteResultOutput result)
                {
                    obj["execution_count"] = result.ExecutionCount is { } n ? JsonValue.Create(n) : null;
                }
                break;
            case ErrorOutput e:
                obj["ename"] = e.Name;
                obj["evalue"] = e.Value;
                obj["traceback"] = new JsonArray(e.Traceback.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray());
                break;
        }
        return obj;
    }

    private static JsonArray Lines(string text) =>
        new(SplitLines(text).Select(l => (JsonNode?)JsonValue.Create(l)).ToArray());

    private static void WriteSorted(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject obj:
                writer.WriteStartObject();
                foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(key);
                    WriteSorted(writer, value);
                }
                writer.WriteEndObject();
                break;
            case JsonArray array:
                writer.WriteStartArray();
                foreach (var item in array)
                {
                    WriteSorted(writer, item);
                }
                writer.WriteEndArray();
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }

    private static string? ReadMultiline(JsonNode? node, string where, string field) =>
        node switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out string? s) => s,
            JsonArray a => string.Concat(a.Select(x => x is JsonValue xv && xv.TryGetValue(out string? xs)
                ? xs
                : throw Invalid(where, $"\"{field}\" has an entry that is not a string"))),
            _ => throw Invalid(where, $"\"{field}\" is neither a string nor an array of strings"),
        };

    private static string? ReadString(JsonObject obj, string key, string where) =>
        obj[key] switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out string? s) => s,
            _ => throw Invalid(where, $"\"{key}\" is not a string"),
        };

    private static int? ReadInt(JsonObject obj, string key, string where) =>
        obj[key] switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out int n) => n,
            JsonValue v when v.TryGetValue(out double d) && d == Math.Floor(d) => (int)d,
            var other => throw Invalid(where, $"\"{key}\" is not an integer ({other.ToJsonString()})"),
        };

    private static DistillSharpException Invalid(string where, string what) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{where} is not a valid nbformat 4 notebook: {what}."));
}
