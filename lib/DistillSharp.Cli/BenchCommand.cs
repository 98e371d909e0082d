using System.CommandLine;
using System.Globalization;
using DistillSharp.Distillers;
using DistillSharp.Training;
using DistillSharp.Training.Benchmarks;

namespace DistillSharp.Cli;

/// <summary>
/// <c>distill bench</c>: training, evaluation and data-pipeline throughput (tensors in memory, and PNG and JPEG image
/// folders decoded on a stated number of threads) and peak memory as a table (or CSV, JSON);
/// with <c>--leak-check</c>, memory after each epoch of real training. The measuring is in the library
/// (<see cref="Benchmark"/>, <see cref="BenchmarkRunner"/>); each row runs in a child process of this program.
/// </summary>
internal static class BenchCommand
{
    private static readonly string[] Formats = ["table", "csv", "json"];
    private const string DefaultModels = "resnet20,resnet8x4,resnet32x4:resnet8x4";
    private const string DefaultLeakModels = "resnet20:resnet8";

    /// <summary>The default methods: <c>none</c> and every registered method that needs a teacher.</summary>
    private static string DefaultMethods => string.Join(",", DistillerRegistry.Names.Where(m => m == StudentAlone.Name || DistillerRegistry.Get(m).NeedsTeacher));

