using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DistillSharp.Training.Benchmarks;

/// <summary>The command line that starts a benchmark worker (<c>distill bench --worker</c>) in a child process.</summary>
/// <param name="FileName">The executable.</param>
/// <param name="Arguments">Its arguments.</param>
public sealed record WorkerCommand(string FileName, IReadOnlyList<string> Arguments);

/// <summary>
/// Runs benchmark cases, each in a child process of its own (the default) or all in this process.
/// </summary>
/// <remarks>
/// A child process per case is what makes the peak memory of a row that row's own: the allocator keeps freed
/// memory in the process (by design, see <see cref="NativeAllocator"/>), so after one case the resident set never
/// drops back, and resetting the high-water mark (<c>/proc/self/clear_refs</c>) would still count the memory the
/// previous case left cached. Each child also starts from a cold allocator and a fresh JIT, as a user's run does.
/// The worker reads one JSON request on standard input and writes one result line on standard output.
/// </remarks>
public static class BenchmarkRunner
{
    /// <summary>The prefix of the worker's result line.</summary>
    public const string ResultMarker = "distill-bench-result: ";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>The request a worker reads.</summary>
    /// <param name="Case">What to measure.</param>
    /// <param name="Settings">How.</param>
    public sealed record WorkerRequest(BenchmarkCase Case, BenchmarkSettings Settings);

    /// <summary>
    /// Measures every case in order and reports each result to <paramref name="progress"/> as it comes. With a
    /// <paramref name="worker"/>, each case runs in a child process; without one, in this process (peaks then
    /// accumulate across rows).
    /// </summary>
    public static IReadOnlyList<BenchmarkResult> Run(IReadOnlyList<BenchmarkCase> cases, BenchmarkSettings settings,
        WorkerCommand? worker, Action<BenchmarkCase>? starting = null, Action<BenchmarkResult>? progress = null)
    {
        settings.Validate();
        var results = new List<BenchmarkResult>();
        foreach (var c in cases)
        {
            starting?.Invoke(c);
            var result = worker is null ? Benchmark.Measure(c, settings) : RunInChild(c, settings, worker);
            results.Add(result);
            progress?.Invoke(result);
        }
        return results;
    }

    /// <summary>Runs one case in a child process started with <paramref name="worker"/>.</summary>
    public static BenchmarkResult RunInChild(BenchmarkCase benchmarkCase, BenchmarkSettings settings, WorkerCommand worker)
    {
        var info = new ProcessStartInfo(worker.FileName)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in worker.Arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info)
            ?? throw new DistillSharpException($"could not start the benchmark worker '{worker.FileName}'.");
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.WriteLine(JsonSerializer.Serialize(new WorkerRequest(benchmarkCase, settings), Json));
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = stdout.Split('\n').Select(l => l.TrimEnd('\r')).LastOrDefault(l => l.StartsWith(ResultMarker, StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
        {
            var detail = string.Join(" | ", stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(2));
            throw new DistillSharpException(
                $"the benchmark worker for {benchmarkCase.Kind} {benchmarkCase.Network} ({benchmarkCase.Method}) failed with exit code {process.ExitCode}: {detail}");
        }
        return JsonSerializer.Deserialize<BenchmarkResult>(line[ResultMarker.Length..], Json)
            ?? throw new DistillSharpException("the benchmark worker returned an empty result.");
    }

    /// <summary>The worker's side: reads a request from <paramref name="input"/>, measures it, writes the result line.</summary>
    public static int RunWorker(TextReader input, TextWriter output)
    {
        var request = JsonSerializer.Deserialize<WorkerRequest>(input.ReadToEnd(), Json)
            ?? throw new DistillSharpException("the benchmark worker expects a JSON request on standard input.");
        var result = Benchmark.Measure(request.Case, request.Settings, isolated: true);
        output.WriteLine(ResultMarker + JsonSerializer.Serialize(result, Json));
        return 0;
    }
}
