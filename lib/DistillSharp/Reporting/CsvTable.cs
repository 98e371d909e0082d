using System.Globalization;
using System.Reflection;
using System.Text;
using DistillSharp.Training;
using Microsoft.Data.Analysis;

namespace DistillSharp.Reporting;

/// <summary>
/// A table of text cells with named columns, read from and written to CSV (RFC 4180: comma-separated, fields with
/// commas, quotes or newlines quoted, UTF-8, invariant culture: <c>0.5</c>, never <c>0,5</c>).
/// </summary>
public sealed class CsvTable
{
    /// <summary>Creates a table with <paramref name="columns"/> and no rows.</summary>
    public CsvTable(IEnumerable<string> columns)
    {
        Columns = columns.ToList();
    }

    /// <summary>The column names, in order.</summary>
    public List<string> Columns { get; }

    /// <summary>The rows; each has one cell per column.</summary>
    public List<string[]> Rows { get; } = new();

    /// <summary>The cell of <paramref name="row"/> in <paramref name="column"/> ("" when the table has no such column).</summary>
    public string Get(int row, string column)
    {
        int index = Columns.IndexOf(column);
        return index < 0 || index >= Rows[row].Length ? "" : Rows[row][index];
    }

    /// <summary>Adds a row; missing cells are empty.</summary>
    public void Add(params string[] cells)
    {
        var row = new string[Columns.Count];
        for (int i = 0; i < row.Length; i++)
        {
            row[i] = i < cells.Length ? cells[i] : "";
        }
        Rows.Add(row);
    }

    /// <summary>A copy of <paramref name="frame"/>'s cells as text (numbers in invariant culture, round-trip precision).</summary>
    public static CsvTable FromDataFrame(DataFrame frame)
    {
        var table = new CsvTable(frame.Columns.Select(c => c.Name));
        for (long r = 0; r < frame.Rows.Count; r++)
        {
            table.Rows.Add(frame.Columns.Select(c => Text(c[r])).ToArray());
        }
        return table;
    }

    /// <summary>A table with one row per record and one column per public property (or field) of <typeparamref name="T"/>.</summary>
    public static CsvTable FromRecords<T>(IEnumerable<T> rows)
    {
        var members = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.CanRead)
            .Select(p => (p.Name, Get: (Func<object, object?>)p.GetValue))
            .Concat(typeof(T).GetFields(BindingFlags.Public | BindingFlags.Instance)
                .Select(f => (f.Name, Get: (Func<object, object?>)f.GetValue)))
            .ToList();
        if (members.Count == 0)
        {
            throw new DistillSharpException($"cannot make a results table of {typeof(T).Name}: it has no public properties. Use a record such as `record Row(string Method, double Accuracy)`.");
        }
        var table = new CsvTable(members.Select(m => m.Name));
        foreach (var row in rows)
        {
            table.Rows.Add(members.Select(m => row is null ? "" : Text(m.Get(row))).ToArray());
        }
        return table;
    }

    /// <summary>Formats a value as a CSV cell: invariant culture, doubles and floats with round-trip precision.</summary>
    public static string Text(object? value) =>
        value switch
        {
            null => "",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            float f => f.ToString("R", CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };

    /// <summary>Reads a CSV file whose first row holds the column names.</summary>
    /// <exception cref="DistillSharpException">The file cannot be read or is empty.</exception>
    public static CsvTable Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DistillSharpException($"cannot read {path}: {e.Message}", e);
        }
        var records = Parse(text);
        if (records.Count == 0)
        {
            throw new DistillSharpException($"{path} is empty: a results table needs a header row.");
        }
        var table = new CsvTable(records[0]);
        foreach (var record in records.Skip(1))
        {
            table.Add(record);
        }
        return table;
    }

    /// <summary>Writes the table as CSV (atomically: see <see cref="AtomicFile"/>).</summary>
    public void Write(string path) => AtomicFile.WriteAllText(path, ToCsv());

    /// <summary>The table as CSV text, one line per row, ending in a newline.</summary>
    public string ToCsv()
    {
        var text = new StringBuilder();
        text.AppendJoin(',', Columns.Select(Quote)).Append('\n');
        foreach (var row in Rows)
        {
            text.AppendJoin(',', row.Select(Quote)).Append('\n');
        }
        return text.ToString();
    }

    private static string Quote(string cell) =>
        cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 || (cell.Length > 0 && (char.IsWhiteSpace(cell[0]) || char.IsWhiteSpace(cell[^1])))
            ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : cell;

    private static List<string[]> Parse(string text)
    {
        var records = new List<string[]>();
        var record = new List<string>();
        var field = new StringBuilder();
        bool quoted = false, any = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
                continue;
            }
            switch (c)
            {
                case '"':
                    quoted = true;
                    any = true;
                    break;
                case ',':
                    record.Add(field.ToString());
                    field.Clear();
                    any = true;
                    break;
                case '\r':
                    break;
                case '\n':
                    if (any || field.Length > 0 || record.Count > 0)
                    {
                        record.Add(field.ToString());
                        records.Add(record.ToArray());
                    }
                    record.Clear();
                    field.Clear();
                    any = false;
                    break;
                default:
                    field.Append(c);
                    any = true;
                    break;
            }
        }
        if (any || field.Length > 0 || record.Count > 0)
        {
            record.Add(field.ToString());
            records.Add(record.ToArray());
        }
        return records;
    }
}