    public static Command Create()
    {
        var models = new Option<string?>("--models")
        {
            Description = $"Comma-separated networks (trained alone) and TEACHER:STUDENT pairs (distilled with each method); default {DefaultModels} ({DefaultLeakModels} with --leak-check).",
        };
        var methods = new Option<string?>("--methods")
        {
            Description = $"Comma-separated methods: each pair is distilled with each; a method without a teacher also trains each network alone " +
                $"beside 'none'; default: {DefaultMethods} (methods without a teacher, e.g. one,ffm-cd, only when listed).",
        };
        var batch = new NumberOption("--batch-size", "Training batch size (evaluation uses at least 256)", TrainingOptions.BatchSizeRange, 64);
        var warmup = new NumberOption("--warmup", "Untimed steps before the timed windows", ValueRange.Whole(0, 100_000), 10);
        var steps = new NumberOption("--steps", "Steps per timed window", ValueRange.Whole(1, 100_000), 10);
        var windows = new NumberOption("--windows", "Timed windows (the table shows their median and spread)", ValueRange.Whole(1, 1000), 5);
        var threads = new NumberOption("--threads", "libtorch intra-op threads (default: the library's setting)", ValueRange.Whole(1, 1024));
        var decodeThreads = new NumberOption("--decode-threads", "Threads that decode a batch in the image-folder data rows (default: one per processor)", RunSpec.DecodeThreadsRange);
        var format = new Option<string>("--format") { Description = "Output format: table | csv | json.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(Formats);
        var parameters = new Option<string[]>("--param", "-P") { Description = "A method parameter as name=value (repeatable), e.g. -P nce_k=16384." };
        var inProcess = new Option<bool>("--in-process") { Description = "Measure every row in this process (faster to start; peaks then accumulate across rows)." };
        var leak = new Option<bool>("--leak-check") { Description = "Train through the Trainer for --epochs epochs and report memory after each (acceptance: within 5% of epoch 2)." };
        var epochs = new NumberOption("--epochs", "Epochs of the leak check", ValueRange.Whole(2, 100_000), 10);
        var subset = new NumberOption("--subset", "Training images of the leak check (at least one batch)", RunSpec.SubsetRange, 1024);
        var dataset = new Option<string>("--dataset") { Description = "The leak check's data: synthetic, or a dataset such as fashion-mnist.", DefaultValueFactory = _ => "synthetic" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Data folder for a real dataset, the only one read when given (else $DISTILL_DATA, likewise; else ./data, then /usr/share/datasets)." };
        var teacherPrecision = new Option<string>("--teacher-precision")
        {
            Description = $"Number format of the pairs' teachers: {string.Join(" | ", TeacherPrecision.Choices)} (auto = bf16 on a CPU with AMX-BF16 or AVX512-BF16).",
            DefaultValueFactory = _ => TeacherPrecision.Fp32,
        };
        var foldTeacherBn = new Option<bool>("--fold-teacher-bn")
        {
            Description = "Run the pairs' fp32 teachers in eval mode with their batch norms folded into their convolutions (bf16 teachers always are; train-mode teachers never).",
        };
        var worker = new Option<bool>("--worker") { Description = "Internal: measure one request read from standard input.", Hidden = true };
        var command = new Command("bench", "Measure training, evaluation and data-pipeline speed and peak memory (or, with --leak-check, memory per epoch).")
        {
            models, methods, batch.Option, warmup.Option, steps.Option, windows.Option, threads.Option, decodeThreads.Option, format, parameters, inProcess, leak,
            epochs.Option, subset.Option, dataset, dataDir, teacherPrecision, foldTeacherBn, worker,
        };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error ?? Console.Error;
            if (parse.GetValue(worker)) return BenchmarkRunner.RunWorker(Console.In, output);

            bool leakCheck = parse.GetValue(leak);
            var modelList = Split(parse.GetValue(models) ?? (leakCheck ? DefaultLeakModels : DefaultModels));
            var methodList = Split(parse.GetValue(methods) ?? DefaultMethods);
            BenchmarkCase.Validate(modelList, methodList);
            var given = TrainCommands.ParseParameters(parse.GetValue(parameters) ?? [], methodList.SelectMany(m => DistillerRegistry.Get(m).Parameters));
            foreach (var name in given.Keys)
            {
                if (!methodList.Any(m => DistillerRegistry.Get(m).Parameters.Any(p => p.Name == name)))
                {
                    throw new DistillSharpException($"--param '{name}' belongs to none of the methods {string.Join(", ", methodList)}; 'distill methods' lists their parameters.");
                }
            }
            var settings = new BenchmarkSettings
            {
                BatchSize = batch.IntValue(parse)!.Value, WarmupSteps = warmup.IntValue(parse)!.Value, StepsPerWindow = steps.IntValue(parse)!.Value,
                Windows = windows.IntValue(parse)!.Value, Threads = threads.IntValue(parse), DecodeThreads = decodeThreads.IntValue(parse), MethodParameters = given,
                Epochs = epochs.IntValue(parse)!.Value, LeakImages = subset.IntValue(parse)!.Value, LeakDataset = parse.GetRequiredValue(dataset),
                DataDir = parse.GetValue(dataDir), TeacherPrecision = TeacherPrecision.Check(parse.GetRequiredValue(teacherPrecision)),
                FoldTeacherBatchNorms = parse.GetValue(foldTeacherBn),
            };
            settings.Validate();
            var cases = leakCheck ? BenchmarkCase.LeakChecks(modelList, methodList) : BenchmarkCase.Defaults(modelList, methodList);

            var machine = MachineInfo.Current();
            if (MachineInfo.OneMinuteLoad() > 0.75 * machine.Cores)
            {
                error.WriteLine($"warning: the load average is {machine.LoadAverage} on {machine.Cores} cores: other work is running, and the numbers will be low and noisy.");
            }
            var results = BenchmarkRunner.Run(cases, settings, parse.GetValue(inProcess) ? null : WorkerCommandForThisProgram(),
                c => error.Write($"measuring {c.Kind.ToString().ToLowerInvariant()} {c.Network} {(c.Kind == BenchmarkKind.Data ? "" : c.Method)} ... "),
                r => error.WriteLine(r.Case.Kind == BenchmarkKind.Leak
                    ? $"{r.Epochs?.Count ?? 0} epochs"
                    : $"{r.MedianImagesPerSecond.ToString("F1", CultureInfo.InvariantCulture)} images/s"));
            var report = new BenchmarkReport(machine, settings, results, MachineInfo.LoadAverageNow());
            switch (parse.GetRequiredValue(format))
            {
                case "csv": output.Write(report.ToCsv()); break;
                case "json": output.WriteLine(report.ToJson()); break;
                default: output.Write(report.ToTable()); break;
            }
            return 0;
        });
        return command;
    }

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// How to start this program again as a worker: with the .NET host that runs this process when it is
    /// <c>dotnet</c> (also under a test host), else this executable, else <c>dotnet</c> from the PATH.
    /// </summary>
    private static WorkerCommand WorkerCommandForThisProgram()
    {
        var dll = typeof(BenchCommand).Assembly.Location;
        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet") return new(current, [dll, "bench", "--worker"]);
        if (current is not null && Path.GetFileNameWithoutExtension(current) == Path.GetFileNameWithoutExtension(dll)) return new(current, ["bench", "--worker"]);
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return new(string.IsNullOrEmpty(host) ? "dotnet" : host, [dll, "bench", "--worker"]);
    }
}
