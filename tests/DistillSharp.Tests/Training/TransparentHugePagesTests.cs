using System.Diagnostics;
using DistillSharp.Training;

namespace DistillSharp.Tests.Training;

public class TransparentHugePagesTests
{
    [Theory]
    // A restart adds the tunable only under madvise, on glibc 2.35 or later, when nothing sets it already.
    [InlineData(null, null, "madvise", "2.36", "glibc.malloc.hugetlb=1")]
    [InlineData("", "", "madvise", "2.35", "glibc.malloc.hugetlb=1")]
    [InlineData("tuned", null, "madvise", "2.41", "glibc.malloc.hugetlb=1")]
    [InlineData(null, "glibc.malloc.mmap_threshold=8388608", "madvise", "2.36",
        "glibc.malloc.mmap_threshold=8388608:glibc.malloc.hugetlb=1")]
    // The user's own value of the tunable stands, whatever it is.
    [InlineData(null, "glibc.malloc.hugetlb=0", "madvise", "2.36", null)]
    [InlineData(null, "glibc.malloc.trim_threshold=1:glibc.malloc.hugetlb=2", "madvise", "2.36", null)]
    // The opt-outs.
    [InlineData("default", null, "madvise", "2.36", null)]
    [InlineData("no-hugepages", null, "madvise", "2.36", null)]
    // Nothing to gain: the kernel gives huge pages to all memory, to none, or says nothing.
    [InlineData(null, null, "always", "2.36", null)]
    [InlineData(null, null, "never", "2.36", null)]
    [InlineData(null, null, null, "2.36", null)]
    // A glibc without the tunable, or none.
    [InlineData(null, null, "madvise", "2.34", null)]
    [InlineData(null, null, "madvise", null, null)]
    public void ARestartAddsTheTunableOnlyWhereItChangesThePages(string? distillMalloc, string? tunables, string? mode,
        string? glibc, string? expected)
    {
        var version = glibc is null ? null : Version.Parse(glibc);
        Assert.Equal(expected, TransparentHugePages.TunablesForRestart(distillMalloc, tunables, mode, version));
    }

    [Theory]
    [InlineData("glibc.malloc.hugetlb=1", "1")]
    [InlineData("glibc.malloc.hugetlb=2:glibc.malloc.hugetlb=0", "0")]   // the last one given wins
    [InlineData("glibc.malloc.hugetlbx=1:xglibc.malloc.hugetlb=1", null)]
    [InlineData("glibc.malloc.top_pad=4096", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void TheTunableIsReadAsGlibcReadsIt(string? tunables, string? expected) =>
        Assert.Equal(expected, TransparentHugePages.TunableValue(tunables));

    [Theory]
    [InlineData("always [madvise] never\n", "madvise")]
    [InlineData("[always] madvise never\n", "always")]
    [InlineData("always madvise [never]\n", "never")]
    [InlineData("always madvise never\n", null)]
    [InlineData("[]", null)]
    public void TheKernelModeIsTheBracketedWord(string text, string? expected) =>
        Assert.Equal(expected, TransparentHugePages.ParseKernelMode(text));

    /// <summary>
    /// The command run as a user runs it: under the kernel's madvise mode it restarts with the tunable and reports huge
    /// pages; the opt-out and a user's own value keep small pages. The expectation comes from the kernel file and
    /// glibc's version as read here, not from the code under test.
    /// </summary>
    [Fact]
    public void TheCommandRestartsItselfWithHugePagesWhereTheKernelAdvises()
    {
        var setting = File.Exists("/sys/kernel/mm/transparent_hugepage/enabled")
            ? File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled") : "";
        bool always = setting.Contains("[always]"), advise = setting.Contains("[madvise]");
        bool glibcKnows = GlibcFromLdd() is { } v && v >= new Version(2, 35);

        Assert.Contains(always || (advise && glibcKnows) ? ", transparent huge pages" : ", small pages", Allocator(null, null));
        string optOut = Allocator("no-hugepages", null);
        Assert.Contains("glibc malloc tuned", optOut);
        Assert.Contains(always ? ", transparent huge pages" : ", small pages", optOut);
        Assert.Contains(always ? ", transparent huge pages" : ", small pages", Allocator(null, "glibc.malloc.hugetlb=0"));
        Assert.StartsWith("allocator defaults", Allocator("default", null));
    }

    /// <summary>The allocator line of <c>distill info</c> run in a child process with the given variables.</summary>
    private static string Allocator(string? distillMalloc, string? tunables)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "distill.dll");
        var start = new ProcessStartInfo("dotnet", [cli, "info", "--device", "cpu"]) { RedirectStandardOutput = true };
        start.Environment.Remove("GLIBC_TUNABLES");
        start.Environment.Remove("DISTILL_MALLOC");
        if (distillMalloc is not null) start.Environment["DISTILL_MALLOC"] = distillMalloc;
        if (tunables is not null) start.Environment["GLIBC_TUNABLES"] = tunables;
        using var child = Process.Start(start)!;
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        Assert.True(child.ExitCode == 0, $"distill info exited with {child.ExitCode}: {output}");
        Assert.Contains("device:    cpu", output);   // the arguments survive the restart
        var line = output.Split('\n').Single(l => l.StartsWith("allocator: ", StringComparison.Ordinal));
        return line["allocator: ".Length..].Trim();
    }

    /// <summary>glibc's version as <c>ldd --version</c> prints it on its first line ("ldd (Debian GLIBC 2.36-9) 2.36").</summary>
    private static Version? GlibcFromLdd()
    {
        try
        {
            using var ldd = Process.Start(new ProcessStartInfo("ldd", ["--version"]) { RedirectStandardOutput = true })!;
            string first = ldd.StandardOutput.ReadLine() ?? "";
            ldd.WaitForExit();
            return Version.TryParse(first.Split(' ').Last(), out var v) ? v : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
