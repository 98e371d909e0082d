using System.CommandLine;
using System.Globalization;
using DistillSharp.Training;

namespace DistillSharp.Cli;

/// <summary>
/// The options shared by <c>distill train</c> and <c>distill distill</c>. Each is optional: a given option
/// overrides the profile's default, an absent one keeps it.
/// </summary>
internal sealed class RunOptions
{
    public Option<string> Profile { get; } = new("--profile") { Description = $"Defaults to start from: {string.Join(" | ", TrainingProfile.Names)}.", DefaultValueFactory = _ => "cpu" };
    public Option<string?> Dataset { get; } = new("--dataset") { Description = "Dataset name (fashion-mnist, mnist, cifar10, cifar100)." };
    public Option<string?> DataDir { get; } = new("--data-dir") { Description = "Data folder (else $DISTILL_DATA, ./data, /usr/share/datasets)." };
    public Option<int?> Subset { get; } = new("--subset") { Description = "Train on the first N images of a class-balanced shuffle." };
    public Option<int?> TestSubset { get; } = new("--test-subset") { Description = "Evaluate on N test images (class-balanced)." };
    public Option<bool> FullData { get; } = new("--full-data") { Description = "Use every training and test image (ignore the profile's subsets)." };
    public Option<int?> Epochs { get; } = new("--epochs") { Description = "Epochs to train." };
    public Option<int?> BatchSize { get; } = new("--batch-size") { Description = "Mini-batch size." };
    public Option<double?> Lr { get; } = new("--lr") { Description = "Base learning rate." };
    public Option<string?> Schedule { get; } = new("--schedule") { Description = $"Learning-rate schedule: {string.Join(" | ", LearningRateSchedule.Names)}." };
    public Option<string?> Milestones { get; } = new("--milestones") { Description = "Multistep milestones, e.g. 150,180,210 (decay applies after them)." };
    public Option<double?> LrDecay { get; } = new("--lr-decay") { Description = "Multistep decay factor (0.1)." };
    public Option<int?> Warmup { get; } = new("--warmup-epochs") { Description = "Epochs of linear warm-up." };
    public Option<double?> Momentum { get; } = new("--momentum") { Description = "SGD momentum (0.9)." };
    public Option<double?> WeightDecay { get; } = new("--weight-decay") { Description = "Weight decay (5e-4), on the student and the method's parts only." };
    public Option<bool> Nesterov { get; } = new("--nesterov") { Description = "Use Nesterov momentum." };
    public Option<long?> Seed { get; } = new("--seed") { Description = "Seed for weights, shuffling, augmentation and the method's draws (1)." };
    public Option<string> Device { get; } = CommonOptions.Device();
    public Option<string?> Out { get; } = new("--out") { Description = "Run folder (default: runs/DATASET/METHOD_STUDENT_seedN)." };
    public Option<bool> Resume { get; } = new("--resume") { Description = "Continue from the run folder's last checkpoint (options must match the run's, except --epochs, which extends it)." };
    public Option<bool> Amend { get; } = new("--amend") { Description = "With --resume: continue with changed options, recorded in config.json as a new segment from the next epoch." };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Profile, Dataset, DataDir, Subset, TestSubset, FullData, Epochs, BatchSize, Lr, Schedule, Milestones, LrDecay, Warmup, Momentum, WeightDecay, Nesterov, Seed, Device, Out, Resume, Amend })
        {
            command.Add(o);
        }
    }

    /// <summary>The spec: the profile's defaults for <paramref name="method"/> and <paramref name="model"/>, overridden by what was given.</summary>
    public RunSpec ToSpec(ParseResult parse, string method, string? model, string? teacher, IReadOnlyDictionary<string, double> methodParameters)
    {
        var spec = RunSpec.FromProfile(parse.GetRequiredValue(Profile), method, model);
        var o = spec.Options;
        var milestones = parse.GetValue(Milestones);
        o = o with
        {
            Epochs = parse.GetValue(Epochs) ?? o.Epochs,
            BatchSize = parse.GetValue(BatchSize) ?? o.BatchSize,
            LearningRate = parse.GetValue(Lr) ?? o.LearningRate,
            Schedule = parse.GetValue(Schedule) ?? o.Schedule,
            Milestones = milestones is null ? o.Milestones : ParseMilestones(milestones),
            LearningRateDecay = parse.GetValue(LrDecay) ?? o.LearningRateDecay,
            WarmupEpochs = parse.GetValue(Warmup) ?? o.WarmupEpochs,
            Momentum = parse.GetValue(Momentum) ?? o.Momentum,
            WeightDecay = parse.GetValue(WeightDecay) ?? o.WeightDecay,
            Nesterov = parse.GetValue(Nesterov) || o.Nesterov,
            Seed = parse.GetValue(Seed) ?? o.Seed,
        };
        o.Validate();
        var merged = new Dictionary<string, double>(spec.MethodParameters);
        foreach (var (k, v) in methodParameters) merged[k] = v;
        bool full = parse.GetValue(FullData);
        var dataset = parse.GetValue(Dataset);
        return spec with
        {
            Teacher = teacher,
            Dataset = dataset ?? spec.Dataset,
            DataDir = parse.GetValue(DataDir),
            TrainSubset = parse.GetValue(Subset) ?? (full ? null : spec.TrainSubset),
            TestSubset = parse.GetValue(TestSubset) ?? (full ? null : spec.TestSubset),
            Options = o,
            MethodParameters = merged,
            Device = parse.GetRequiredValue(Device),
        };
    }

    /// <summary>The run folder: --out, or runs/DATASET/METHOD_STUDENT_seedN.</summary>
    public string OutFolder(ParseResult parse, RunSpec spec) =>
        parse.GetValue(Out) ?? Path.Combine("runs", spec.Dataset, $"{spec.Method}_{spec.Student}_seed{spec.Options.Seed}");

    private static int[] ParseMilestones(string text)
    {
        try
        {
            return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException)
        {
            throw new DistillSharpException($"--milestones '{text}' is not a comma-separated list of epochs, e.g. 150,180,210.");
        }
    }
}
