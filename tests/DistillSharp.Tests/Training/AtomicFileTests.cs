using System.Diagnostics;
using DistillSharp.Training;

namespace DistillSharp.Tests.Training;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("distill-atomic-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void AWriterThatFailsHalfWayLeavesThePreviousFileIntact()
    {
        var path = Path.Combine(folder, "metrics.csv");
        AtomicFile.WriteAllText(path, "old content");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new InvalidOperationException("writer died");
        }));
        Assert.Equal("old content", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(folder));
    }

    [Fact]
    public void AKilledWriterProcessLeavesThePreviousFileIntact()
    {
        // A child process writes through the same code path and is killed mid-write (SIGKILL, no cleanup).
        var path = Path.Combine(folder, "checkpoint.bin");
        AtomicFile.WriteAllText(path, "previous checkpoint");
        var cli = Path.Combine(AppContext.BaseDirectory, "distill.dll");
        var start = new ProcessStartInfo("dotnet", [cli, "debug-slow-write", path]) { RedirectStandardOutput = true };
        using var child = Process.Start(start)!;
        Assert.Equal("writing", child.StandardOutput.ReadLine());   // the child is inside the write
        child.Kill();
        child.WaitForExit();
        Assert.Equal("previous checkpoint", File.ReadAllText(path));
        // The next write succeeds and clears the stray temporary file.
        AtomicFile.WriteAllText(path, "next");
        Assert.Equal("next", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(folder));
    }
}
