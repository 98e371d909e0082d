using System.Text.Json;
using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Training;

/// <summary>The outcome of evaluating a checkpoint.</summary>
public sealed record EvaluationResult(string Model, string Dataset, long Images, double Loss, double Top1, double Top5);

/// <summary>
/// One run from a <see cref="RunSpec"/>: loads the data, builds the networks and the method, and trains with the
/// <see cref="Trainer"/>. The command line and the notebooks both run experiments through here.
/// </summary>
public static class Experiment
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// Runs <paramref name="spec"/> into <paramref name="outFolder"/> (null: nothing written). A folder that already
    /// holds a checkpoint is continued with <paramref name="resume"/> and refused without it, so no run is overwritten.
    /// </summary>
    public static RunResult Run(RunSpec spec, string? outFolder, bool resume = false, ITrainingObserver? observer = null)
    {
        // Everything that can be checked without data is checked first, so a typo costs no loading time.
        spec.Options.Validate();
        var entry = DistillerRegistry.Get(spec.Method);
        _ = new MethodSettings(spec.Method, entry.Parameters, spec.MethodParameters);
        if (!ModelZoo.Names.Contains(spec.Student)) _ = ModelZoo.Create(spec.Student, 10);   // throws with suggestions
        if (entry.NeedsTeacher && spec.Teacher is null)
        {
            throw new DistillSharpException($"method '{spec.Method}' needs a teacher: a run folder from 'distill train' or a checkpoint file.");
        }
        var device = ComputeDevice.Resolve(spec.Device);
        var folder = outFolder is null ? null : new RunFolder(outFolder);
        if (folder is not null) PrepareFolder(folder, spec, resume);

        using var data = LoadData(spec.Dataset, spec.DataDir, spec.TrainSubset, spec.TestSubset, spec.Options.Seed);
        var info = data.Info;
        ZooModel? teacher = null;
        if (spec.Teacher is not null)
        {
            var (model, header) = Checkpoint.LoadModel(Checkpoint.ResolveTeacher(spec.Teacher));
            ModelDataFit.CheckTeacher(spec.Teacher, header, info);
            teacher = model;
        }
        torch.random.manual_seed(spec.Options.Seed);
        var student = ModelZoo.Create(spec.Student, info.NumClasses, info.Channels);
        var context = new DistillerContext(student, teacher, data.Train.Count, data.Train.Labels, info.NumClasses, info.Channels, info.Height, spec.Options.Seed);
        using var distiller = DistillerRegistry.Create(spec.Method, context, spec.MethodParameters);
        distiller.MoveTo(device);

        var train = new DataLoader(data.Train, spec.Options.BatchSize, shuffle: true, spec.Options.Seed, Augmentation.Train(info), device);
        var test = new DataLoader(data.Test, Math.Max(spec.Options.BatchSize, 256), shuffle: false, spec.Options.Seed, Augmentation.Eval(info), device);
        var trainer = new Trainer(distiller, train, test, spec.Options, folder, observer,
            epoch => new CheckpointHeader(spec.Student, info.NumClasses, info.Channels, info.Name, spec.Method, epoch, spec.Options.Seed, double.NaN));
        var result = trainer.Fit(resume);
        if (folder is not null) WriteSummary(folder, spec, result);
        teacher?.Dispose();
        return result;
    }

    /// <summary>Evaluates the network in <paramref name="checkpointPath"/> on a test set (by default the one it was trained on).</summary>
    public static EvaluationResult Evaluate(string checkpointPath, string? dataset, string? dataDir, int batchSize, string deviceName)
    {
        var device = ComputeDevice.Resolve(deviceName);
        var (model, header) = Checkpoint.LoadModel(checkpointPath);
        ModelDataFit.CheckEvaluation(checkpointPath, header, dataset);
        using var data = LoadData(dataset ?? header.Dataset, dataDir, null, null, header.Seed);
        using var distiller = new StudentAlone(model);
        distiller.MoveTo(device);
        var loader = new DataLoader(data.Test, batchSize, shuffle: false, 0, Augmentation.Eval(data.Info), device);
        var (loss, top1, top5) = Evaluation.Run(distiller, loader);
        return new EvaluationResult(header.Model, data.Info.Name, data.Test.Count, loss, top1, top5);
    }

    /// <summary>The train and test sets of <paramref name="dataset"/>, cut to class-balanced subsets when asked.</summary>
    public static DatasetSplits LoadData(string dataset, string? dataDir, int? trainSubset, int? testSubset, long seed)
    {
        var splits = DatasetCatalog.Load(dataset, DataLocation.Resolve(dataDir));
        IImageDataset train = splits.Train, test = splits.Test;
        if (trainSubset is int n) train = ClassBalancedSubset.Create(splits.Train, n, seed, ownsSource: true);
        if (testSubset is int m) test = ClassBalancedSubset.Create(splits.Test, m, seed, ownsSource: true);
        return new DatasetSplits(splits.Info, train, test);
    }

    private static void PrepareFolder(RunFolder folder, RunSpec spec, bool resume)
    {
        bool hasCheckpoint = File.Exists(folder.LastCheckpoint);
        if (hasCheckpoint && !resume)
        {
            throw new DistillSharpException(
                $"run folder {folder.Path} already holds a run; pass --resume to continue it, or --out to start a new one elsewhere.");
        }
        if (resume && File.Exists(folder.Config))
        {
            var saved = JsonSerializer.Deserialize<RunSpec>(File.ReadAllText(folder.Config));
            if (saved is not null && (saved.Method != spec.Method || saved.Student != spec.Student || saved.Dataset != spec.Dataset || saved.Options.Seed != spec.Options.Seed))
            {
                throw new DistillSharpException(
                    $"--resume: {folder.Config} is a {saved.Method} run of {saved.Student} on {saved.Dataset} with seed {saved.Options.Seed}, " +
                    $"not {spec.Method} of {spec.Student} on {spec.Dataset} with seed {spec.Options.Seed}; use the same options or another --out.");
            }
        }
        AtomicFile.WriteAllText(folder.Config, JsonSerializer.Serialize(spec, Json));
    }

    private static void WriteSummary(RunFolder folder, RunSpec spec, RunResult result)
    {
        var summary = new
        {
            spec.Method, spec.Student, spec.Teacher, spec.Dataset, spec.Profile, spec.Options.Seed, spec.Options.Epochs,
            TrainImages = spec.TrainSubset, TestImages = spec.TestSubset,
            LastTop1 = result.Last.TestTop1, LastTop5 = result.Last.TestTop5, BestTop1 = result.Best.TestTop1, BestEpoch = result.Best.Epoch,
            Seconds = result.Epochs.Sum(e => e.Seconds),
            Machine = $"{Environment.ProcessorCount} cores, {ComputeDevice.Backend}, libtorch {torch.__version__}",
        };
        AtomicFile.WriteAllText(folder.Summary, JsonSerializer.Serialize(summary, Json));
    }
}
