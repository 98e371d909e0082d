namespace DistillSharp.Training;

/// <summary>The optimisation recipe of one run: SGD with momentum, weight decay, the schedule, and the seed.</summary>
public sealed record TrainingOptions
{
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
    /// <summary>Epochs of linear warm-up.</summary>
    public int WarmupEpochs { get; init; }
    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>L2 weight decay on the student and the method's parts (never the teacher).</summary>
    public double WeightDecay { get; init; } = 5e-4;
    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; init; }
    /// <summary>The run's seed: weights, shuffles, augmentation and the method's draws derive from it.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>The learning-rate schedule these options describe.</summary>
    public LearningRateSchedule CreateSchedule() =>
        LearningRateSchedule.Create(Schedule, LearningRate, Epochs, Milestones, LearningRateDecay, WarmupEpochs);

    /// <summary>Checks every value; a bad one is an error naming the option.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new DistillSharpException($"--epochs must be at least 1; got {Epochs}.");
        if (BatchSize < 1) throw new DistillSharpException($"--batch-size must be at least 1; got {BatchSize}.");
        if (!(Momentum >= 0 && Momentum < 1)) throw new DistillSharpException($"--momentum must be in [0, 1); got {Momentum}.");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) throw new DistillSharpException($"--weight-decay must be >= 0; got {WeightDecay}.");
        if (Nesterov && Momentum == 0) throw new DistillSharpException("--nesterov needs a momentum above 0.");
        _ = CreateSchedule();
    }
}
