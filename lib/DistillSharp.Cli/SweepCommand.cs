using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using DistillSharp.Notebooks;
using DistillSharp.Reporting;

namespace DistillSharp.Cli;

/// <summary>
/// <c>distill sweep NOTEBOOK.ipynb -p alpha=0.5,0.9 -p seed=1,2,3 [--jobs N] [--out DIR]</c>: runs the notebook once
/// per combination of the values (cartesian product), each in its own <c>distill run</c> process, at most N at a
/// time, then gathers the runs' results tables into <c>results.csv</c>, the mean and standard deviation over
/// <c>seed</c> into <c>summary.csv</c> and a plot of them into <c>summary.html</c>.
/// </summary>
internal static class SweepCommand
{
    public static Command Create()
    {
        var notebook = new Argument<string>("notebook") { Description = "The .ipynb notebook to sweep." };
        var parameters = RunCommand.ParameterOption(
            "A swept parameter and its values: -p name=v1,v2,... (repeat for more; arrays as [1,2],[3,4]).");
        var jobs = new NumberOption("--jobs", "Runs at once (default 1)", ValueRange.Whole(1, 256), 1, "-j");
        var outDir = new Option<string?>("--out") { Description = "Folder for the runs (default: artifacts/sweeps/NAME-TIMESTAMP)." };
        var command = new Command("sweep", "Run a notebook over a grid of parameter values and summarise the results over seeds.")
        {
            notebook, parameters, jobs.Option, outDir,
        };
        command.SetAction(parse =>
        {
            var config = parse.InvocationConfiguration;
            return Sweep(parse.GetRequiredValue(notebook), parse.GetValue(parameters) ?? [], jobs.IntValue(parse)!.Value,
                parse.GetValue(outDir), config.Output, config.Error);
        });
        return command;
    }

    private static int Sweep(string input, string[] parameterArgs, int jobs, string? outDir, TextWriter stdout, TextWriter stderr)
    {
        if (jobs < 1)
        {
            throw new DistillSharpException($"--jobs {jobs}: give at least 1.");
        }
        if (!File.Exists(input))
        {
            throw new DistillSharpException($"notebook {input} not found.");
        }
        var notebook = NotebookFile.Read(input);

        var swept = new List<KeyValuePair<string, IReadOnlyList<string>>>();
        foreach (var arg in parameterArgs)
        {
            var (name, values) = NotebookParameters.ParseAssignment(arg);
            if (swept.Any(s => s.Key == name))
            {
                throw new DistillSharpException($"-p {name} is given twice; list all its values in one: -p {name}=v1,v2.");
            }
            swept.Add(KeyValuePair.Create(name, NotebookParameters.SplitValues(values)));
        }
        var combinations = NotebookSweep.Combinations(swept);
        foreach (var combination in combinations)
        {
            // Checks every name and value against the parameters cell before anything runs.
            NotebookParameters.CreateInjectedCell(notebook, combination);
        }

        var name0 = Path.GetFileNameWithoutExtension(input);
        var folder = Path.GetFullPath(outDir ?? Path.Combine("artifacts", "sweeps",
            $"{name0}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}"));
        Directory.CreateDirectory(folder);
        stdout.WriteLine($"sweep: {combinations.Count} run{(combinations.Count == 1 ? "" : "s")} of {input}, {jobs} at a time, in {folder}");

        var runs = combinations.Select((combination, i) => new PlannedRun(i + 1, combination, Path.Combine(folder, RunName(i + 1, combination)))).ToList();
        var gate = new object();
        using var slots = new SemaphoreSlim(jobs);
        var tasks = runs.Select(async run =>
        {
            await slots.WaitAsync().ConfigureAwait(false);
            try
            {
                await Execute(run, Path.GetFullPath(input)).ConfigureAwait(false);
                lock (gate)
                {
                    var label = $"[{run.Index}/{runs.Count}] {Describe(run.Parameters)}";
                    stdout.WriteLine(run.ExitCode == 0
                        ? $"{label}: ok ({run.Seconds:0.0} s)"
                        : $"{label}: FAILED (exit code {run.ExitCode}); partial notebook: {run.NotebookPath}; log: {run.LogPath}");
                    stdout.Flush();
                }
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        Task.WhenAll(tasks).GetAwaiter().GetResult();

        WriteManifest(folder, swept.Select(s => s.Key).ToList(), runs);
        var succeeded = runs.Where(r => r.ExitCode == 0).ToList();
        var results = NotebookSweep.Gather(
            succeeded.Select(r => new SweepRun(r.Parameters, NotebookContext.ResultsPathFor(r.NotebookPath))).ToList(), out var missing);
        foreach (var run in missing)
        {
            stderr.WriteLine($"warning: {Describe(run.Parameters)} saved no results table (call NotebookResults.Save in the notebook).");
        }
        if (results.Rows.Count > 0)
        {
            var sweptNames = swept.Select(s => s.Key).ToList();
            var summary = NotebookSweep.Summarize(results, sweptNames);
            results.Write(Path.Combine(folder, "results.csv"));
            summary.Write(Path.Combine(folder, "summary.csv"));
            File.WriteAllText(Path.Combine(folder, "summary.html"),
                NotebookSweep.SummaryHtml(summary, $"Sweep of {name0}: {string.Join("; ", swept.Select(s => $"{s.Key} = {string.Join(", ", s.Value)}"))}"),
                new UTF8Encoding(false));
            stdout.WriteLine($"results: {Path.Combine(folder, "results.csv")} ({results.Rows.Count} rows)");
            stdout.WriteLine($"summary: {Path.Combine(folder, "summary.csv")} ({summary.Rows.Count} rows), plot: {Path.Combine(folder, "summary.html")}");
        }

        var failed = runs.Where(r => r.ExitCode != 0).ToList();
        if (failed.Count > 0)
        {
            stderr.WriteLine($"error: {failed.Count} of {runs.Count} runs failed:");
            foreach (var run in failed)
            {
                stderr.WriteLine($"  {Describe(run.Parameters)}: exit code {run.ExitCode}; partial notebook: {run.NotebookPath}; log: {run.LogPath}");
            }
            return CliApp.NotebookFailed;
        }
        return 0;
    }

    private static async Task Execute(PlannedRun run, string input)
    {
        var (fileName, prefix) = Self();
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Environment.CurrentDirectory,
        };
        foreach (var arg in prefix.Concat(["run", input]))
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (name, value) in run.Parameters)
        {
            start.ArgumentList.Add("-p");
            start.ArgumentList.Add($"{name}={value}");
        }
        start.ArgumentList.Add("--out");
        start.ArgumentList.Add(run.NotebookPath);

        var clock = Stopwatch.StartNew();
        await using var log = new StreamWriter(run.LogPath, append: false, new UTF8Encoding(false));
        var logGate = new object();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (logGate) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (logGate) log.WriteLine(e.Data); };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new DistillSharpException($"cannot start {fileName} for a sweep run: {e.Message}", e);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.WaitForExitAsync().ConfigureAwait(false);
        run.ExitCode = process.ExitCode;
        run.Seconds = clock.Elapsed.TotalSeconds;
    }

