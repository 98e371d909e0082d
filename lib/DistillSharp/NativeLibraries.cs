using System.Runtime.InteropServices;

namespace DistillSharp;

/// <summary>
/// Loads libtorch and TorchSharp's native library (libLibTorchSharp.so) from the copies beside DistillSharp.dll,
/// for a host that loads DistillSharp.dll from its build folder: a notebook under .NET Interactive, whose first cell
/// calls <see cref="Load"/> after its references. It must run before the first torch call.
/// <para>Why. Under .NET Interactive, TorchSharp.dll is loaded from the NuGet cache, where no native library sits
/// beside it and no deps.json lists any, so TorchSharp falls back to its own loader. That loader fails on Debian 12
/// for two reasons. (1) It loads TorchSharp's libLibTorchSharp.so, from the package folder and from the copy it makes
/// next to TorchSharp.dll in the cache (<c>lib/net8.0/cpu/</c>); that file needs <c>GLIBCXX_3.4.32</c>, which Debian
/// 12's libstdc++ lacks (the build marks the need weak in the output copies only: lib/build/WeakenElfVersionNeed.cs).
/// (2) It first loads <c>torch_cpu</c> by name, which nothing resolves to the package, so the dynamic linker's
/// default search answers; where Debian's PyTorch is installed (python3-torch brings libtorch-dev, whose
/// /usr/lib/x86_64-linux-gnu/libtorch_cpu.so is libtorch 1.13), that is the wrong libtorch, and libLibTorchSharp.so's
/// dependencies on libtorch_cpu.so and libc10.so then bind to it: "undefined symbol: _ZNK3c105Error4whatEv". Either
/// way TorchSharp reports that the script "doesn't contain a reference to libtorch-cpu-linux-x64".</para>
/// <para>What. Loading this build's libtorch_cpu.so (libtorch_cuda.so for the CUDA backend) and its patched
/// libLibTorchSharp.so by path first makes every later load by name find them, since they are loaded under those
/// names: TorchSharp's loader then succeeds at its first step and copies nothing. In an application's output (the
/// distill program, the tests, anything with TorchSharp.dll beside DistillSharp.dll) the runtime already finds the
/// same files through deps.json, and this does nothing. On other systems than Linux it does nothing either.</para>
/// </summary>
public static class NativeLibraries
{
    private static readonly object Gate = new();
    private static bool done;

    /// <summary>The folder the native libraries were loaded from by <see cref="Load"/>, or null when it loaded none.</summary>
    public static string? LoadedFrom { get; private set; }

    /// <summary>
    /// Loads the native libraries beside DistillSharp.dll when the host needs it (see the class remarks); a second call
    /// does nothing. Throws a <see cref="DistillSharpException"/> with a one-line message when they are missing (run
    /// <c>dotnet build -c Release</c>) or when a torch call already loaded another libtorch (restart the kernel).
    /// </summary>
    public static void Load()
    {
        lock (Gate)
        {
            if (done) return;
            LoadedFrom = LoadBesideLibrary();
            OneDnnCacheSizes.Apply();
            // Under the .NET Interactive kernel, charts also get their static representations (a no-op elsewhere).
            Reporting.KernelChartFormatting.TryRegister();
            done = true;
        }
    }

    private static string? LoadBesideLibrary()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var dll = typeof(NativeLibraries).Assembly.Location;
        if (string.IsNullOrEmpty(dll)) return null;                        // not loaded from a file: nothing to look beside
        var folder = Path.GetDirectoryName(dll)!;
        if (File.Exists(Path.Combine(folder, "TorchSharp.dll"))) return null;   // an application's output: deps.json serves

        var native = Path.Combine(folder, "runtimes", "linux-x64", "native");
        var built = BuiltBackend(native);
        var bridge = Path.Combine(native, "libLibTorchSharp.so");
        if (built is null || !File.Exists(bridge))
        {
            throw new DistillSharpException(
                $"DistillSharp: libtorch is not beside {dll} (no {native}/libtorch_cpu.so and libLibTorchSharp.so): run 'dotnet build -c Release' in the repository root, then run this cell again.");
        }

        var mapped = MappedTorchLibraries();
        if (mapped.Any(p => Path.GetFileName(p) == "libLibTorchSharp.so")) return null;   // TorchSharp already loaded, from elsewhere
        if (mapped.Count > 0)
        {
            throw new DistillSharpException(
                $"DistillSharp: libtorch is already loaded from {mapped[0]} (a torch call ran before NativeLibraries.Load()); restart the kernel and run the first cell before any other.");
        }

        var referenced = ReferencedBackend(Environment.GetEnvironmentVariable("PATH"));
        if (referenced is not null && referenced != built)
        {
            // Never mix backends: leave the loading to TorchSharp, which may manage on a system with a newer libstdc++.
            Console.Error.WriteLine(
                $"DistillSharp: this notebook references the {referenced} backend but {native} holds the {built} build; not loading it (build with 'dotnet build -c Release -p:TorchBackend={referenced}' for a matching copy).");
            return null;
        }

        LoadFile(Path.Combine(native, built == "cuda" ? "libtorch_cuda.so" : "libtorch_cpu.so"));
        LoadFile(bridge);
        return native;
    }

    private static void LoadFile(string path)
    {
        try
        {
            NativeLibrary.Load(path);
        }
        catch (DllNotFoundException e)
        {
            throw new DistillSharpException($"DistillSharp: could not load {path}: {e.Message.Trim()}", e);
        }
    }

    /// <summary>The backend whose libtorch a native folder holds: "cuda", "cpu", or null when it holds neither.</summary>
    internal static string? BuiltBackend(string nativeFolder) =>
        File.Exists(Path.Combine(nativeFolder, "libtorch_cuda.so")) ? "cuda"
        : File.Exists(Path.Combine(nativeFolder, "libtorch_cpu.so")) ? "cpu"
        : null;

    /// <summary>
    /// The backend the host's package references name, read from a PATH value: .NET Interactive appends the folders of
    /// the packages a notebook restored to PATH (torchsharp-cpu, libtorch-cpu-linux-x64; torchsharp-cuda-linux,
    /// libtorch-cuda-*). Null when PATH names neither or both.
    /// </summary>
    internal static string? ReferencedBackend(string? path)
    {
        if (string.IsNullOrEmpty(path)) return null;
        var entries = path.Split(Path.PathSeparator);
        bool Names(params string[] parts) => entries.Any(e => parts.Any(p => e.Contains(p, StringComparison.OrdinalIgnoreCase)));
        var cuda = Names("/torchsharp-cuda-linux/", "/libtorch-cuda-");
        var cpu = Names("/torchsharp-cpu/", "/libtorch-cpu-linux-x64/");
        return cuda == cpu ? null : cuda ? "cuda" : "cpu";
    }

    /// <summary>The files of libtorch or LibTorchSharp mapped into this process, from /proc/self/maps.</summary>
    private static List<string> MappedTorchLibraries()
    {
        try
        {
            return File.ReadLines("/proc/self/maps")
                .Select(line => line.IndexOf('/') is var i and >= 0 ? line[i..] : "")
                .Where(p => Path.GetFileName(p) is var name
                    && (name == "libLibTorchSharp.so" || name.StartsWith("libtorch_cpu.so", StringComparison.Ordinal)
                        || name.StartsWith("libtorch_cuda.so", StringComparison.Ordinal)))
                .Distinct()
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
