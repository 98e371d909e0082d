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
    public Option<string?> Dataset { get; } = new("--dataset") { Description = "Dataset name (fashion-mnist, mnist, cifar10, cifar100, cinic10, imagenet)." };
    public Option<string?> DataDir { get; } = new("--data-dir") { Description = "Data folder, the only one read when given (else $DISTILL_DATA, likewise; else ./data, then /usr/share/datasets)." };
    public NumberOption Subset { get; } = new("--subset", "Train on the first N images of a class-balanced shuffle (at most the training split's size)", RunSpec.SubsetRange);
    public NumberOption TestSubset { get; } = new("--test-subset", "Evaluate on N test images, class-balanced (at most the test split's size)", RunSpec.SubsetRange);
    public Option<bool> FullData { get; } = new("--full-data") { Description = "Use every training and test image (ignore the profile's subsets)." };
    public NumberOption Epochs { get; } = new("--epochs", "Epochs to train", TrainingOptions.EpochsRange);
    public NumberOption BatchSize { get; } = new("--batch-size", "Mini-batch size", TrainingOptions.BatchSizeRange);
    public NumberOption Lr { get; } = new("--lr", "Base learning rate", TrainingOptions.LearningRateRange);
    public Option<string?> Schedule { get; } = new("--schedule") { Description = $"Learning-rate schedule: {string.Join(" | ", LearningRateSchedule.Names)}." };
    public Option<string?> Milestones { get; } = new("--milestones") { Description = $"Multistep milestones, e.g. 150,180,210 (decay applies after them): increasing, each {TrainingOptions.MilestoneRange}." };
    public Option<string?> MilestoneFactors { get; } = new("--milestone-factors") { Description = $"The rate after each multistep milestone as a multiple of --lr, one per milestone, e.g. 0.1,0.01,0.002 (instead of powers of --lr-decay); each {TrainingOptions.MilestoneFactorRange}." };
    public NumberOption LrDecay { get; } = new("--lr-decay", "Multistep decay factor (0.1)", TrainingOptions.LearningRateDecayRange);
    public NumberOption Warmup { get; } = new("--warmup-epochs", "Epochs of linear warm-up (at most --epochs)", TrainingOptions.WarmupEpochsRange);
    public NumberOption Momentum { get; } = new("--momentum", "SGD momentum (0.9)", TrainingOptions.MomentumRange);
    public NumberOption WeightDecay { get; } = new("--weight-decay", "Weight decay (5e-4), on the student and the method's parts only", TrainingOptions.WeightDecayRange);
    public Option<bool> Nesterov { get; } = new("--nesterov") { Description = "Use Nesterov momentum." };
    public Option<bool> ResetMomentum { get; } = new("--reset-momentum") { Description = "Restart momentum at each multistep milestone (OFD's and LONDON's code make a new optimizer there)." };
    public NumberOption Seed { get; } = new("--seed", "Seed for weights, shuffling, augmentation and the method's draws (1)", TrainingOptions.SeedRange);
    public Option<string> Device { get; } = CommonOptions.Device();
    public Option<string?> Out { get; } = new("--out") { Description = "Run folder (default: runs/DATASET/METHOD_STUDENT_seedN)." };
    public Option<bool> Resume { get; } = new("--resume") { Description = "Continue from the run folder's last checkpoint (options must match the run's, except --epochs, which extends it)." };
    public Option<bool> Amend { get; } = new("--amend") { Description = "With --resume: continue with changed options, recorded in config.json as a new segment from the next epoch." };
    public NumberOption DecodeThreads { get; } = new("--decode-threads", "Threads that decode a batch of an image-folder dataset, cinic10 or imagenet (default: one per processor; speed only)", RunSpec.DecodeThreadsRange);
    public Option<string?> TeacherPrecision { get; } = new("--teacher-precision") { Description = $"Number format of a teacher in eval mode: {string.Join(" | ", Training.TeacherPrecision.Choices)} (auto = bf16 on a CPU with AMX-BF16 or AVX512-BF16; default fp32)." };
    public Option<bool> FoldTeacherBn { get; } = new("--fold-teacher-bn") { Description = "Fold the eval-mode teacher's batch norms into its convolutions in fp32 too (a bf16 teacher is always folded; not for methods whose teacher runs in train mode)." };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[]
        {
            Profile, Dataset, DataDir, Subset.Option, TestSubset.Option, FullData, Epochs.Option, BatchSize.Option, Lr.Option, Schedule, Milestones,
            LrDecay.Option, MilestoneFactors, Warmup.Option, Momentum.Option, WeightDecay.Option, Nesterov, ResetMomentum, Seed.Option, Device, Out, Resume, Amend,
            TeacherPrecision, FoldTeacherBn, DecodeThreads.Option,
        })
        {
            command.Add(o);
        }
    }

    /// <summary>
    /// The spec: the profile's defaults for <paramref name="method"/> and <paramref name="model"/>, overridden by what was
    /// given. With <c>--resume</c> (and no explicit <c>--profile</c>) the run's own recorded spec takes the profile's
    /// place, so an option left out keeps the run's value and only the options given can differ from it.
    /// </summary>
    public RunSpec ToSpec(ParseResult parse, string method, string? model, string? teacher, IReadOnlyDictionary<string, double> methodParameters)
    {
        var fromProfile = RunSpec.FromProfile(parse.GetRequiredValue(Profile), method, model);
        bool profileGiven = parse.GetResult(Profile) is { Implicit: false };
        var saved = parse.GetValue(Resume) && !profileGiven ? SavedSpec(OutFolder(parse, fromProfile), method) : null;
        var spec = saved is null ? fromProfile : saved with { Method = method, Student = model ?? saved.Student };
        var o = spec.Options;
        var milestones = parse.GetValue(Milestones);
        var factors = parse.GetValue(MilestoneFactors);
        o = o with
        {
            Epochs = Epochs.IntValue(parse) ?? o.Epochs,
            BatchSize = BatchSize.IntValue(parse) ?? o.BatchSize,
            LearningRate = Lr.Value(parse) ?? o.LearningRate,
            Schedule = parse.GetValue(Schedule) ?? o.Schedule,
            Milestones = milestones is null ? o.Milestones : ParseMilestones(milestones),
            LearningRateDecay = LrDecay.Value(parse) ?? o.LearningRateDecay,
            MilestoneFactors = factors is null ? o.MilestoneFactors : ParseFactors(factors),
            WarmupEpochs = Warmup.IntValue(parse) ?? o.WarmupEpochs,
            Momentum = Momentum.Value(parse) ?? o.Momentum,
            WeightDecay = WeightDecay.Value(parse) ?? o.WeightDecay,
            Nesterov = parse.GetValue(Nesterov) || o.Nesterov,
            ResetMomentumAtMilestones = parse.GetValue(ResetMomentum) || o.ResetMomentumAtMilestones,
            Seed = Seed.LongValue(parse) ?? o.Seed,
        };
        o.Validate();
        var merged = new Dictionary<string, double>(spec.MethodParameters);
        foreach (var (k, v) in methodParameters) merged[k] = v;
        bool full = parse.GetValue(FullData);
        var dataset = parse.GetValue(Dataset);
        return spec with
        {
            Teacher = teacher ?? saved?.Teacher,
            Dataset = dataset ?? spec.Dataset,
            DataDir = parse.GetValue(DataDir) ?? saved?.DataDir,
            TrainSubset = Subset.IntValue(parse) ?? (full ? null : spec.TrainSubset),
            TestSubset = TestSubset.IntValue(parse) ?? (full ? null : spec.TestSubset),
            Options = o,
            MethodParameters = merged,
            Device = parse.GetRequiredValue(Device),
            DecodeThreads = DecodeThreads.IntValue(parse) ?? spec.DecodeThreads,
            TeacherPrecision = Training.TeacherPrecision.Check(parse.GetValue(TeacherPrecision) ?? spec.TeacherPrecision),
            FoldTeacherBatchNorms = parse.GetValue(FoldTeacherBn) || spec.FoldTeacherBatchNorms,
        };
    }

    /// <summary>
    /// The spec recorded in <paramref name="folder"/>'s config.json when it is a run of <paramref name="method"/>; null
    /// otherwise (a missing or unreadable record is reported when the run is prepared, naming the file).
    /// </summary>
    private static RunSpec? SavedSpec(string folder, string method)
    {
        var config = new RunFolder(folder).Config;
        if (!File.Exists(config)) return null;
        try
        {
            var current = RunRecord.Read(config).Current;
            return current.Method == method ? current : null;
        }
        catch (DistillSharpException)
        {
            return null;
        }
    }

    /// <summary>The run folder: --out, or runs/DATASET/METHOD_STUDENT_seedN.</summary>
    public string OutFolder(ParseResult parse, RunSpec spec) =>
        parse.GetValue(Out) ?? Path.Combine("runs", spec.Dataset, $"{spec.Method}_{spec.Student}_seed{spec.Options.Seed}");

    private static double[] ParseFactors(string text) =>
        ParseList(text, "--milestone-factors", "factors", TrainingOptions.MilestoneFactorRange, NumberStyles.Float, "0.1,0.01,0.002", allowEmpty: false);

    private static int[] ParseMilestones(string text) =>
        ParseList(text, "--milestones", "epochs", TrainingOptions.MilestoneRange, NumberStyles.Integer, "150,180,210", allowEmpty: true)
            .Select(v => (int)v).ToArray();

    /// <summary>A comma-separated list of numbers, each in <paramref name="range"/>; anything else is one error naming the option.</summary>
    private static double[] ParseList(string text, string option, string noun, ValueRange range, NumberStyles style, string example, bool allowEmpty)
    {
        var items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = items.Select(s => double.TryParse(s, style, CultureInfo.InvariantCulture, out var v) ? v : double.NaN).ToArray();
        if ((items.Length == 0 && !allowEmpty) || !values.All(range.Contains))
        {
            throw new DistillSharpException($"{option} '{text}' is not a comma-separated list of {noun}, each {range}, e.g. {example}.");
        }
        return values;
    }
}
