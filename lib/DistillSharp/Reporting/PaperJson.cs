using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace DistillSharp.Reporting;

/// <summary>
/// Reads a paper file into a <see cref="Paper"/>, strictly: every field of the layout checked (see
/// <c>Reporting/Papers/README.md</c>), unknown fields refused, and every error naming the file and the field.
/// </summary>
internal static partial class PaperJson
{
    private static readonly string[] RootFields = ["paper", "citation", "remarks", "tables"];
    private static readonly string[] CitationFields = ["authors", "title", "venue", "year", "arxiv", "doi", "code", "short"];
    private static readonly string[] TableFields =
        ["id", "title", "source", "evidence", "via", "dataset", "metric", "group_heading", "columns", "remarks", "rows"];
    private static readonly string[] ColumnFields = ["name", "label", "network"];
    private static readonly string[] RowFields = ["teacher", "student", "group", "values"];

    /// <summary>The paper in <paramref name="json"/>, whose <c>paper</c> field must be <paramref name="name"/>.</summary>
    public static Paper Parse(string json, string name)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new DistillSharpException($"paper data '{name}': not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = new Node(name, "", document.RootElement);
            root.Allow(RootFields);
            var id = root.Required("paper").Text();
            if (id != name)
            {
                throw root.Required("paper").Fail($"is '{id}', but this is the file of paper '{name}'");
            }
            var citation = Citation(root.Required("citation"));
            var remarks = Texts(root.Optional("remarks"));
            var tablesNode = root.Required("tables");
            var tables = tablesNode.Items().Select(t => Table(t, name, citation)).ToList();
            if (tables.Count == 0)
            {
                throw tablesNode.Fail("is empty; a paper whose numbers are unknown still lists its tables, with no rows");
            }
            Unique(tablesNode, tables.Select(t => t.Id), "table id");
            return new Paper(name, citation, remarks, tables);
        }
    }

    private static PaperCitation Citation(Node node)
    {
        node.Allow(CitationFields);
        var authorsNode = node.Required("authors");
        var authors = authorsNode.Items().Select(a => a.Text()).ToList();
        if (authors.Count == 0)
        {
            throw authorsNode.Fail("is empty; name at least one author");
        }
        var yearNode = node.Required("year");
        int year = yearNode.Integer();
        if (year is < 1950 or > 2100)
        {
            throw yearNode.Fail($"is {year}, not a publication year");
        }
        return new PaperCitation(
            authors, node.Required("title").Text(), node.Required("venue").Text(), year,
            node.Optional("arxiv")?.Text(), node.Optional("doi")?.Text(), node.Optional("code")?.Text(), node.Required("short").Text());
    }

    private static PaperTable Table(Node node, string paper, PaperCitation citation)
    {
        node.Allow(TableFields);
        var metricNode = node.Required("metric");
        var metric = metricNode.Text() switch
        {
            "top1" => PaperMetric.Top1,
            "top1_error" => PaperMetric.Top1Error,
            var other => throw metricNode.Fail($"is '{other}'; use top1 (top-1 accuracy, %) or top1_error (top-1 error, %)"),
        };
        var evidenceNode = node.Required("evidence");
        var evidence = evidenceNode.Text() switch
        {
            "paper" => PaperEvidence.Paper,
            "code" => PaperEvidence.Code,
            "reimpl" => PaperEvidence.Reimplementation,
            "inferred" => PaperEvidence.Inferred,
            var other => throw evidenceNode.Fail($"is '{other}'; use paper, code, reimpl or inferred"),
        };
        var groupHeading = node.Optional("group_heading")?.Text();

        var columnsNode = node.Required("columns");
        var columns = columnsNode.Items().Select(Column).ToList();
        if (columns.Count == 0)
        {
            throw columnsNode.Fail("is empty; a table has at least one number column");
        }
        Unique(columnsNode, columns.Select(c => c.Name), "column name");

        var rowsNode = node.Required("rows");
        var rows = rowsNode.Items().Select(r => Row(r, columns, metric, groupHeading)).ToList();
        Unique(rowsNode, rows.Select(r => r.Name), "teacher–student pair");

        return new PaperTable(
            paper, citation, node.Required("id").Name(), node.Required("title").Text(), node.Required("source").Text(), evidence,
            node.Optional("via")?.Text(), node.Required("dataset").Text(), metric, groupHeading, columns,
            Texts(node.Optional("remarks")), rows);
    }

    private static PaperColumn Column(Node node)
    {
        node.Allow(ColumnFields);
        var networkNode = node.Required("network");
        var network = networkNode.Text() switch
        {
            "teacher" => PaperNetwork.Teacher,
            "student" => PaperNetwork.Student,
            var other => throw networkNode.Fail($"is '{other}'; use teacher or student (the network the column's number measures)"),
        };
        return new PaperColumn(node.Required("name").Name(), node.Required("label").Text(), network);
    }

    private static PaperRow Row(Node node, IReadOnlyList<PaperColumn> columns, PaperMetric metric, string? groupHeading)
    {
        node.Allow(RowFields);
        var teacherNode = node.Required("teacher", nullable: true);
        string? teacher = teacherNode.IsNull ? null : teacherNode.Text();
        string student = node.Required("student").Text();
        var groupNode = node.Optional("group");
        if (groupHeading is null && groupNode is not null)
        {
            throw groupNode.Value.Fail("is set, but the table has no group_heading");
        }
        if (groupHeading is not null && groupNode is null)
        {
            throw node.Fail($"has no 'group', which the table's group_heading '{groupHeading}' asks of every row");
        }

        var valuesNode = node.Required("values");
        valuesNode.Allow(columns.Select(c => c.Name).ToArray());
        var cells = new Dictionary<string, PaperCell?>(StringComparer.Ordinal);
        foreach (var column in columns)
        {
            cells[column.Name] = valuesNode.Optional(column.Name)?.Cell(metric);
        }
        return new PaperRow(teacher, student, groupNode?.Text(), cells);
    }

    private static List<string> Texts(Node? node) => node?.Items().Select(n => n.Text()).ToList() ?? [];

    private static void Unique(Node node, IEnumerable<string> keys, string what)
    {
        var repeated = keys.GroupBy(k => k, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
        {
            throw node.Fail($"repeats the {what} '{repeated.Key}'");
        }
    }

    [GeneratedRegex(@"^[0-9]+(\.[0-9]+)?$")]
    private static partial Regex PlainNumber();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9_-]*$")]
    private static partial Regex Identifier();

    /// <summary>A JSON value, the file it is in and its path there (<c>tables[0].rows[3].values.kd</c>), for errors.</summary>
    private readonly record struct Node(string File, string Path, JsonElement Element)
    {
        public bool IsNull => Element.ValueKind == JsonValueKind.Null;

        public DistillSharpException Fail(string problem) =>
            new($"paper data '{File}': {(Path.Length == 0 ? "the top level" : Path)} {problem}.");

        /// <summary>Checks that this is an object whose fields are among <paramref name="fields"/>, each once.</summary>
        public void Allow(string[] fields)
        {
            Expect(JsonValueKind.Object, "an object");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in Element.EnumerateObject())
            {
                if (!fields.Contains(property.Name, StringComparer.Ordinal))
                {
                    throw Fail($"has an unknown field '{property.Name}'; the fields are: {string.Join(", ", fields)}");
                }
                if (!seen.Add(property.Name))
                {
                    throw Fail($"has the field '{property.Name}' twice");
                }
            }
        }

        /// <summary>The field <paramref name="name"/>; missing (or null, unless <paramref name="nullable"/>) is an error.</summary>
        public Node Required(string name, bool nullable = false)
        {
            if (!Element.TryGetProperty(name, out var value))
            {
                throw Fail($"has no '{name}'");
            }
            var child = Child(name, value);
            if (child.IsNull && !nullable)
            {
                throw child.Fail("is null; it is required");
            }
            return child;
        }

        /// <summary>The field <paramref name="name"/>, or null when it is missing or null.</summary>
        public Node? Optional(string name) =>
            Element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? Child(name, value) : null;

        /// <summary>The items of this array.</summary>
        public IEnumerable<Node> Items()
        {
            Expect(JsonValueKind.Array, "an array");
            var file = File;
            var path = Path;
            return Element.EnumerateArray().Select((e, i) => new Node(file, $"{path}[{i}]", e)).ToList();
        }

        /// <summary>This non-empty string.</summary>
        public string Text()
        {
            Expect(JsonValueKind.String, "a string");
            var text = Element.GetString()!;
            return text.Trim().Length > 0 ? text : throw Fail("is empty");
        }

        /// <summary>This string, which must be a lower-case identifier (letters, digits, '_' and '-').</summary>
        public string Name()
        {
            var text = Text();
            return Identifier().IsMatch(text) ? text : throw Fail($"is '{text}'; use lower-case letters, digits, '_' and '-'");
        }

        /// <summary>This whole number.</summary>
        public int Integer()
        {
            Expect(JsonValueKind.Number, "a whole number");
            return Element.TryGetInt32(out var value) ? value : throw Fail($"is {Element.GetRawText()}, not a whole number");
        }

        /// <summary>This number as a cell: a plain decimal (digits kept as written) between 0 and 100.</summary>
        public PaperCell Cell(PaperMetric metric)
        {
            if (Element.ValueKind != JsonValueKind.Number)
            {
                throw Fail($"is {Element.GetRawText()}; a cell is a number in percent, or null where the paper's number is not available");
            }
            var text = Element.GetRawText();
            if (!PlainNumber().IsMatch(text))
            {
                throw Fail($"is {text}; write the number as the paper prints it, e.g. 72.50");
            }
            double value = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            return value <= 100 ? new PaperCell(value, text, metric) : throw Fail($"is {text}, above 100 %");
        }

        private Node Child(string name, JsonElement value) => new(File, Path.Length == 0 ? name : $"{Path}.{name}", value);

        private void Expect(JsonValueKind kind, string what)
        {
            if (Element.ValueKind != kind)
            {
                throw Fail($"is {Describe(Element)}, not {what}");
            }
        }

        private static string Describe(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => $"the string \"{e.GetString()}\"",
            JsonValueKind.Null => "null",
            _ => e.GetRawText(),
        };
    }
}
