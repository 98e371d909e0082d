using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using DistillSharp.Notebooks;
using DistillSharp.Reporting;

namespace DistillSharp.Tests.Notebooks;

/// <summary>
/// The repository's notebooks run at <c>profile=smoke</c>, each at most once per test process and way: through the
/// headless runner (what <c>distill run</c> executes) and under the real .NET Interactive C# kernel, driven by
/// Jupyter's client (.ci/notebooks-kernel.sh). Tests of either way, and the test comparing the two, share the runs.
/// </summary>
internal static class SmokeRuns
{
    /// <summary>How long one kernel run may take, kernel start-up included, before it is stopped.</summary>
    public static readonly TimeSpan KernelTimeout = TimeSpan.FromMinutes(15);

    private static readonly Lazy<string> LazyFolder = new(() =>
    {
        var folder = Directory.CreateTempSubdirectory("distill-repo-nb-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        return folder;
    });

    private static readonly ConcurrentDictionary<string, Lazy<Task<RunnerRun>>> Runner = new();
    private static readonly ConcurrentDictionary<string, Lazy<Task<KernelRun>>> Kernel = new();

    /// <summary>The repository root (the folder of DistillSharp.sln above the test binaries).</summary>
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "DistillSharp.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("the repository root (DistillSharp.sln) is not above the test folder");
    }

    /// <summary>The notebooks of notebooks/, by file name.</summary>
    public static IReadOnlyList<string> Names() =>
        Directory.GetFiles(Path.Combine(RepositoryRoot(), "notebooks"), "*.ipynb")
            .Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToList();

    /// <summary>The notebook <paramref name="name"/> run by the runner at smoke (its runs kept out of the repository).</summary>
    public static Task<RunnerRun> ThroughRunner(string name) =>
        Runner.GetOrAdd(name, n => new Lazy<Task<RunnerRun>>(() => RunRunner(n))).Value;

    /// <summary>The notebook <paramref name="name"/> run under the .NET Interactive kernel at smoke.</summary>
    public static Task<KernelRun> UnderKernel(string name) =>
        Kernel.GetOrAdd(name, n => new Lazy<Task<KernelRun>>(() => Task.Run(() => RunKernel(n)))).Value;

    private static async Task<RunnerRun> RunRunner(string name)
    {
        var notebook = NotebookFile.Read(Path.Combine(RepositoryRoot(), "notebooks", name));
        var declared = NotebookParameters.Declared(notebook).Select(p => p.Name).ToHashSet();
        var folder = Path.Combine(LazyFolder.Value, "runner");
        var parameters = new List<KeyValuePair<string, string>> { new("profile", "smoke") };
        if (declared.Contains("runs_dir"))
        {
            parameters.Add(new("runs_dir", Path.Combine(folder, "runs")));           // keep the runs out of the repository
        }
        var output = Path.Combine(folder, name);
        var clock = Stopwatch.StartNew();
        var run = await NotebookRunner.RunAsync(notebook, new NotebookRunOptions { Parameters = parameters, OutputPath = output });
        return new RunnerRun(run, clock.Elapsed, NotebookContext.ResultsPathFor(output));
    }

    private static KernelRun RunKernel(string name)
    {
        var root = RepositoryRoot();
        var output = Path.Combine(LazyFolder.Value, "kernel", name);
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        start.ArgumentList.Add(Path.Combine(root, ".ci", "notebooks-kernel.sh"));
        start.ArgumentList.Add(Path.Combine(root, "notebooks", name));
        start.ArgumentList.Add(output);
        // The test build has just built lib/DistillSharp (Release), which the notebook references: no second build.
        start.Environment["SKIP_BUILD"] = "1";
        foreach (var key in start.Environment.Keys.Where(IsBuildHostVariable).ToList())
        {
            start.Environment.Remove(key);   // dotnet test's own MSBuild settings would steer the kernel's package restore
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool ended = process.WaitForExit(KernelTimeout);
        if (!ended)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        process.WaitForExit();   // the end of the redirected output
        return new KernelRun(ended ? process.ExitCode : -1, ended, clock.Elapsed, output, Path.ChangeExtension(output, ".results.csv"),
            stdout.ToString() + stderr.ToString());
    }

    private static bool IsBuildHostVariable(string key) =>
        key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key.StartsWith("MSBUILD", StringComparison.Ordinal)
        || key is "DOTNET_HOST_PATH" or "VSTEST_HOST_DEBUG" or "VSTEST_RUNNER_DEBUG";
}

/// <summary>A notebook run by the headless runner: the result, its wall time and its results table's path.</summary>
internal sealed record RunnerRun(NotebookRunResult Result, TimeSpan Elapsed, string ResultsPath);

/// <summary>A notebook run under the kernel: the script's exit code, whether it ended in time, what it printed, its files.</summary>
internal sealed record KernelRun(int ExitCode, bool Ended, TimeSpan Elapsed, string NotebookPath, string ResultsPath, string Log)
{
    /// <summary>The script's own messages (lines starting "notebooks-kernel:"), which name a failing cell.</summary>
    public string Messages => string.Join("\n", Log.Split('\n').Where(l => l.StartsWith("notebooks-kernel:", StringComparison.Ordinal)));
}
