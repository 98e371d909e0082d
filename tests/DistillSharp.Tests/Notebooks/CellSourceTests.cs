using System.Text.Json.Nodes;
using DistillSharp.Notebooks;

namespace DistillSharp.Tests.Notebooks;

public sealed class CellSourceTests
{
    [Fact]
    public void InteractiveOnlyLinesAreBlankedSoLineNumbersStay()
    {
        var cell = NotebookCell.Code(
            "#!csharp\n#r \"nuget: Plotly.NET, 6.0.0\"\n#r \"nuget:TorchSharp-cpu\"\n#r \"../lib/DistillSharp/bin/Release/net10.0/DistillSharp.dll\"\n#i \"nuget: https://example.invalid/feed\"\nusing TorchSharp;");
        Assert.Equal("\n\n\n\n\nusing TorchSharp;", CellSource.Prepare(cell, 1));
    }

    [Fact]
    public void AnotherReferenceIsRejectedNamingTheLineAndTheAcceptedPackages()
    {
        var cell = NotebookCell.Code("#r \"nuget: Plotly.NET, 6.0.0\"\n#r \"nuget: Newtonsoft.Json, 13.0.3\"");
        var e = Assert.Throws<DistillSharpException>(() => CellSource.Prepare(cell, 4));
        Assert.StartsWith("cell 4, line 2: `#r \"nuget: Newtonsoft.Json, 13.0.3\"` is not a reference the runner carries.", e.Message);
        foreach (var package in new[] { "TorchSharp-cpu", "TorchSharp-cuda-linux", "Plotly.NET", "Plotly.NET.Interactive", "Plotly.NET.CSharp", "Microsoft.Data.Analysis", "DistillSharp.dll" })
        {
            Assert.Contains(package, e.Message);
        }
        Assert.Throws<DistillSharpException>(() => CellSource.Prepare(NotebookCell.Code("#r \"/tmp/Other.dll\""), 1));
        Assert.Throws<DistillSharpException>(() => CellSource.Prepare(NotebookCell.Code("#r System.Net.Http"), 1));
        Assert.Contains("#load", Assert.Throws<DistillSharpException>(() => CellSource.Prepare(NotebookCell.Code("#load \"x.csx\""), 1)).Message);
    }

    [Fact]
    public void TheHostsOwnLibraryIsRejectedPointingAtTheLibrary()
    {
        var cell = NotebookCell.Code("#r \"../lib/DistillSharp/bin/Release/net10.0/DistillSharp.dll\"\n#r \"../lib/DistillSharp.Notebooks/bin/Release/net10.0/DistillSharp.Notebooks.dll\"");
        var e = Assert.Throws<DistillSharpException>(() => CellSource.Prepare(cell, 2));
        Assert.StartsWith("cell 2, line 2: ", e.Message);
        Assert.Contains("references the notebook host", e.Message);
        Assert.Contains("reference DistillSharp.dll alone", e.Message);
    }

    [Fact]
    public void OtherKernelsCellsAreRejected()
    {
        var fsharp = Assert.Throws<DistillSharpException>(() => CellSource.Prepare(NotebookCell.Code("int x = 1;\n#!fsharp\nlet y = 2"), 3));
        Assert.StartsWith("cell 3, line 2: `#!fsharp` starts code for the fsharp kernel", fsharp.Message);
        var pwsh = Assert.Throws<DistillSharpException>(() => CellSource.Prepare(NotebookCell.Code("#!pwsh\nGet-Date"), 1));
        Assert.Contains("pwsh kernel", pwsh.Message);

        var byMetadata = NotebookCell.Code("let y = 2");
        byMetadata.Metadata["dotnet_interactive"] = new JsonObject { ["language"] = "fsharp" };
        Assert.StartsWith("cell 2 is a fsharp cell", Assert.Throws<DistillSharpException>(() => CellSource.Prepare(byMetadata, 2)).Message);
        var polyglot = NotebookCell.Code("console.log(1)");
        polyglot.Metadata["polyglot_notebook"] = new JsonObject { ["kernelName"] = "javascript" };
        Assert.Contains("javascript cell", Assert.Throws<DistillSharpException>(() => CellSource.Prepare(polyglot, 1)).Message);
        var csharp = NotebookCell.Code("1");
        csharp.Metadata["polyglot_notebook"] = new JsonObject { ["kernelName"] = "csharp" };
        Assert.Equal("1", CellSource.Prepare(csharp, 1));

        Assert.Contains("magic command `#!time`", Assert.Throws<DistillSharpException>(() => CellSource.Prepare(NotebookCell.Code("#!time\n1"), 1)).Message);
    }

    [Fact]
    public void ANotebookForAnotherLanguageIsRecognised()
    {
        var python = new Notebook();
        python.Metadata["kernelspec"] = new JsonObject { ["name"] = "python3", ["display_name"] = "Python 3", ["language"] = "python" };
        Assert.Equal("python", CellSource.NotebookLanguage(python));
        Assert.Null(CellSource.NotebookLanguage(Notebook.CreateCSharp()));
    }
}
