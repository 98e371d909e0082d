using System.Text.Json.Nodes;
using DistillSharp.Notebooks;

namespace DistillSharp.Tests.Notebooks;

public sealed class NotebookFileTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("distill-nbfile-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    // An nbformat 4.4 notebook as Jupyter might write it: sources as a string and as lines, every output type,
    // and metadata keys DistillSharp does not know.
    private const string Sample = """
        {
         "cells": [
          {"cell_type": "markdown", "metadata": {"custom": {"keep": [1, 2]}}, "source": "# Title\nText"},
          {"cell_type": "code", "execution_count": 3, "metadata": {"tags": ["parameters"], "collapsed": false},
           "outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["a\n", "b\n"]},
            {"output_type": "display_data", "data": {"text/plain": ["x"], "application/json": {"k": [1]}}, "metadata": {}},
            {"output_type": "execute_result", "execution_count": 3, "data": {"text/plain": "42"}, "metadata": {"m": 1}},
            {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["t1", "t2"]}
           ],
           "source": ["int x = 1;\n", "x"]}
         ],
         "metadata": {"kernelspec": {"display_name": ".NET (C#)", "language": "C#", "name": ".net-csharp"}, "unknown": {"deep": true}},
         "nbformat": 4,
         "nbformat_minor": 4
        }
        """;

    [Fact]
    public void ReadsStringAndArraySourcesAndEveryOutputType()
    {
        var notebook = NotebookFile.Parse(Sample);
        Assert.Equal((4, 4), (notebook.FormatMajor, notebook.FormatMinor));
        Assert.Equal("# Title\nText", notebook.Cells[0].Source);
        var code = notebook.Cells[1];
        Assert.Equal("int x = 1;\nx", code.Source);
        Assert.Equal(3, code.ExecutionCount);
        Assert.True(code.HasTag("parameters"));
        var stream = Assert.IsType<StreamOutput>(code.Outputs[0]);
        Assert.Equal(("stdout", "a\nb\n"), (stream.Name, stream.Text));
        var display = Assert.IsType<DisplayDataOutput>(code.Outputs[1]);
        Assert.Equal("x", display.GetText("text/plain"));
        Assert.Equal(1, display.Data["application/json"]!["k"]![0]!.GetValue<int>());
        var result = Assert.IsType<ExecuteResultOutput>(code.Outputs[2]);
        Assert.Equal((3, "42"), (result.ExecutionCount, result.GetText("text/plain")));
        var error = Assert.IsType<ErrorOutput>(code.Outputs[3]);
        Assert.Equal(("E", "v"), (error.Name, error.Value));
        Assert.Equal(new[] { "t1", "t2" }, error.Traceback);
    }

    [Fact]
    public void WritesLinesArraysSortedKeysAndKeepsUnknownMetadata()
    {
        var text = NotebookFile.Serialize(NotebookFile.Parse(Sample));
        var json = JsonNode.Parse(text)!;
        Assert.Equal(4, json["nbformat_minor"]!.GetValue<int>());                        // 4.4 in, 4.4 out: no ids
        Assert.Null(json["cells"]![0]!["id"]);
        Assert.Equal(new[] { "# Title\n", "Text" }, json["cells"]![0]!["source"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal(new[] { "int x = 1;\n", "x" }, json["cells"]![1]!["source"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal(new[] { "a\n", "b\n" }, json["cells"]![1]!["outputs"]![0]!["text"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.True(json["metadata"]!["unknown"]!["deep"]!.GetValue<bool>());
        Assert.Equal(2, json["cells"]![0]!["metadata"]!["custom"]!["keep"]![1]!.GetValue<int>());
        Assert.Equal(1, json["cells"]![1]!["outputs"]![1]!["data"]!["application/json"]!["k"]![0]!.GetValue<int>());
        // Jupyter's layout: keys sorted, one-space indent, final newline.
        Assert.StartsWith("{\n \"cells\": [\n  {\n   \"cell_type\": \"markdown\",", text);
        Assert.EndsWith("}\n", text);
        Assert.Empty(NbformatRules.Check(text));
        // Reading what was written gives the same notebook back.
        Assert.Equal(text, NotebookFile.Serialize(NotebookFile.Parse(text)));
    }

    [Fact]
    public void Version45NotebooksGetAUniqueIdOnEveryCell()
    {
        var notebook = NotebookFile.Parse(Sample);
        notebook.FormatMinor = 5;
        notebook.Cells.Add(NotebookCell.Code("1"));
        notebook.Cells[0].Id = "keep-me";
        notebook.Cells[2].Id = "keep-me";                                               // a duplicate gets a fresh id
        var json = JsonNode.Parse(NotebookFile.Serialize(notebook))!;
        Assert.Equal(5, json["nbformat_minor"]!.GetValue<int>());
        var ids = json["cells"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).ToList();
        Assert.Equal("keep-me", ids[0]);
        Assert.Equal(3, ids.Distinct().Count());
        Assert.Empty(NbformatRules.Check(json.ToJsonString()));
    }

    [Fact]
    public void TheStructuralChecksCatchWhatTheSchemaForbids()
    {
        // The checks themselves are tested: each broken notebook is caught for the stated reason.
        var noId = """{"cells":[{"cell_type":"code","metadata":{},"source":"","outputs":[],"execution_count":null}],"metadata":{},"nbformat":4,"nbformat_minor":5}""";
        Assert.Contains("cell 1: missing 'id'", NbformatRules.Check(noId));
        var idIn44 = """{"cells":[{"id":"a","cell_type":"markdown","metadata":{},"source":""}],"metadata":{},"nbformat":4,"nbformat_minor":4}""";
        Assert.Contains("cell 1: 'id' is not allowed", NbformatRules.Check(idIn44));
        var badOutput = """{"cells":[{"cell_type":"code","metadata":{},"source":"","execution_count":1,"outputs":[{"output_type":"display_data","data":{"text/plain":"x"}}]}],"metadata":{},"nbformat":4,"nbformat_minor":4}""";
        Assert.Contains("cell 1 output 1: missing 'metadata'", NbformatRules.Check(badOutput));
    }

    [NbformatFact]
    public void TheWrittenFileIsValidForNbformatsOwnValidator()
    {
        var path = Path.Combine(folder, "sample.ipynb");
        var notebook = NotebookFile.Parse(Sample);
        File.WriteAllText(path, NotebookFile.Serialize(notebook));
        Assert.Equal("", PythonNbformat.Validate(path));
        notebook.FormatMinor = 5;
        NotebookFile.Write(notebook, path);
        Assert.Equal("", PythonNbformat.Validate(path));
        // The validator does reject a broken file (so a pass means something).
        File.WriteAllText(path, NotebookFile.Serialize(notebook).Replace("\"execution_count\": 3,\n   \"id\"", "\"id\""));
        Assert.NotEqual("", PythonNbformat.Validate(path));
    }

    [Fact]
    public void OtherVersionsAndBrokenFilesAreClearErrors()
    {
        var v3 = Assert.Throws<DistillSharpException>(() => NotebookFile.Parse("""{"nbformat": 3, "nbformat_minor": 0, "worksheets": []}""", "old.ipynb"));
        Assert.Contains("old.ipynb is nbformat 3", v3.Message);
        var notJson = Assert.Throws<DistillSharpException>(() => NotebookFile.Parse("{ not json", "bad.ipynb"));
        Assert.Contains("bad.ipynb is not valid JSON", notJson.Message);
        var badCell = Assert.Throws<DistillSharpException>(() => NotebookFile.Parse("""{"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [{"cell_type": "python", "source": ""}]}""", "x.ipynb"));
        Assert.Contains("x.ipynb, cell 1", badCell.Message);
        Assert.Contains("unknown cell_type \"python\"", badCell.Message);
    }
}
