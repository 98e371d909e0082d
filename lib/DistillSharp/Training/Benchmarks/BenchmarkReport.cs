using System.Globalization;
using System.Text;
using System.Text.Json;
using TorchSharp;

namespace DistillSharp.Training.Benchmarks;

/// <summary>
/// A benchmark's results with the machine they ran on, as a text table, CSV or JSON. Training rows of a student
/// that also has a <c>kd</c> row carry the overhead of their method relative to kd (time per step), and rows of a network
/// that also has a <c>none</c> row the overhead relative to that network trained alone.
/// </summary>
/// <param name="Machine">The machine and the settings of the libraries.</param>
/// <param name="Settings">How it was measured.</param>
/// <param name="Results">The rows, in measurement order.</param>
/// <param name="LoadAtEnd">The load averages when the last row finished.</param>
public sealed record BenchmarkReport(MachineInfo Machine, BenchmarkSettings Settings, IReadOnlyList<BenchmarkResult> Results, string LoadAtEnd)
{
    /// <summary>The largest growth of resident memory from epoch 2 to the last epoch the leak check accepts, in percent.</summary>
    public const double LeakTolerancePercent = 5;

    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>The overhead of <paramref name="row"/>'s method relative to kd for the same student, in percent of kd's step time.</summary>
    public double? OverheadVersusKdPercent(BenchmarkResult row)
    {
        if (row.Case.Kind != BenchmarkKind.Train) return null;
        var kd = Results.FirstOrDefault(r => r.Case.Kind == BenchmarkKind.Train && r.Case.Method == "kd" && r.Case.Model == row.Case.Model);
        return kd is null ? null : 100 * (row.MedianStepMilliseconds / kd.MedianStepMilliseconds - 1);
    }

    /// <summary>
    /// The overhead of <paramref name="row"/>'s method relative to the same network trained alone (method <c>none</c>),
    /// in percent of that step time: what a method without a teacher (online distillation) is compared with.
    /// </summary>
    public double? OverheadVersusAlonePercent(BenchmarkResult row)
    {
        if (row.Case.Kind != BenchmarkKind.Train || row.Case.Method == StudentAloneName) return null;
        var alone = Results.FirstOrDefault(r => r.Case.Kind == BenchmarkKind.Train && r.Case.Method == StudentAloneName && r.Case.Model == row.Case.Model);
        return alone is null ? null : 100 * (row.MedianStepMilliseconds / alone.MedianStepMilliseconds - 1);
    }

    private const string StudentAloneName = DistillSharp.Distillers.StudentAlone.Name;

    /// <summary>The header lines: the machine, the libraries, the load and the method of measurement.</summary>
    public IEnumerable<string> HeaderLines()
    {
        var m = Machine;
        yield return "distill bench: training, evaluation and data-pipeline throughput on synthetic CIFAR-100-shaped data (3x32x32, 100 classes); " +
            "the image-folder rows decode generated files (32x32 PNG; 500x375 JPEG, quality 90)";
        yield return $"machine:   {m.Cpu}, {m.Cores} cores, {m.System}";
        yield return $"backend:   {m.Backend}, .NET {Environment.Version}, device {m.Device}, threads {m.Threads} intra-op / {m.InteropThreads} inter-op";
        yield return $"allocator: {m.Allocator}";
        yield return $"load:      {m.LoadAverage} at start, {LoadAtEnd} at end (1/5/15-minute averages)";
        var s = Settings;
        yield return $"setting:   batch {s.BatchSize} (eval {s.EvalBatchSize}), warm-up {s.WarmupSteps} steps, {s.Windows} windows x {s.StepsPerWindow} steps; " +
            $"SGD momentum 0.9, weight decay 5e-4; method constants of the cpu profile{Overrides(s)}; " +
            $"teacher {Training.TeacherPrecision.NameOf(Training.TeacherPrecision.Resolve(s.TeacherPrecision, torch.CPU))}" +
            (s.TeacherPrecision == Training.TeacherPrecision.Auto ? " (auto)" : "") + Folding(s);
        yield return Results.All(r => r.Isolated)
            ? "memory:    peak = VmHWM of the child process that ran the row alone; base = its resident size before the networks were built"
            : "memory:    peak = VmHWM of this process so far (rows share the process: later peaks include earlier rows)";
    }

    /// <summary>
    /// ", batch norms folded" when the eval-mode teachers run folded (bf16, or fp32 with the option); train-mode teachers
    /// (OFD, LONDON) are never folded.
    /// </summary>
    private static string Folding(BenchmarkSettings s) =>
        s.FoldTeacherBatchNorms || Training.TeacherPrecision.Resolve(s.TeacherPrecision, torch.CPU) == torch.ScalarType.BFloat16
            ? ", batch norms folded into convolutions (teachers in train mode: fp32, unfolded)"
            : "";

