using System.Text.Json;
using System.Text.Json.Serialization;
using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Training;

/// <summary>The outcome of evaluating a checkpoint.</summary>
/// <param name="Model">The zoo architecture evaluated.</param>
/// <param name="Dataset">The test set.</param>
/// <param name="Images">Its size.</param>
/// <param name="Loss">Mean cross-entropy of the run's prediction.</param>
/// <param name="Top1">Top-1 (%) of the run's prediction.</param>
/// <param name="Top5">Top-5 (%) of the run's prediction.</param>
public sealed record EvaluationResult(string Model, string Dataset, long Images, double Loss, double Top1, double Top5)
{
    /// <summary>The method's predictions, the run's own first.</summary>
    public IReadOnlyList<string> Predictions { get; init; } = [Distiller.StudentPrediction];

    /// <summary>Every prediction's and mean's accuracy by column name (<c>test_top1/NAME</c>); empty for one prediction.</summary>
    public IReadOnlyDictionary<string, double> Accuracies { get; init; } = new Dictionary<string, double>();

    /// <summary>Test images that could not be read and were left out (streamed datasets only).</summary>
    public IReadOnlyList<SkippedImage> Skipped { get; init; } = [];
}

/// <summary>
/// One run from a <see cref="RunSpec"/>: loads the data, builds the networks and the method, and trains with the
/// <see cref="Trainer"/>. The command line and the notebooks both run experiments through here.
/// </summary>
public static class Experiment
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>
    /// Runs <paramref name="spec"/> into <paramref name="outFolder"/> (null: nothing written). A folder that already
    /// holds a run is continued with <paramref name="resume"/> and refused without it, so no run is overwritten.
    /// Resuming refuses a folder without a checkpoint and a spec that differs from the run's record, except in the
    /// number of epochs (which extends the run); with <paramref name="amend"/> the differences are accepted and
    /// recorded in <c>config.json</c> as a new segment from the next epoch.
    /// </summary>
    public static RunResult Run(RunSpec spec, string? outFolder, bool resume = false, ITrainingObserver? observer = null, bool amend = false)
    {
        // Everything that can be checked without data is checked first, so a typo costs no loading time.
        spec.Options.Validate();
        TeacherPrecision.Check(spec.TeacherPrecision);
        var entry = DistillerRegistry.Get(spec.Method);
        var settings = new MethodSettings(spec.Method, entry.Parameters, spec.MethodParameters);
        if (!ModelZoo.Names.Contains(spec.Student)) _ = ModelZoo.Create(spec.Student, 10);   // throws with suggestions
        if (entry.NeedsTeacher && spec.Teacher is null)
        {
            throw new DistillSharpException($"method '{spec.Method}' needs a teacher: a run folder from 'distill train' or a checkpoint file.");
        }
        if (resume && outFolder is null) throw new DistillSharpException("--resume needs the run folder to continue (--out).");
        ModelDataFit.CheckRun(spec);   // networks against the dataset's shape, from headers only: nothing native sees a mismatch
        var teacherPath = spec.Teacher is null ? null : Checkpoint.ResolveTeacher(spec.Teacher);
        var teacherHash = teacherPath is null ? null : Checkpoint.FileHash(teacherPath);
        var device = ComputeDevice.Resolve(spec.Device);
        var folder = outFolder is null ? null : new RunFolder(outFolder);
        if (folder is not null) PrepareFolder(folder, spec, teacherHash, resume, amend, observer ?? SilentObserver.Instance).Write(folder.Config);

        using var data = LoadData(spec.Dataset, spec.DataDir, spec.TrainSubset, spec.TestSubset, spec.Options.Seed, spec.DecodeThreads);
        var info = data.Info;
        ZooModel? teacher = null;
        if (teacherPath is not null)
        {
            var (model, header) = Checkpoint.LoadModel(teacherPath);
            ModelDataFit.CheckTeacher(spec.Teacher!, header, info);
            teacher = model;
        }
        torch.random.manual_seed(spec.Options.Seed);
        var student = ModelZoo.Create(spec.Student, info.NumClasses, info.Channels);
        var context = new DistillerContext(student, teacher, data.Train.Count, data.Train.Labels, info.NumClasses, info.Channels, info.Height, spec.Options.Seed);
        using var distiller = DistillerRegistry.Create(spec.Method, context, spec.MethodParameters);
        distiller.MoveTo(device);
        if (spec.FoldTeacherBatchNorms) distiller.FoldTeacherBatchNorms();
        distiller.UseTeacherPrecision(TeacherPrecision.Resolve(spec.TeacherPrecision, device));

        var train = new DataLoader(data.Train, spec.Options.BatchSize, shuffle: true, spec.Options.Seed, Augmentation.Train(info), device);
        var test = new DataLoader(data.Test, Math.Max(spec.Options.BatchSize, 256), shuffle: false, spec.Options.Seed, Augmentation.Eval(info), device);
        var trainer = new Trainer(distiller, train, test, spec.Options, folder, observer,
            epoch => new CheckpointHeader(spec.Student, info.NumClasses, info.Channels, info.Name, spec.Method, epoch, spec.Options.Seed, double.NaN)
            {
                ImageSize = info.Height, MethodParameters = settings.Values, TrainCount = data.Train.Count, Teacher = teacher?.Name,
            })
        {
            Saved = folder is null ? null : run => WriteSummary(folder, spec, run, distiller.PredictionNames),
        };
        var result = trainer.Fit(resume);
        teacher?.Dispose();
        return result;
    }

    /// <summary>
    /// Evaluates the network in <paramref name="checkpointPath"/> on a test set (by default the one it was trained on).
    /// A method that trains with a teacher predicts with its student, which is evaluated alone; a method without a
    /// teacher (online distillation) is rebuilt whole from the checkpoint and every one of its predictions is evaluated.
    /// </summary>
    public static EvaluationResult Evaluate(string checkpointPath, string? dataset, string? dataDir, int batchSize, string deviceName, int? decodeThreads = null)
    {
        var device = ComputeDevice.Resolve(deviceName);
        var header = Checkpoint.ReadHeader(checkpointPath);
        ModelDataFit.CheckEvaluation(checkpointPath, header, dataset);
        using var data = LoadData(dataset ?? header.Dataset, dataDir, null, null, header.Seed, decodeThreads);
        using var distiller = Rebuild(checkpointPath, header);
        distiller.MoveTo(device);
        var loader = new DataLoader(data.Test, batchSize, shuffle: false, 0, Augmentation.Eval(data.Info), device);
        var metrics = Evaluation.Run(distiller, loader);
        return new EvaluationResult(header.Model, data.Info.Name, data.Test.Count, metrics.Loss, metrics.Top1, metrics.Top5)
        {
            Predictions = distiller.PredictionNames, Accuracies = metrics.Accuracies, Skipped = metrics.Skipped,
        };
    }

    /// <summary>The distiller to evaluate a checkpoint with: its student alone, or the whole teacher-free method.</summary>
    private static Distiller Rebuild(string path, CheckpointHeader header)
    {
        bool known = DistillerRegistry.Names.Contains(header.Method);
        if (header.HasStudent && (!known || DistillerRegistry.Get(header.Method).NeedsTeacher || header.Method == StudentAlone.Name))
        {
            var (model, _) = Checkpoint.LoadModel(path);
            return new StudentAlone(model);
        }
        if (!known)
        {
            throw new DistillSharpException(
                $"checkpoint {path} was trained by method '{header.Method}', which this build does not know; choose one of: {string.Join(", ", DistillerRegistry.Names)}.");
        }
        using var labels = torch.zeros(header.TrainCount, dtype: ScalarType.Int64);   // labels are not needed to predict
        torch.random.manual_seed(header.Seed);
        var student = ModelZoo.Create(header.Model, header.NumClasses, header.InChannels);
        var context = new DistillerContext(student, null, header.TrainCount, labels, header.NumClasses, header.InChannels, header.ImageSize, header.Seed);
        var distiller = DistillerRegistry.Create(header.Method, context, header.MethodParameters);
        Checkpoint.Restore(path, distiller, optimizer: null);
        return distiller;
    }

    /// <summary>
    /// The train and test sets of <paramref name="dataset"/>, cut to class-balanced subsets when asked; an image-folder
    /// set decodes on <paramref name="decodeThreads"/> threads (null: one per processor).
    /// </summary>
    public static DatasetSplits LoadData(string dataset, string? dataDir, int? trainSubset, int? testSubset, long seed, int? decodeThreads = null)
    {
        var splits = DatasetCatalog.Load(dataset, DataLocation.Resolve(dataDir), new DatasetLoadOptions { DecodeThreads = decodeThreads });
        IImageDataset train = splits.Train, test = splits.Test;
        if (trainSubset is int n) train = ClassBalancedSubset.Create(splits.Train, n, seed, ownsSource: true);
        if (testSubset is int m) test = ClassBalancedSubset.Create(splits.Test, m, seed, ownsSource: true);
        return new DatasetSplits(splits.Info, train, test);
    }

    /// <summary>The files whose presence means a folder holds a run.</summary>
    private static IEnumerable<string> RunFiles(RunFolder folder) =>
        new[] { folder.Config, folder.Metrics, folder.LastCheckpoint, folder.BestCheckpoint, folder.Summary }.Where(File.Exists);

    private static RunRecord PrepareFolder(RunFolder folder, RunSpec spec, string? teacherHash, bool resume, bool amend, ITrainingObserver observer)
    {
        if (!resume)
        {
            var present = RunFiles(folder).Select(f => Path.GetRelativePath(folder.Path, f)).ToArray();
            if (present.Length > 0)
            {
                throw new DistillSharpException(
                    $"run folder {folder.Path} already holds a run ({string.Join(", ", present)}); " +
                    (File.Exists(folder.LastCheckpoint)
                        ? "pass --resume to continue it, or --out to start a new one elsewhere."
                        : "it has no finished epoch to continue from: start the new run with another --out, or delete the folder."));
            }
            return RunRecord.Start(spec, teacherHash);
        }

        if (!folder.Exists)
        {
            throw new DistillSharpException($"--resume: run folder {folder.Path} does not exist, so there is nothing to continue. To start a new run, leave out --resume.");
        }
        if (!File.Exists(folder.LastCheckpoint))
        {
            throw new DistillSharpException(
                $"--resume: {folder.Path} has no checkpoint to continue from ({folder.LastCheckpoint} is missing); nothing was changed. " +
                "To start a new run, leave out --resume and choose another --out.");
        }
        var record = RunRecord.Read(folder.Config);
        int finished = Checkpoint.ReadHeader(folder.LastCheckpoint).Epoch;
        var last = record.Segments[^1];
        var changes = RunRecord.Differences(last.Spec, last.TeacherSha256, spec, teacherHash).ToList();
        if (changes.Count > 0 && !amend)
        {
            throw new DistillSharpException(
                $"--resume: the options differ from the run in {folder.Path} ({string.Join("; ", changes)}). " +
                "Give the run's own options to continue it, or add --amend to continue with these changes recorded from epoch " +
                $"{finished + 1} in config.json, or start a new run with another --out.");
        }
        int epochs = spec.Options.Epochs;
        if (epochs < finished)
        {
            throw new DistillSharpException(
                $"--resume: {folder.Path} has already finished {finished} epochs, more than --epochs {epochs}; pass --epochs above {finished} to extend it.");
        }
        if (epochs != last.Spec.Options.Epochs) changes.Insert(0, $"epochs: {last.Spec.Options.Epochs} -> {epochs}");
        if (changes.Count == 0)
        {
            if (epochs == finished) observer.OnMessage($"{folder.Path} has finished all {epochs} epochs; nothing to train (pass --epochs N to extend it)");
            return record;
        }
        observer.OnMessage($"continuing from epoch {finished + 1} with: {string.Join("; ", changes)} (recorded in config.json)");
        // A segment begins where the new options first act; one that would begin where the last did replaces it.
        var kept = record.Segments.Where(s => s.FromEpoch <= finished).ToList();
        kept.Add(new RunSegment(finished + 1, spec, teacherHash, changes));
        return new RunRecord(kept);
    }

    private static void WriteSummary(RunFolder folder, RunSpec spec, RunResult result, IReadOnlyList<string> predictions)
    {
        var summary = new
        {
            spec.Method, spec.Student, spec.Teacher, spec.Dataset, spec.Profile, spec.Options.Seed, Epochs = result.Last.Epoch,
            PlannedEpochs = spec.Options.Epochs, Complete = result.Last.Epoch >= spec.Options.Epochs,
            TrainImages = spec.TrainSubset, TestImages = spec.TestSubset,
            LastTop1 = result.Last.TestTop1, LastTop5 = result.Last.TestTop5, BestTop1 = result.Best.TestTop1, BestEpoch = result.Best.Epoch,
            Predictions = predictions,
            LastAccuracies = result.Last.Accuracies,
            Seconds = result.Epochs.Sum(e => e.Seconds),
            Machine = $"{Environment.ProcessorCount} cores, {ComputeDevice.Backend}, libtorch {torch.__version__}",
        };
        AtomicFile.WriteAllText(folder.Summary, JsonSerializer.Serialize(summary, Json));
    }
}
