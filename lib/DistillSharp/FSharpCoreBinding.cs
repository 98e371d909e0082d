using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace DistillSharp;

/// <summary>
/// Lets a reference to FSharp.Core bind to the FSharp.Core a host already has loaded, when the host's is of the same
/// major version but older than the one asked for. Plotly.NET 6.0.0 (the charts) is built against FSharp.Core 10.1
/// (assembly version 10.1.0.0); .NET Interactive 1.0.712001 runs on its own FSharp.Core 10.0.0.0, which is on the
/// kernel's trusted platform list and loaded before any notebook code, so no notebook can load another one, and the
/// first chart fails with "Could not load file or assembly 'FSharp.Core, Version=10.1.0.0'". The runtime raises
/// <see cref="AssemblyLoadContext.Resolving"/> only for a load it could not satisfy itself, so in an application that
/// ships its FSharp.Core (the distill program, the tests) this handler is never asked. Installed when DistillSharp's
/// module is first used (a notebook's first cell calls <see cref="NativeLibraries.Load"/>), before any chart.
/// </summary>
internal static class FSharpCoreBinding
{
#pragma warning disable CA2255 // a module initializer is the point: the handler must be in place before the first chart
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install() => AssemblyLoadContext.Default.Resolving += Resolve;

    private static Assembly? Resolve(AssemblyLoadContext context, AssemblyName requested)
    {
        if (requested.Name != "FSharp.Core") return null;
        return Loaded(context.Assemblies, requested);
    }

    /// <summary>The loaded FSharp.Core of <paramref name="requested"/>'s major version and no newer, if any.</summary>
    internal static Assembly? Loaded(IEnumerable<Assembly> assemblies, AssemblyName requested) =>
        assemblies.FirstOrDefault(a => a.GetName() is { Name: "FSharp.Core", Version: { } version }
            && requested.Version is { } wanted && version.Major == wanted.Major && version <= wanted);
}