    private static string Overrides(BenchmarkSettings s) =>
        s.MethodParameters.Count == 0 ? "" : " with " + string.Join(", ", s.MethodParameters.Select(kv => $"{kv.Key}={kv.Value.ToString(C)}"));

    /// <summary>The report as aligned text: header lines, then one row per measurement (or per leak-check epoch).</summary>
    public string ToTable()
    {
        var sb = new StringBuilder();
        foreach (var line in HeaderLines()) sb.AppendLine(line);
        sb.AppendLine();
        var timed = Results.Where(r => r.Case.Kind != BenchmarkKind.Leak).ToList();
        if (timed.Count > 0)
        {
            var rows = new List<string[]> { new[] { "kind", "network", "method", "batch", "images/s", "spread", "ms/step", "peak MB", "base MB", "vs kd", "vs alone", "decode threads" } };
            foreach (var r in timed)
            {
                var vs = OverheadVersusKdPercent(r);
                var va = OverheadVersusAlonePercent(r);
                rows.Add([Kind(r.Case.Kind), r.Case.Network, r.Case.Kind == BenchmarkKind.Data ? "" : r.Case.Method, r.BatchSize.ToString(C),
                    r.MedianImagesPerSecond.ToString("F1", C), r.SpreadPercent.ToString("F1", C) + "%", r.MedianStepMilliseconds.ToString("F2", C),
                    Mb(r.PeakBytes).ToString("F0", C), Mb(r.BaselineBytes).ToString("F0", C), vs is double v ? v.ToString("+0.0;-0.0", C) + "%" : "",
                    va is double a ? a.ToString("+0.0;-0.0", C) + "%" : "", r.DecodeThreads?.ToString(C) ?? ""]);
            }
            Align(sb, rows, leftColumns: 3);
        }
        var leaks = Results.Where(r => r.Case.Kind == BenchmarkKind.Leak).ToList();
        if (leaks.Count > 0)
        {
            var rows = new List<string[]> { new[] { "kind", "network", "method", "epoch", "RSS MB", "in use MB", "live tensors", "managed MB", "seconds" } };
            foreach (var r in leaks)
            {
                foreach (var e in r.Epochs ?? [])
                {
                    rows.Add(["leak", r.Case.Network, r.Case.Method, e.Epoch.ToString(C), Mb(e.ResidentBytes).ToString("F1", C),
                        Mb(e.TrimmedBytes).ToString("F1", C), e.LiveTensors.ToString(C), Mb(e.ManagedBytes).ToString("F1", C), e.Seconds.ToString("F2", C)]);
                }
            }
            Align(sb, rows, leftColumns: 3);
            sb.AppendLine();
            foreach (var r in leaks) sb.AppendLine(LeakVerdict(r));
        }
        return sb.ToString();
    }

    /// <summary>The leak check's conclusion for one configuration.</summary>
    public static string LeakVerdict(BenchmarkResult r)
    {
        var epochs = r.Epochs ?? [];
        if (r.GrowthAfterEpoch2Percent is not double g) return $"leak check {r.Case.Network} {r.Case.Method}: fewer than 2 epochs, nothing to compare.";
        bool holds = Math.Abs(g) <= LeakTolerancePercent;
        return $"leak check {r.Case.Network} {r.Case.Method}: in use after epoch {epochs[^1].Epoch} {Mb(epochs[^1].TrimmedBytes).ToString("F1", C)} MB, " +
            $"{g.ToString("+0.00;-0.00", C)}% against epoch 2 ({Mb(epochs[1].TrimmedBytes).ToString("F1", C)} MB; untrimmed RSS " +
            $"{r.ResidentGrowthAfterEpoch2Percent!.Value.ToString("+0.00;-0.00", C)}%), live tensors {epochs[1].LiveTensors} -> {epochs[^1].LiveTensors}; " +
            $"limit {LeakTolerancePercent.ToString(C)}%: " + (holds ? "holds" : "FAILS");
    }

