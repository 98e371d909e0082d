using System.Collections;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Data.Analysis;
using Plotly.NET;

namespace DistillSharp.Notebooks;

/// <summary>
/// How values become notebook outputs: a registry of formatters, one per type, each turning a value into a MIME
/// bundle (MIME type to text). The formatter registered for the value's own type wins, then the one for its
/// nearest base class, then for an interface it implements; a later registration for a type replaces an earlier
/// one. Every bundle has <c>text/plain</c> (the value's <c>ToString()</c> when the formatter gives none).
/// Built in: Plotly.NET charts (<see cref="GenericChart"/>, also what Plotly.NET.CSharp returns) as
/// <see cref="DistillSharp.Reporting.ChartOutput.Bundle(GenericChart)"/> makes them (plotly JSON, HTML that loads
/// plotly.js from its CDN, never embedding it, and a static PNG); Microsoft.Data.Analysis <see cref="DataFrame"/>s as an HTML table; strings as
/// themselves; TorchSharp tensors with their values (small ones) or shape, type and device; other sequences as
/// <c>[a, b, c]</c>.
/// </summary>
public static class DisplayFormatters
{
    /// <summary>Rows of a <see cref="DataFrame"/> shown at most (the text says how many there are in all).</summary>
    public const int MaxTableRows = 50;

    /// <summary>Items of a sequence shown at most in its <c>text/plain</c>.</summary>
    public const int MaxSequenceItems = 100;

    /// <summary>Tensors with at most this many elements show their values; larger ones show shape, type and device.</summary>
    public const int MaxTensorElements = 1000;

    /// <summary>The MIME type of plain text.</summary>
    public const string PlainText = "text/plain";

    /// <summary>The MIME type of HTML.</summary>
    public const string Html = "text/html";

    private static readonly object Gate = new();
    private static Dictionary<Type, Func<object, IReadOnlyDictionary<string, string>>> formatters = CreateDefaults();

    /// <summary>Registers <paramref name="format"/> for values of type <typeparamref name="T"/> (and types derived from it).</summary>
    public static void Register<T>(Func<T, IReadOnlyDictionary<string, string>> format)
    {
        ArgumentNullException.ThrowIfNull(format);
        lock (Gate)
        {
            var copy = new Dictionary<Type, Func<object, IReadOnlyDictionary<string, string>>>(formatters)
            {
                [typeof(T)] = value => format((T)value),
            };
            formatters = copy;
        }
    }

    /// <summary>The MIME bundle for <paramref name="value"/> (<c>null</c> shows as <c>&lt;null&gt;</c>).</summary>
    public static IReadOnlyDictionary<string, string> Format(object? value)
    {
        if (value is null)
        {
            return new Dictionary<string, string> { [PlainText] = "<null>" };
        }
        var format = Find(value.GetType());
        var bundle = new Dictionary<string, string>(format is null ? new Dictionary<string, string>() : format(value), StringComparer.Ordinal);
        if (!bundle.ContainsKey(PlainText))
        {
            bundle[PlainText] = PlainTextOf(value);
        }
        return bundle;
    }

    /// <summary>A chart's HTML fragment (<see cref="DistillSharp.Reporting.ChartOutput.Html(GenericChart)"/>).</summary>
    public static string ChartHtml(GenericChart chart) => DistillSharp.Reporting.ChartOutput.Html(chart);

    /// <summary>A data frame as an HTML table (the first <see cref="MaxTableRows"/> rows).</summary>
    public static string TableHtml(DataFrame frame)
    {
        var html = new StringBuilder();
        html.Append("<table>\n<thead><tr>");
        foreach (var column in frame.Columns)
        {
            html.Append("<th>").Append(WebUtility.HtmlEncode(column.Name)).Append("</th>");
        }
        html.Append("</tr></thead>\n<tbody>\n");
        long shown = Math.Min(frame.Rows.Count, MaxTableRows);
        for (long r = 0; r < shown; r++)
        {
            html.Append("<tr>");
            foreach (var column in frame.Columns)
            {
                html.Append("<td>").Append(WebUtility.HtmlEncode(CellText(column[r]))).Append("</td>");
            }
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
        if (shown < frame.Rows.Count)
        {
            html.Append(CultureInfo.InvariantCulture, $"<p>{shown} of {frame.Rows.Count} rows shown.</p>\n");
        }
        return html.ToString();
    }

    /// <summary>A data frame as aligned plain text (the first <see cref="MaxTableRows"/> rows).</summary>
    public static string TableText(DataFrame frame)
    {
        long shown = Math.Min(frame.Rows.Count, MaxTableRows);
        var columns = frame.Columns.ToList();
        var cells = new List<string[]> { columns.Select(c => c.Name).ToArray() };
        for (long r = 0; r < shown; r++)
        {
            cells.Add(columns.Select(c => CellText(c[r])).ToArray());
        }
        var widths = Enumerable.Range(0, columns.Count).Select(i => cells.Max(row => row[i].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in cells)
        {
            text.AppendJoin("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).Append('\n');
        }
        text.Append(CultureInfo.InvariantCulture, $"({frame.Rows.Count} rows x {columns.Count} columns)");
        return text.ToString();
    }

    private static Func<object, IReadOnlyDictionary<string, string>>? Find(Type type)
    {
        var table = formatters;
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (table.TryGetValue(t, out var f) && t != typeof(object))
            {
                return f;
            }
        }
        foreach (var i in type.GetInterfaces())
        {
            if (table.TryGetValue(i, out var f))
            {
                return f;
            }
        }
        return table.GetValueOrDefault(typeof(object));
    }

    private static Dictionary<Type, Func<object, IReadOnlyDictionary<string, string>>> CreateDefaults() => new()
    {
        [typeof(GenericChart)] = value => DistillSharp.Reporting.ChartOutput.Bundle((GenericChart)value),
        [typeof(DataFrame)] = value => new Dictionary<string, string>
        {
            [Html] = TableHtml((DataFrame)value),
            [PlainText] = TableText((DataFrame)value),
        },
        [typeof(TorchSharp.torch.Tensor)] = value =>
        {
            var tensor = (TorchSharp.torch.Tensor)value;
            var text = tensor.numel() <= MaxTensorElements
                ? tensor.ToString(TorchSharp.TensorStringStyle.Numpy, "g5", 100, CultureInfo.InvariantCulture, "\n")
                : tensor.ToString();
            return new Dictionary<string, string> { [PlainText] = text };
        },
        [typeof(string)] = value => new Dictionary<string, string> { [PlainText] = (string)value },
        [typeof(IEnumerable)] = value => new Dictionary<string, string> { [PlainText] = SequenceText((IEnumerable)value) },
    };

    private static string SequenceText(IEnumerable items)
    {
        var parts = new List<string>();
        int count = 0;
        foreach (var item in items)
        {
            if (count++ < MaxSequenceItems)
            {
                parts.Add(PlainTextOf(item));
            }
        }
        var text = "[" + string.Join(", ", parts) + (count > MaxSequenceItems ? $", ... ({count} items)" : "") + "]";
        return text;
    }

    private static string PlainTextOf(object? value) =>
        value switch
        {
            null => "<null>",
            string s => s,
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };

    private static string CellText(object? value) => DistillSharp.Reporting.CsvTable.Text(value);
}
