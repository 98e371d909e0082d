namespace DistillSharp.Training;

/// <summary>Everything that defines one run; saved as the run's <c>config.json</c>.</summary>
public sealed record RunSpec
{
    /// <summary>Valid <see cref="TrainSubset"/> and <see cref="TestSubset"/> sizes (at most the split's size, checked when it is cut).</summary>
    public static readonly ValueRange SubsetRange = ValueRange.Whole(1, int.MaxValue);

    /// <summary>The method (<see cref="DistillSharp.Distillers.DistillerRegistry"/>); <c>none</c> trains a network alone.</summary>
    public string Method { get; init; } = "none";
    /// <summary>The network to train (a zoo name).</summary>
    public string Student { get; init; } = "resnet8";
    /// <summary>The teacher: a checkpoint file or a run folder; null for methods without a teacher.</summary>
    public string? Teacher { get; init; }
    /// <summary>The dataset name.</summary>
    public string Dataset { get; init; } = "fashion-mnist";
    /// <summary>The data folder (else DISTILL_DATA, ./data, the system location).</summary>
    public string? DataDir { get; init; }
    /// <summary>Training images (class-balanced subset), null for all.</summary>
    public int? TrainSubset { get; init; }
    /// <summary>Test images (class-balanced subset), null for all.</summary>
    public int? TestSubset { get; init; }
    /// <summary>The optimisation recipe.</summary>
    public TrainingOptions Options { get; init; } = new();
    /// <summary>The method's parameters that differ from its defaults.</summary>
    public IReadOnlyDictionary<string, double> MethodParameters { get; init; } = new Dictionary<string, double>();
    /// <summary>
    /// Threads that decode a batch of an image-folder dataset (<c>cinic10</c>, <c>imagenet</c>); null for one per
    /// processor. Like the device, it changes the speed, not the numbers, so a resumed run may change it.
    /// </summary>
    public int? DecodeThreads { get; init; }
    /// <summary>Valid <see cref="DecodeThreads"/> values.</summary>
    public static readonly ValueRange DecodeThreadsRange = ValueRange.Whole(1, 1024);
    /// <summary>auto, cpu or cuda.</summary>
    public string Device { get; init; } = "auto";
    /// <summary>The profile the defaults came from (for the record).</summary>
    public string Profile { get; init; } = "cpu";
    /// <summary>
    /// The teacher's number format, <c>fp32</c>, <c>bf16</c> or <c>auto</c> (<see cref="Training.TeacherPrecision"/>;
    /// teachers in eval mode only). Default fp32.
    /// </summary>
    public string TeacherPrecision { get; init; } = Training.TeacherPrecision.Fp32;
    /// <summary>
    /// Whether a float32 teacher in eval mode has its batch norms folded into its convolutions
    /// (<see cref="Models.ZooModel.FoldBatchNorms"/>; a bf16 teacher is always folded). Default false; an error for a
    /// method whose teacher trains in train mode.
    /// </summary>
    public bool FoldTeacherBatchNorms { get; init; }

    /// <summary>
    /// A spec from a profile's defaults, for <paramref name="method"/> (the student defaults to the profile's
    /// student for a distillation and to its teacher for <c>none</c>, which is how teachers are trained).
    /// </summary>
    public static RunSpec FromProfile(string profileName, string method = "none", string? model = null)
    {
        var p = TrainingProfile.Get(profileName);
        var student = model ?? (method == "none" ? p.Teacher : p.Student);
        return new RunSpec
        {
            Method = method,
            Student = student,
            Dataset = p.Dataset,
            TrainSubset = p.TrainSubset,
            TestSubset = p.TestSubset,
            Options = p.Options with { LearningRate = p.LearningRateFor(student) },
            MethodParameters = p.MethodDefaultsFor(method),
            Profile = p.Name,
        };
    }
}
