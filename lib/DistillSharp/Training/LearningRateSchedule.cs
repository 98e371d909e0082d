namespace DistillSharp.Training;

/// <summary>A learning rate as a function of the epoch (1-based, as RepDistiller counts) and the progress within it.</summary>
public abstract record LearningRateSchedule(double BaseRate, int WarmupEpochs)
{
    /// <summary>The names accepted by <see cref="Create"/>.</summary>
    public static readonly IReadOnlyList<string> Names = ["multistep", "cosine", "constant"];

    /// <summary>
    /// The rate for step <paramref name="step"/> of <paramref name="stepsPerEpoch"/> in epoch <paramref name="epoch"/>
    /// (1-based). During the first <see cref="WarmupEpochs"/> epochs the rate rises linearly, step by step,
    /// from BaseRate / (W · S) to the schedule's value: <c>η · min(1, (s + 1) / (W · S))</c> with s the global step.
    /// </summary>
    public double At(int epoch, int step = 0, int stepsPerEpoch = 1)
    {
        if (epoch < 1) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "epochs count from 1");
        double rate = Rate(epoch, step, stepsPerEpoch);
        if (WarmupEpochs > 0 && epoch <= WarmupEpochs)
        {
            double done = ((epoch - 1) * (double)stepsPerEpoch + step + 1) / (WarmupEpochs * (double)stepsPerEpoch);
            rate *= Math.Min(1.0, done);
        }
        return rate;
    }

    /// <summary>The schedule's own value, before warm-up.</summary>
    protected abstract double Rate(int epoch, int step, int stepsPerEpoch);

    /// <summary>
    /// Creates a schedule by name; an unknown name or bad value is an error listing the choices. The optional factors,
    /// one per milestone, make the rate after milestone i <c>η · factors[i]</c> instead of <c>η · γ^(i+1)</c> (multistep
    /// only; empty or null = powers of γ).
    /// </summary>
    public static LearningRateSchedule Create(string name, double baseRate, int epochs, IReadOnlyList<int> milestones, double decay, int warmupEpochs,
        IReadOnlyList<double>? factors = null)
    {
        if (name != "multistep" && factors is { Count: > 0 })
        {
            throw new DistillSharpException($"--milestone-factors sets the rate at each multistep milestone; the schedule is '{name}'.");
        }
        if (!(baseRate > 0) || double.IsInfinity(baseRate)) throw new DistillSharpException($"--lr must be a positive number; got {baseRate}.");
        if (epochs < 1) throw new DistillSharpException($"--epochs must be at least 1; got {epochs}.");
        if (warmupEpochs < 0 || warmupEpochs > epochs) throw new DistillSharpException($"--warmup-epochs must be in [0, {epochs}]; got {warmupEpochs}.");
        return name switch
        {
            "multistep" => new MultiStepSchedule(baseRate, milestones, decay, warmupEpochs, factors),
            "cosine" => new CosineSchedule(baseRate, epochs, warmupEpochs),
            "constant" => new ConstantSchedule(baseRate, warmupEpochs),
            _ => throw new DistillSharpException($"--schedule '{name}' is not a schedule; choose one of: {string.Join(", ", Names)}."),
        };
    }
}

/// <summary>
/// Step decay as RepDistiller's <c>adjust_learning_rate</c>: <c>η_e = η · γ^k</c> with <c>k = #{m ∈ milestones : e &gt; m}</c>
/// for 1-based epoch e, so a milestone takes effect in the epoch after it (0.05 → 0.005 from epoch 151 with
/// milestones 150/180/210). With <see cref="Factors"/> the rate after the k-th milestone is <c>η · f_k</c> instead: the
/// official OFD and LONDON CIFAR scripts set η/10, η/100 and then η/500 or η/1000 (factors 0.1, 0.01, 0.002).
/// </summary>
public sealed record MultiStepSchedule : LearningRateSchedule
{
    /// <summary>Creates the schedule; milestones must be positive and increasing, decay in (0, 1].</summary>
    public MultiStepSchedule(double baseRate, IReadOnlyList<int> milestones, double decay, int warmupEpochs = 0, IReadOnlyList<double>? factors = null)
        : base(baseRate, warmupEpochs)
    {
        if (!(decay > 0 && decay <= 1)) throw new DistillSharpException($"--lr-decay must be in (0, 1]; got {decay}.");
        factors ??= [];
        if (factors.Count > 0 && factors.Count != milestones.Count)
        {
            throw new DistillSharpException(
                $"--milestone-factors needs one factor per milestone: {factors.Count} factors ({string.Join(",", factors)}) for {milestones.Count} milestones ({string.Join(",", milestones)}).");
        }
        foreach (var f in factors) TrainingOptions.MilestoneFactorRange.Check("--milestone-factors", f);
        for (int i = 0; i < milestones.Count; i++)
        {
            if (milestones[i] < 1 || (i > 0 && milestones[i] <= milestones[i - 1]))
            {
                throw new DistillSharpException($"--milestones must be positive and increasing; got {string.Join(",", milestones)}.");
            }
        }
        Milestones = milestones.ToArray();
        Decay = decay;
        Factors = factors.ToArray();
    }

    /// <summary>The epochs after which the rate is multiplied by <see cref="Decay"/>.</summary>
    public IReadOnlyList<int> Milestones { get; }

    /// <summary>γ, the factor applied at each milestone.</summary>
    public double Decay { get; }

    /// <summary>The rate's multiple of η after each milestone, or empty for powers of <see cref="Decay"/>.</summary>
    public IReadOnlyList<double> Factors { get; }

    /// <inheritdoc />
    protected override double Rate(int epoch, int step, int stepsPerEpoch)
    {
        int passed = Milestones.Count(m => epoch > m);
        return passed == 0 ? BaseRate : Factors.Count > 0 ? BaseRate * Factors[passed - 1] : BaseRate * Math.Pow(Decay, passed);
    }
}

/// <summary>Cosine annealing per step: <c>η_t = η · ½ (1 + cos(π t / T))</c> with t the global step (0-based) and T all steps.</summary>
public sealed record CosineSchedule(double BaseRate, int Epochs, int WarmupEpochs = 0) : LearningRateSchedule(BaseRate, WarmupEpochs)
{
    /// <inheritdoc />
    protected override double Rate(int epoch, int step, int stepsPerEpoch)
    {
        double t = (epoch - 1) * (double)stepsPerEpoch + step;
        return BaseRate * 0.5 * (1 + Math.Cos(Math.PI * t / (Epochs * (double)stepsPerEpoch)));
    }
}

/// <summary>A constant rate η (after the optional warm-up).</summary>
public sealed record ConstantSchedule(double BaseRate, int WarmupEpochs = 0) : LearningRateSchedule(BaseRate, WarmupEpochs)
{
    /// <inheritdoc />
    protected override double Rate(int epoch, int step, int stepsPerEpoch) => BaseRate;
}