    /// <summary>The rows as CSV (a header line, then one line per row; leak checks: one line per epoch).</summary>
    public string ToCsv()
    {
        var sb = new StringBuilder();
        if (Results.Any(r => r.Case.Kind != BenchmarkKind.Leak))
        {
            sb.AppendLine("kind,model,teacher,method,batch,threads,images_per_s,min_images_per_s,max_images_per_s,spread_pct,step_ms,peak_mb,base_mb,vs_kd_pct,vs_alone_pct,decode_threads");
            foreach (var r in Results.Where(r => r.Case.Kind != BenchmarkKind.Leak))
            {
                sb.AppendLine(string.Join(',', Kind(r.Case.Kind), r.Case.Kind == BenchmarkKind.Data ? r.Case.Network : r.Case.Model, r.Case.Teacher ?? "",
                    r.Case.Kind == BenchmarkKind.Data ? "" : r.Case.Method, r.BatchSize.ToString(C), r.Threads.ToString(C),
                    F(r.MedianImagesPerSecond), F(r.MinImagesPerSecond), F(r.MaxImagesPerSecond), F(r.SpreadPercent), F(r.MedianStepMilliseconds),
                    F(Mb(r.PeakBytes)), F(Mb(r.BaselineBytes)), OverheadVersusKdPercent(r) is double v ? F(v) : "",
                    OverheadVersusAlonePercent(r) is double a ? F(a) : "", r.DecodeThreads?.ToString(C) ?? ""));
            }
        }
        if (Results.Any(r => r.Case.Kind == BenchmarkKind.Leak))
        {
            sb.AppendLine("kind,model,teacher,method,epoch,rss_mb,in_use_mb,live_tensors,managed_mb,seconds");
            foreach (var r in Results.Where(r => r.Case.Kind == BenchmarkKind.Leak))
            {
                foreach (var e in r.Epochs ?? [])
                {
                    sb.AppendLine(string.Join(',', "leak", r.Case.Model, r.Case.Teacher ?? "", r.Case.Method, e.Epoch.ToString(C),
                        F(Mb(e.ResidentBytes)), F(Mb(e.TrimmedBytes)), e.LiveTensors.ToString(C), F(Mb(e.ManagedBytes)), F(e.Seconds)));
                }
            }
        }
        return sb.ToString();
    }

    /// <summary>The whole report as JSON: machine, settings, load, and every row with its windows.</summary>
    public string ToJson()
    {
        var doc = new
        {
            tool = "distill bench",
            torch = torch.__version__,
            machine = Machine,
            loadAtEnd = LoadAtEnd,
            settings = new
            {
                batchSize = Settings.BatchSize, evalBatchSize = Settings.EvalBatchSize, warmupSteps = Settings.WarmupSteps,
                stepsPerWindow = Settings.StepsPerWindow, windows = Settings.Windows, threads = Settings.Threads, decodeThreads = Settings.DecodeThreads,
                channels = Settings.Channels, imageSize = Settings.ImageSize, classes = Settings.Classes, trainImages = Settings.TrainImages,
                methodParameters = Settings.MethodParameters,
                teacherPrecision = Settings.TeacherPrecision,
                resolvedTeacherPrecision = Training.TeacherPrecision.NameOf(Training.TeacherPrecision.Resolve(Settings.TeacherPrecision, torch.CPU)),
                foldTeacherBatchNorms = Settings.FoldTeacherBatchNorms,
            },
            rows = Results.Select(r => new
            {
                kind = Kind(r.Case.Kind), model = r.Case.Model, teacher = r.Case.Teacher, method = r.Case.Method, network = r.Case.Network,
                batch = r.BatchSize, threads = r.Threads, decodeThreads = r.DecodeThreads,
                imagesPerSecond = Nan(r.MedianImagesPerSecond), minImagesPerSecond = Nan(r.MinImagesPerSecond), maxImagesPerSecond = Nan(r.MaxImagesPerSecond),
                spreadPercent = Nan(r.SpreadPercent), stepMilliseconds = Nan(r.MedianStepMilliseconds),
                windowImagesPerSecond = r.WindowImagesPerSecond, peakMb = Mb(r.PeakBytes), baseMb = Mb(r.BaselineBytes),
                vsKdPercent = OverheadVersusKdPercent(r), vsAlonePercent = OverheadVersusAlonePercent(r), isolated = r.Isolated,
                epochs = r.Epochs?.Select(e => new { epoch = e.Epoch, rssMb = Mb(e.ResidentBytes), inUseMb = Mb(e.TrimmedBytes), liveTensors = e.LiveTensors, managedMb = Mb(e.ManagedBytes), seconds = e.Seconds }),
                leakGrowthPercent = r.GrowthAfterEpoch2Percent,
            }),
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }

    private static double? Nan(double v) => double.IsFinite(v) ? v : null;

    private static string Kind(BenchmarkKind k) => k.ToString().ToLowerInvariant();

    private static double Mb(long bytes) => bytes / (1024.0 * 1024.0);

    private static string F(double v) => double.IsFinite(v) ? v.ToString("0.###", C) : "";

    private static void Align(StringBuilder sb, List<string[]> rows, int leftColumns)
    {
        int columns = rows[0].Length;
        var widths = Enumerable.Range(0, columns).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            var cells = row.Select((cell, c) => c < leftColumns ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]));
            sb.AppendLine(string.Join("  ", cells).TrimEnd());
        }
    }
}
