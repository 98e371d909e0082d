using DistillSharp.Reporting;

namespace DistillSharp.Tests.Reporting;

/// <summary>A malformed paper file is an error that names the file and the field.</summary>
public sealed class PaperJsonTests
{
    private const string Citation =
        """{ "authors": ["A. Author"], "title": "T", "venue": "V", "year": 2020, "arxiv": null, "doi": null, "code": null, "short": "X 2020" }""";

    private static string File(string table = "", string rows = """[{ "teacher": "t", "student": "s", "values": { "a": 70.10, "b": null } }]""") =>
        $$"""
        { "paper": "x", "citation": {{Citation}},
          "tables": [{ "id": "t1", "title": "T", "source": "Table 1", "evidence": "paper", "via": null, "dataset": "D",
                       "metric": "top1", "group_heading": null,
                       "columns": [{ "name": "a", "label": "A", "network": "student" }, { "name": "b", "label": "B", "network": "student" }],
                       "rows": {{rows}} {{table}} }] }
        """;

    [Fact]
    public void AWellFormedFileParsesWithTheDigitsKeptAndNullAsNotAvailable()
    {
        var paper = Paper.Parse(File(), "x");
        var row = paper.Table("t1").Get("t", "s");
        Assert.Equal(("70.10", 70.1), (row.Cell("a")!.Text, row.Cell("a")!.Reported));
        Assert.Null(row.Cell("b"));
        // A column left out of values is not available too.
        var absent = Paper.Parse(File(rows: """[{ "teacher": null, "student": "s", "values": { "a": 1 } }]"""), "x").Table("t1").Rows[0];
        Assert.Null(absent.Cell("b"));
        Assert.Null(absent.Teacher);
        Assert.Equal("s", absent.Name);
    }

    [Theory]
    [InlineData("{", "paper data 'x': not valid JSON: ")]
    [InlineData("""{ "paper": "x" }""", "paper data 'x': the top level has no 'citation'.")]
    [InlineData("""{ "paper": "y", "citation": {}, "tables": [] }""", "paper data 'x': paper is 'y', but this is the file of paper 'x'.")]
    [InlineData("""{ "paper": "x", "citation": {}, "tables": [], "tabels": [] }""", "paper data 'x': the top level has an unknown field 'tabels'; the fields are: paper, citation, remarks, tables.")]
    [InlineData("""{ "paper": "x", "citation": { "authors": [], "title": "T", "venue": "V", "year": 2020, "short": "S" }, "tables": [] }""", "paper data 'x': citation.authors is empty; name at least one author.")]
    [InlineData("""{ "paper": "x", "citation": { "authors": ["A"], "title": "T", "venue": "V", "year": "2020", "short": "S" }, "tables": [] }""", "paper data 'x': citation.year is the string \"2020\", not a whole number.")]
    [InlineData($$"""{ "paper": "x", "citation": {{Citation}}, "tables": [] }""", "paper data 'x': tables is empty; a paper whose numbers are unknown still lists its tables, with no rows.")]
    public void ABrokenTopLevelOrCitationIsNamed(string json, string message)
    {
        var e = Assert.Throws<DistillSharpException>(() => Paper.Parse(json, "x"));
        Assert.StartsWith(message, e.Message);
    }

    [Theory]
    [InlineData("""[{ "teacher": "t", "student": "s", "values": { "a": "70.1" } }]""", "tables[0].rows[0].values.a is \"70.1\"; a cell is a number in percent, or null where the paper's number is not available.")]
    [InlineData("""[{ "teacher": "t", "student": "s", "values": { "a": 7.01e1 } }]""", "tables[0].rows[0].values.a is 7.01e1; write the number as the paper prints it, e.g. 72.50.")]
    [InlineData("""[{ "teacher": "t", "student": "s", "values": { "a": 170.1 } }]""", "tables[0].rows[0].values.a is 170.1, above 100 %.")]
    [InlineData("""[{ "teacher": "t", "student": "s", "values": { "kd": 70.1 } }]""", "tables[0].rows[0].values has an unknown field 'kd'; the fields are: a, b.")]
    [InlineData("""[{ "teacher": "t", "student": "s", "values": {} }, { "teacher": "t", "student": "s", "values": {} }]""", "tables[0].rows repeats the teacher–student pair 't → s'.")]
    [InlineData("""[{ "student": "s", "values": {} }]""", "tables[0].rows[0] has no 'teacher'.")]
    [InlineData("""[{ "teacher": "t", "student": null, "values": {} }]""", "tables[0].rows[0].student is null; it is required.")]
    [InlineData("""[{ "teacher": "t", "student": "s", "group": "same", "values": {} }]""", "tables[0].rows[0].group is set, but the table has no group_heading.")]
    public void ABrokenRowIsNamed(string rows, string message)
    {
        var e = Assert.Throws<DistillSharpException>(() => Paper.Parse(File(rows: rows), "x"));
        Assert.Equal("paper data 'x': " + message, e.Message);
    }

    [Fact]
    public void ABrokenTableIsNamed()
    {
        string Message(string from, string to) =>
            Assert.Throws<DistillSharpException>(() => Paper.Parse(File().Replace(from, to, StringComparison.Ordinal), "x")).Message;
        Assert.Equal("paper data 'x': tables[0].metric is 'accuracy'; use top1 (top-1 accuracy, %) or top1_error (top-1 error, %).",
            Message("\"top1\"", "\"accuracy\""));
        Assert.Equal("paper data 'x': tables[0].evidence is 'blog'; use paper, code, reimpl or inferred.", Message("\"paper\", \"via\"", "\"blog\", \"via\""));
        Assert.Equal("paper data 'x': tables[0] has no 'source'.", Message("\"source\": \"Table 1\", ", ""));
        Assert.Equal("paper data 'x': tables[0].source is empty.", Message("\"Table 1\"", "\" \""));
        Assert.Equal("paper data 'x': tables[0].columns repeats the column name 'a'.", Message("\"name\": \"b\"", "\"name\": \"a\""));
        Assert.Equal("paper data 'x': tables[0].columns[1].network is 'both'; use teacher or student (the network the column's number measures).",
            Message("\"label\": \"B\", \"network\": \"student\"", "\"label\": \"B\", \"network\": \"both\""));
        Assert.Equal("paper data 'x': tables[0].columns[0].name is 'Top 1'; use lower-case letters, digits, '_' and '-'.", Message("\"name\": \"a\"", "\"name\": \"Top 1\""));
        Assert.Equal("paper data 'x': tables[0].rows[0] has no 'group', which the table's group_heading 'architectures' asks of every row.",
            Message("\"group_heading\": null", "\"group_heading\": \"architectures\""));
    }
}
