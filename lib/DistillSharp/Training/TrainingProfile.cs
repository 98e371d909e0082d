namespace DistillSharp.Training;

/// <summary>
/// A named set of defaults for a run: the dataset and its size, the recipe, the default pair of networks and
/// any method constants the profile must scale down. Explicit options override every one of them.
/// </summary>
/// <param name="Name">smoke, cpu or paper.</param>
/// <param name="Description">What it is for and what it costs.</param>
/// <param name="Dataset">The dataset.</param>
/// <param name="TrainSubset">Training images (a class-balanced subset), or null for all.</param>
/// <param name="TestSubset">Test images, or null for all.</param>
/// <param name="Options">The recipe.</param>
/// <param name="Teacher">The default teacher network.</param>
/// <param name="Student">The default student network.</param>
/// <param name="MethodDefaults">Method constants the profile changes, by method then parameter.</param>
public sealed record TrainingProfile(
    string Name, string Description, string Dataset, int? TrainSubset, int? TestSubset, TrainingOptions Options,
    string Teacher, string Student, IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> MethodDefaults)
{
    /// <summary>CI's profile: a few hundred Fashion-MNIST images, one epoch, small negatives for CRD and WCoRD.</summary>
    public static readonly TrainingProfile Smoke = new(
        "smoke", "a few hundred Fashion-MNIST images, 1 epoch: checks that everything runs (seconds)",
        "fashion-mnist", 512, 256,
        new TrainingOptions { Epochs = 1, BatchSize = 64, LearningRate = 0.05, Schedule = "constant", Milestones = [], WeightDecay = 5e-4 },
        "resnet20", "resnet8",
        new Dictionary<string, IReadOnlyDictionary<string, double>>
        {
            ["crd"] = new Dictionary<string, double> { ["nce_k"] = 256 },
            ["wcord"] = new Dictionary<string, double> { ["nce_k"] = 256 },
            ["wcord-global"] = new Dictionary<string, double> { ["nce_k"] = 256 },
        });

    /// <summary>
    /// The classroom profile: 10,000 Fashion-MNIST training images and the full test set, 5 epochs with a cosine
    /// schedule, minutes on 2 CPU cores. CRD's and WCoRD's negatives are cut to 4096 (from 16384) to fit a CPU.
    /// </summary>
    public static readonly TrainingProfile Cpu = new(
        "cpu", "10,000 Fashion-MNIST images, 5 epochs, cosine schedule: minutes on 2 CPU cores",
        "fashion-mnist", 10000, null,
        new TrainingOptions { Epochs = 5, BatchSize = 64, LearningRate = 0.05, Schedule = "cosine", Milestones = [], WeightDecay = 5e-4 },
        "resnet20", "resnet8",
        new Dictionary<string, IReadOnlyDictionary<string, double>>
        {
            ["crd"] = new Dictionary<string, double> { ["nce_k"] = 4096 },
            ["wcord"] = new Dictionary<string, double> { ["nce_k"] = 4096 },
            ["wcord-global"] = new Dictionary<string, double> { ["nce_k"] = 4096 },
        });

    /// <summary>
    /// RepDistiller's CIFAR-100 recipe: 240 epochs, batch 64, SGD 0.9, weight decay 5e-4, lr 0.05 (0.01 for
    /// MobileNetV2 and the ShuffleNets) ×0.1 after epochs 150, 180 and 210. Needs a GPU (days on a CPU).
    /// </summary>
    public static readonly TrainingProfile Paper = new(
        "paper", "RepDistiller's CIFAR-100 recipe, 240 epochs: needs a GPU",
        "cifar100", null, null,
        new TrainingOptions { Epochs = 240, BatchSize = 64, LearningRate = 0.05, Schedule = "multistep", Milestones = [150, 180, 210], WeightDecay = 5e-4 },
        "resnet32x4", "resnet8x4",
        new Dictionary<string, IReadOnlyDictionary<string, double>>());

    /// <summary>All profiles.</summary>
    public static IReadOnlyList<TrainingProfile> All => [Smoke, Cpu, Paper];

    /// <summary>The names.</summary>
    public static IReadOnlyList<string> Names => All.Select(p => p.Name).ToArray();

    /// <summary>The profile named <paramref name="name"/>; an unknown name is an error listing the valid ones.</summary>
    public static TrainingProfile Get(string name) =>
        All.FirstOrDefault(p => p.Name == name)
        ?? throw new DistillSharpException($"--profile '{name}' is not a profile; choose one of: {string.Join(", ", Names)}.");

    /// <summary>
    /// The learning rate for <paramref name="student"/> under this profile: RepDistiller uses 0.01 instead of 0.05
    /// for MobileNetV2, ShuffleV1 and ShuffleV2 on CIFAR-100.
    /// </summary>
    public double LearningRateFor(string student) =>
        Name == "paper" && student is "MobileNetV2" or "ShuffleV1" or "ShuffleV2" ? 0.01 : Options.LearningRate;

    /// <summary>The profile's constants for <paramref name="method"/> (empty when it changes none).</summary>
    public IReadOnlyDictionary<string, double> MethodDefaultsFor(string method) =>
        MethodDefaults.TryGetValue(method, out var d) ? d : new Dictionary<string, double>();
}