    /// <summary>How to start this program again: the <c>distill</c> executable, or <c>dotnet distill.dll</c>.</summary>
    private static (string FileName, string[] Prefix) Self()
    {
        if (Environment.ProcessPath is { } current && Path.GetFileNameWithoutExtension(current) == "distill")
        {
            return (current, []);
        }
        var assembly = typeof(CliApp).Assembly.Location;
        var appHost = Path.Combine(Path.GetDirectoryName(assembly)!, OperatingSystem.IsWindows() ? "distill.exe" : "distill");
        if (File.Exists(appHost))
        {
            return (appHost, []);
        }
        var host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet"
            ? p
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        return (host, [assembly]);
    }

    private static void WriteManifest(string folder, List<string> names, List<PlannedRun> runs)
    {
        var manifest = new CsvTable(new[] { "run" }.Concat(names).Concat(["exit_code", "seconds", "notebook", "log"]));
        foreach (var run in runs)
        {
            manifest.Add(new[] { run.Index.ToString(CultureInfo.InvariantCulture) }
                .Concat(run.Parameters.Select(p => p.Value))
                .Concat([run.ExitCode.ToString(CultureInfo.InvariantCulture), CsvTable.Text(Math.Round(run.Seconds, 2)),
                    Path.GetFileName(run.NotebookPath), Path.GetFileName(run.LogPath)]).ToArray());
        }
        manifest.Write(Path.Combine(folder, "runs.csv"));
    }

    private static string Describe(IReadOnlyList<KeyValuePair<string, string>> parameters) =>
        string.Join(" ", parameters.Select(p => $"{p.Key}={p.Value}"));

    private static string RunName(int index, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        var name = new StringBuilder($"run{index:D3}");
        foreach (var (key, value) in parameters)
        {
            name.Append('_').Append(key).Append('-').Append(value);
        }
        var safe = new string(name.ToString().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
        return (safe.Length > 120 ? safe[..120] : safe) + ".ipynb";
    }

    private sealed class PlannedRun(int index, IReadOnlyList<KeyValuePair<string, string>> parameters, string notebookPath)
    {
        public int Index { get; } = index;

        public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; } = parameters;

        public string NotebookPath { get; } = notebookPath;

        public string LogPath { get; } = Path.ChangeExtension(notebookPath, ".log");

        public int ExitCode { get; set; } = -1;

        public double Seconds { get; set; }
    }
}
