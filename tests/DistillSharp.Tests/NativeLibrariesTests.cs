using System.Reflection;
using static TorchSharp.torch;

namespace DistillSharp.Tests;

/// <summary>
/// The loading a notebook under .NET Interactive depends on (NativeLibraries, FSharpCoreBinding), and the native
/// libraries the build puts beside lib/DistillSharp's own DistillSharp.dll, which such a notebook references.
/// </summary>
public sealed class NativeLibrariesTests
{
    [Fact]
    public void LoadDoesNothingInAnApplicationsOutput()
    {
        // The test folder has TorchSharp.dll and a deps.json beside DistillSharp.dll: the runtime finds libtorch itself.
        NativeLibraries.Load();
        NativeLibraries.Load();
        Assert.Null(NativeLibraries.LoadedFrom);
        using var x = ones(2, 2);
        Assert.Equal(4f, x.sum().item<float>());
    }

    [Fact]
    public void TheBackendANotebookReferencesIsReadFromTheFoldersOnPath()
    {
        const string cpu = "/usr/bin:/home/u/.nuget/packages/torchsharp-cpu/0.107.0/:/home/u/.nuget/packages/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native";
        const string cuda = "/usr/bin:/home/u/.nuget/packages/torchsharp-cuda-linux/0.107.0/:/home/u/.nuget/packages/libtorch-cuda-12.8-linux-x64-part1/2.10.0/";
        Assert.Equal("cpu", NativeLibraries.ReferencedBackend(cpu));
        Assert.Equal("cuda", NativeLibraries.ReferencedBackend(cuda));
        Assert.Null(NativeLibraries.ReferencedBackend("/usr/local/bin:/usr/bin"));
        Assert.Null(NativeLibraries.ReferencedBackend(cpu + ":" + cuda));
        Assert.Null(NativeLibraries.ReferencedBackend(null));
    }

    [Fact]
    public void TheBuiltBackendIsTheLibtorchInTheFolder()
    {
        var folder = Directory.CreateTempSubdirectory("distill-natives-").FullName;
        try
        {
            Assert.Null(NativeLibraries.BuiltBackend(folder));
            File.WriteAllBytes(Path.Combine(folder, "libtorch_cpu.so"), []);
            Assert.Equal("cpu", NativeLibraries.BuiltBackend(folder));
            File.WriteAllBytes(Path.Combine(folder, "libtorch_cuda.so"), []);
            Assert.Equal("cuda", NativeLibraries.BuiltBackend(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void FSharpCoreBindsToALoadedOneOfTheSameMajorVersionAndNoNewer()
    {
        var loaded = typeof(Microsoft.FSharp.Core.Unit).Assembly;
        var version = loaded.GetName().Version!;
        AssemblyName Asking(Version v) => new($"FSharp.Core, Version={v}, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a");
        var assemblies = AppDomain.CurrentDomain.GetAssemblies();

        Assert.Same(loaded, FSharpCoreBinding.Loaded(assemblies, Asking(new Version(version.Major, version.Minor + 1, 0, 0))));
        Assert.Null(FSharpCoreBinding.Loaded(assemblies, Asking(new Version(version.Major + 1, 0, 0, 0))));
        Assert.Null(FSharpCoreBinding.Loaded([typeof(NativeLibrariesTests).Assembly], Asking(version)));
    }

    [Fact]
    public void TheLibrarysOwnBuildOutputHoldsLibtorchAndThePatchedBridge()
    {
        if (!OperatingSystem.IsLinux()) return;
        // This test's folder is tests/DistillSharp.Tests/bin/<configuration>/net10.0/; the library's is lib/DistillSharp/bin/<configuration>/net10.0/.
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = here.Parent!.Name;
        var root = here.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        var library = Path.Combine(root, "lib", "DistillSharp", "bin", configuration, here.Name, "runtimes", "linux-x64", "native");
        var ours = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");

        Assert.True(File.Exists(Path.Combine(library, "libtorch_cpu.so")), $"no libtorch_cpu.so in {library}");
        Assert.True(File.Exists(Path.Combine(library, "libc10.so")), $"no libc10.so in {library}");
        // Both copies of libLibTorchSharp.so went through the same native-compatibility step of the build.
        Assert.Equal(File.ReadAllBytes(Path.Combine(ours, "libLibTorchSharp.so")), File.ReadAllBytes(Path.Combine(library, "libLibTorchSharp.so")));
    }
}
