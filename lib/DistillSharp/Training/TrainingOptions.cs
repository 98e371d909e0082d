namespace DistillSharp.Training;

/// <summary>The optimisation recipe of one run: SGD with momentum, weight decay, the schedule, and the seed.</summary>
/// <remarks>
/// The valid values (<see cref="Validate"/>; the command line checks the same ranges as it parses): epochs a whole
/// number in [1, 100000], batch size in [1, 65536], learning rate in (0, 10], multistep decay in (0, 1], warm-up
/// epochs in [0, epochs], milestones in [1, 100000] and increasing, milestone factors (one per milestone, multistep
/// only) in (0, 1], momentum in [0, 1), weight decay in [0, 1], seed a
/// whole number in [0, 4294967295]; a momentum reset at milestones needs the multistep schedule.
/// </remarks>
public sealed record TrainingOptions
{
    /// <summary>Valid <see cref="Epochs"/>.</summary>
    public static readonly ValueRange EpochsRange = ValueRange.Whole(1, 100_000);
    /// <summary>Valid <see cref="BatchSize"/> (for evaluation too).</summary>
    public static readonly ValueRange BatchSizeRange = ValueRange.Whole(1, 65_536);
    /// <summary>Valid <see cref="LearningRate"/>: above 0 and at most 10 (libtorch's SGD aborts on values it cannot hold).</summary>
    public static readonly ValueRange LearningRateRange = new(0, 10, ExcludeMin: true);
    /// <summary>Valid <see cref="LearningRateDecay"/>.</summary>
    public static readonly ValueRange LearningRateDecayRange = new(0, 1, ExcludeMin: true);
    /// <summary>Valid <see cref="WarmupEpochs"/> (also at most <see cref="Epochs"/>).</summary>
    public static readonly ValueRange WarmupEpochsRange = ValueRange.Whole(0, 100_000);
    /// <summary>Valid entries of <see cref="Milestones"/>.</summary>
    public static readonly ValueRange MilestoneRange = ValueRange.Whole(1, 100_000);
    /// <summary>Valid entries of <see cref="MilestoneFactors"/>.</summary>
    public static readonly ValueRange MilestoneFactorRange = new(0, 1, ExcludeMin: true);
    /// <summary>Valid <see cref="Momentum"/>.</summary>
    public static readonly ValueRange MomentumRange = new(0, 1, ExcludeMax: true);
    /// <summary>Valid <see cref="WeightDecay"/>.</summary>
    public static readonly ValueRange WeightDecayRange = new(0, 1);
    /// <summary>Valid <see cref="Seed"/>.</summary>
    public static readonly ValueRange SeedRange = ValueRange.Whole(0, uint.MaxValue);

    /// <summary>Epochs to train.</summary>
    public int Epochs { get; init; } = 240;
    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Base learning rate η.</summary>
    public double LearningRate { get; init; } = 0.05;
    /// <summary>Schedule name: multistep, cosine or constant (<see cref="LearningRateSchedule.Names"/>).</summary>
    public string Schedule { get; init; } = "multistep";
    /// <summary>Epochs after which a multistep schedule multiplies the rate by <see cref="LearningRateDecay"/>.</summary>
    public IReadOnlyList<int> Milestones { get; init; } = [150, 180, 210];
    /// <summary>γ of the multistep schedule.</summary>
    public double LearningRateDecay { get; init; } = 0.1;
    /// <summary>
    /// Optional, one per milestone: the rate after the k-th milestone is η · f_k instead of η · γ^k (empty = powers of
    /// γ). The official OFD and LONDON CIFAR scripts go to η/10, η/100 and then η/500 or η/1000.
    /// </summary>
    public IReadOnlyList<double> MilestoneFactors { get; init; } = [];
    /// <summary>Epochs of linear warm-up.</summary>
    public int WarmupEpochs { get; init; }
    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>L2 weight decay on the student and the method's parts (never the teacher).</summary>
    public double WeightDecay { get; init; } = 5e-4;
    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; init; }
    /// <summary>
    /// Restart SGD's momentum at each multistep milestone: every momentum buffer is cleared before the first step at
    /// the decayed rate, as a new optimizer would start (the official OFD and LONDON CIFAR code builds a new optimizer
    /// at each learning-rate step). Needs the multistep schedule.
    /// </summary>
    public bool ResetMomentumAtMilestones { get; init; }
    /// <summary>The run's seed: weights, shuffles, augmentation and the method's draws derive from it.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>The learning-rate schedule these options describe.</summary>
    public LearningRateSchedule CreateSchedule() =>
        LearningRateSchedule.Create(Schedule, LearningRate, Epochs, Milestones, LearningRateDecay, WarmupEpochs, MilestoneFactors);

    /// <summary>Checks every value; a bad one is an error naming the option.</summary>
    public void Validate()
    {
        EpochsRange.Check("--epochs", Epochs);
        BatchSizeRange.Check("--batch-size", BatchSize);
        LearningRateRange.Check("--lr", LearningRate);
        LearningRateDecayRange.Check("--lr-decay", LearningRateDecay);
        WarmupEpochsRange.Check("--warmup-epochs", WarmupEpochs);
        foreach (var milestone in Milestones) MilestoneRange.Check("--milestones", milestone);
        foreach (var factor in MilestoneFactors) MilestoneFactorRange.Check("--milestone-factors", factor);
        MomentumRange.Check("--momentum", Momentum);
        WeightDecayRange.Check("--weight-decay", WeightDecay);
        SeedRange.Check("--seed", Seed);
        if (Nesterov && Momentum == 0) throw new DistillSharpException("--nesterov needs a momentum above 0.");
        if (ResetMomentumAtMilestones && Schedule != "multistep")
        {
            throw new DistillSharpException($"--reset-momentum restarts momentum at the multistep milestones; the schedule is '{Schedule}'.");
        }
        _ = CreateSchedule();
    }
}
