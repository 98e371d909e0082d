using System.Collections.Immutable;
using System.Reflection;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using Microsoft.Data.Analysis;
using Plotly.NET;

namespace DistillSharp.Notebooks;

/// <summary>
/// What a notebook's scripting session compiles against: the .NET shared framework, the DistillSharp library and
/// the packages the runner carries (TorchSharp, Plotly.NET, Plotly.NET.CSharp, Microsoft.Data.Analysis, and what
/// they depend on), all as loaded in this process. The default imports are the ones .NET Interactive's C# kernel
/// has, so a notebook that runs here also runs there; anything else a notebook imports itself.
/// </summary>
public static class ScriptEnvironment
{
    /// <summary>The namespaces every cell can use without a <c>using</c>.</summary>
    public static IReadOnlyList<string> DefaultImports { get; } =
    [
        "System", "System.Collections", "System.Collections.Generic", "System.Linq", "System.Text",
        "System.Threading.Tasks", "DistillSharp.Notebooks.Scripting",
    ];

    private static readonly Lazy<ImmutableArray<MetadataReference>> LazyReferences = new(CreateReferences);

    /// <summary>The assemblies (beyond the shared framework) that notebooks compile against.</summary>
    public static IReadOnlyList<Assembly> CarriedAssemblies { get; } = FindCarriedAssemblies();

    /// <summary>The script options for the cell whose code is known as <paramref name="filePath"/> in errors and stack traces.</summary>
    internal static ScriptOptions OptionsFor(string filePath) =>
        ScriptOptions.Default
            .WithReferences(LazyReferences.Value)
            .WithImports(DefaultImports)
            .WithLanguageVersion(LanguageVersion.Latest)
            .WithOptimizationLevel(OptimizationLevel.Release)
            .WithEmitDebugInformation(true)
            .WithFileEncoding(Encoding.UTF8)
            .WithFilePath(filePath);

    private static ImmutableArray<MetadataReference> CreateReferences()
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        var frameworkFolder = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string tpa)
        {
            foreach (var path in tpa.Split(Path.PathSeparator))
            {
                if (string.Equals(Path.GetDirectoryName(path), frameworkFolder, StringComparison.Ordinal) && IsManagedAssembly(path))
                {
                    paths.Add(path);
                }
            }
        }
        foreach (var assembly in CarriedAssemblies)
        {
            paths.Add(assembly.Location);
        }
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    }

    private static bool IsManagedAssembly(string path)
    {
        var name = Path.GetFileName(path);
        return name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && !name.StartsWith("Microsoft.DiaSymReader.Native", StringComparison.Ordinal);
    }

    private static List<Assembly> FindCarriedAssemblies()
    {
        var roots = new[]
        {
            typeof(DistillSharpException).Assembly,
            typeof(NotebookGlobals).Assembly,
            typeof(TorchSharp.torch).Assembly,
            typeof(GenericChart).Assembly,
            typeof(Plotly.NET.CSharp.Chart).Assembly,
            typeof(DataFrame).Assembly,
        };
        var found = new Dictionary<string, Assembly>(StringComparer.Ordinal);
        var queue = new Queue<Assembly>(roots);
        while (queue.Count > 0)
        {
            var assembly = queue.Dequeue();
            var name = assembly.GetName().Name ?? "";
            if (assembly.IsDynamic || string.IsNullOrEmpty(assembly.Location) || found.ContainsKey(name)
                || name.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal))
            {
                continue;
            }
            found[name] = assembly;
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                try
                {
                    queue.Enqueue(Assembly.Load(reference));
                }
                catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
                {
                    // A dependency that is not deployed (an optional one of a package): nothing to reference.
                }
            }
        }
        return found.Values.ToList();
    }
}
