using System.Reflection;
using DistillSharp.Notebooks;

namespace DistillSharp.Tests;

/// <summary>
/// The layers of ARCHITECTURE.md that the compiler does not check by itself: the library holds no notebook
/// machinery, and the notebook host depends on the library, never the other way round.
/// </summary>
public sealed class LayeringTests
{
    private static readonly string[] NotebookMachinery = ["Microsoft.CodeAnalysis", "Microsoft.DotNet.Interactive", "DistillSharp.Notebooks"];

    [Fact]
    public void TheLibraryReferencesNeitherACompilerNorDotNetInteractiveNorTheHost()
    {
        var library = typeof(DistillSharpException).Assembly;
        var references = library.GetReferencedAssemblies().Select(a => a.Name ?? "").ToList();
        Assert.DoesNotContain(references, name => NotebookMachinery.Any(m => name.StartsWith(m, StringComparison.Ordinal)));
        Assert.DoesNotContain(library.GetExportedTypes(), t => t.Namespace?.StartsWith("DistillSharp.Notebooks", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void TheHostDependsOnTheLibrary()
    {
        var host = typeof(NotebookRunner).Assembly;
        Assert.Equal("DistillSharp.Notebooks", host.GetName().Name);
        Assert.Contains(host.GetReferencedAssemblies(), a => a.Name == "DistillSharp");
        Assert.Contains(host.GetReferencedAssemblies(), a => a.Name == "Microsoft.CodeAnalysis.CSharp.Scripting");
    }

    [Fact]
    public void WhatANotebookCallsToSaveItsResultsIsInTheLibrary()
    {
        var save = typeof(DistillSharp.Reporting.NotebookResults).GetMethod(nameof(DistillSharp.Reporting.NotebookResults.Save), [typeof(Microsoft.Data.Analysis.DataFrame)]);
        Assert.NotNull(save);
        Assert.Equal(typeof(DistillSharpException).Assembly, save!.DeclaringType!.Assembly);
    }
}
