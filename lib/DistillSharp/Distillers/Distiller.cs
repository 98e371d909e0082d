using DistillSharp.Data;
using DistillSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// The base of every method. A distiller owns the networks it trains, registered as its children: one zoo student
/// (offline distillation, <c>student</c>), several peers, or one multi-branch network (online distillation). It owns
/// the method's own trainable parts (projectors, critics, memory banks), turns a batch into named loss terms
/// (<see cref="DistillationStep"/>), and says what it predicts with (<see cref="PredictionNames"/>).
/// </summary>
/// <remarks>
/// <para>The teacher is deliberately not a registered child: it is not in <see cref="nn.Module.parameters"/>, so the
/// optimizer and its weight decay never see it, and its weights are not in this module's state (the teacher has its
/// own checkpoint). Gradients are not computed for it. It stays in eval mode unless the method asks otherwise
/// (<see cref="TeacherInTrainMode"/>); a teacher in train mode changes its batch-norm running statistics every step,
/// so then its buffers are part of the run's state (<see cref="TeacherState"/>) and of the checkpoint.</para>
/// <para>What a new method implements: <see cref="Method"/> and <see cref="TrainingStep"/>; optionally
/// <see cref="PredictionNames"/> with <see cref="Predict"/> (more than one prediction, e.g. branches and their
/// ensemble), <see cref="AccuracyMeans"/>, <see cref="PredictionMetrics"/>, <see cref="OptimizerGroups"/>, <see cref="AfterOptimizerStep"/>,
/// <see cref="BeginEpoch"/> and <see cref="RandomSource"/>.</para>
/// </remarks>
public abstract class Distiller : nn.Module
{
    /// <summary>The name of the one prediction of a method that predicts with its zoo student.</summary>
    public const string StudentPrediction = "student";

    private readonly ZooModel? student;
    private readonly ZooModel? teacher;

    /// <summary>Registers <paramref name="student"/> as child <c>student</c> and freezes the teacher.</summary>
    protected Distiller(string name, ZooModel student, ZooModel? teacher) : this(name, teacher)
    {
        this.student = student;
        register_module("student", student);
    }

    /// <summary>
    /// For methods that register the networks they train themselves (peers, a multi-branch network): there is no
    /// single zoo student, so <see cref="Student"/> is null and the method overrides <see cref="Predict"/>.
    /// </summary>
    protected Distiller(string name, ZooModel? teacher) : base(name)
    {
        this.teacher = teacher;
        if (teacher is not null)
        {
            foreach (var p in teacher.parameters()) p.requires_grad = false;
            SetTeacherMode();
        }
    }

    /// <summary>The registry name of the method.</summary>
    public abstract string Method { get; }

    /// <summary>The zoo network being trained (child <c>student</c>), or null for a method that trains networks of its own.</summary>
    public ZooModel? Student => student;

    /// <summary>The zoo student, for methods constructed with one (an error for a method that trains networks of its own).</summary>
    protected ZooModel StudentNetwork =>
        student ?? throw new InvalidOperationException($"method '{Method}' was built without a zoo student");

    /// <summary>The frozen teacher, or null.</summary>
    public ZooModel? Teacher => teacher;

    /// <summary>
    /// Whether the teacher runs in train mode (batch statistics in its BatchNorm layers) during training, as
    /// OFD and LONDON do. It is never optimized either way. Default: false (eval mode, as RepDistiller).
    /// </summary>
    public virtual bool TeacherInTrainMode => false;

    /// <summary>
    /// The names of what the method predicts with, in the order <see cref="Predict"/> returns them. The first is the
    /// run's prediction: its accuracy is the run's <c>test_top1</c>. With more than one, each is also reported by name
    /// (<c>test_top1/NAME</c>). Default: the zoo student alone, <c>["student"]</c>.
    /// </summary>
    public virtual IReadOnlyList<string> PredictionNames => [StudentPrediction];

    /// <summary>
    /// Reported accuracies that are means over several predictions, by name: for example
    /// <c>branch_mean → [branch1, branch2, branch3]</c> gives <c>test_top1/branch_mean</c>, the mean of the three
    /// branches' accuracies (not the accuracy of averaged logits). Default: none.
    /// </summary>
    public virtual IReadOnlyDictionary<string, IReadOnlyList<string>> AccuracyMeans { get; } =
        new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>
    /// Test metrics of the predictions other than accuracy, by name (e.g. <c>branch_disagreement</c>). Each is the mean
    /// over the test images of a per-image value from <see cref="PredictionMetricValues"/>, reported after every epoch
    /// as column <c>test_NAME</c> of metrics.csv, in summary.json and by <c>distill eval</c>. Default: none.
    /// </summary>
    public virtual IReadOnlyList<string> PredictionMetrics => [];

    /// <summary>
    /// The per-image values (float, [B] each) of every one of <see cref="PredictionMetrics"/>, in that order, from the
    /// logits <see cref="Predict"/> returned for one evaluation batch (eval mode, no_grad). Default: none.
    /// </summary>
    public virtual IReadOnlyList<Tensor> PredictionMetricValues(IReadOnlyList<Tensor> predictions) => [];

    /// <summary>The training forward: the logits of every prediction and the weighted loss terms for one batch.</summary>
    public abstract DistillationStep TrainingStep(Batch batch);

    /// <summary>
    /// The logits of each of <see cref="PredictionNames"/>, in that order, for evaluation (the caller sets eval mode
    /// and no_grad). Default: the student's logits.
    /// </summary>
    public virtual IReadOnlyList<Tensor> Predict(Tensor images) =>
        [(student ?? throw new InvalidOperationException($"method '{Method}' has no zoo student and must override Predict"))
            .Logits(images)];

    /// <summary>
    /// The optimizer's parameter groups. Default: one group with every parameter of the distiller (the student and
    /// the method's parts) at the run's learning rate and weight decay. A method may give its own parts their own
    /// learning-rate factor or weight decay; every trainable parameter must be in exactly one group.
    /// </summary>
    public virtual IReadOnlyList<OptimizerGroup> OptimizerGroups() => [new OptimizerGroup("all", parameters().ToArray())];

    /// <summary>
    /// Called after every optimizer step, under no_grad, with the optimizer (for momentum memories, EMA copies,
    /// or a method that resets the optimizer's state). Default: nothing.
    /// </summary>
    public virtual void AfterOptimizerStep(optim.Optimizer optimizer) { }

    /// <summary>Called before each epoch (1-based) with the total, for methods with ramp-ups. Default: nothing.</summary>
    public virtual void BeginEpoch(int epoch, int totalEpochs) { }

    /// <summary>
    /// A generator for the method's own random draws (e.g. negatives), seeded from the run and saved in checkpoints;
    /// null when the method draws nothing.
    /// </summary>
    public virtual Generator? RandomSource => null;

    /// <summary>
    /// The teacher's state that training changes, by name: its buffers (batch-norm running statistics and counters)
    /// when it runs in train mode, else nothing. Checkpoints save and restore it so that a resumed run continues
    /// exactly.
    /// </summary>
    public IReadOnlyList<(string Name, Tensor Value)> TeacherState() =>
        teacher is not null && TeacherInTrainMode
            ? teacher.named_buffers().Select(b => (b.name, b.buffer)).ToArray()
            : [];

    /// <summary>
    /// Runs the teacher without gradients. Its outputs are constants for the student's loss. A bfloat16 teacher
    /// (<see cref="TeacherPrecision"/>) gets its input converted to bfloat16 and returns float32 outputs; entries that
    /// are one tensor in the bfloat16 output (the pooled vector and the last feature, shared pre-activation entries)
    /// are one tensor in the converted output too.
    /// </summary>
    protected ModelOutput TeacherForward(Tensor images, string method)
    {
        using var guard = no_grad();
        var output = RunTeacher(images, method, static (t, x) => t.forward(x));
        return TeacherPrecision == ScalarType.Float32 ? output : ToFloat32(output);
    }

    /// <summary>
    /// The teacher's logits and pooled vector alone, for a loss that reads nothing else of the teacher (KD: the logits;
    /// CRD: the pooled vector and the logits): the same values as <see cref="TeacherForward"/>'s, through
    /// <see cref="ZooModel.LogitsAndPooled"/>, which frees each stage's features once the next stage has read them, and a
    /// bfloat16 teacher converts only these two to float32. resnet32x4 at batch 64 would otherwise hold 9.5 million
    /// elements of stage features and 7.3 million of pre-activation ones at the end of its forward, besides its 6,400 logits.
    /// </summary>
    protected (Tensor Logits, Tensor Pooled) TeacherLogitsAndPooled(Tensor images, string method)
    {
        using var guard = no_grad();
        var (logits, pooled) = RunTeacher(images, method, static (t, x) => t.LogitsAndPooled(x));
        if (TeacherPrecision == ScalarType.Float32) return (logits, pooled);
        var result = (logits.to(ScalarType.Float32), pooled.to(ScalarType.Float32));
        logits.Dispose();
        pooled.Dispose();
        return result;
    }

    /// <summary>
    /// Runs <paramref name="run"/> on the teacher in <see cref="TeacherPrecision"/>, its input converted to it (under the
    /// caller's no_grad).
    /// </summary>
    private T RunTeacher<T>(Tensor images, string method, Func<ZooModel, Tensor, T> run)
    {
        var t = teacher ?? throw new DistillSharpException($"method '{method}' needs a teacher: pass --teacher.");
        if (TeacherPrecision == ScalarType.Float32) return run(t, images);
        using var input = images.to(TeacherPrecision);
        return run(t, input);
    }

    /// <summary>
    /// The element type the teacher runs in: float32, or bfloat16 after <see cref="UseTeacherPrecision"/> for a
    /// teacher in eval mode.
    /// </summary>
    public ScalarType TeacherPrecision { get; private set; } = ScalarType.Float32;

    /// <summary>
    /// Converts the teacher to <paramref name="type"/> (float32 or bfloat16, <see cref="Training.TeacherPrecision"/>)
    /// as a whole, weights and buffers. For bfloat16 the teacher's batch norms are first folded into its convolutions
    /// in float32 (<see cref="FoldTeacherBatchNorms"/>), so each folded layer's weights are rounded to bfloat16 once.
    /// A teacher in train mode (<see cref="TeacherInTrainMode"/>) stays float32 and unfolded, as does a distiller
    /// without a teacher. Returns the type the teacher now runs in.
    /// </summary>
    public ScalarType UseTeacherPrecision(ScalarType type)
    {
        if (type != ScalarType.Float32 && type != ScalarType.BFloat16)
        {
            throw new ArgumentException($"a teacher runs in float32 or bfloat16, not {type}", nameof(type));
        }
        if (teacher is null || TeacherInTrainMode || type == TeacherPrecision) return TeacherPrecision;
        if (type == ScalarType.BFloat16) FoldTeacherBatchNorms();
        teacher.to(type);
        TeacherPrecision = type;
        return type;
    }

    /// <summary>Whether the teacher's batch norms are folded into its convolutions (<see cref="FoldTeacherBatchNorms"/>).</summary>
    public bool TeacherBatchNormsFolded => teacher?.IsBatchNormFolded ?? false;

    /// <summary>
    /// Folds the frozen teacher's conv→BN pairs into its convolutions, in place (<see cref="ZooModel.FoldBatchNorms"/>:
    /// the same outputs to float32 rounding, without running the folded batch norms). Done for every bfloat16 teacher
    /// (<see cref="UseTeacherPrecision"/>) and, with <c>--fold-teacher-bn</c>, for a float32 one. Returns how many batch
    /// norms were folded (0 when already folded, or without a teacher).
    /// </summary>
    /// <exception cref="DistillSharpException">The method runs its teacher in train mode (<see cref="TeacherInTrainMode"/>).</exception>
    public int FoldTeacherBatchNorms()
    {
        if (teacher is null) return 0;
        if (TeacherInTrainMode)
        {
            throw new DistillSharpException(
                $"method '{Method}' runs its teacher '{teacher.Name}' in train mode (batch statistics, running statistics updated every step), " +
                "so its batch norms cannot be folded into its convolutions: leave out --fold-teacher-bn for this method.");
        }
        return teacher.FoldBatchNorms();
    }

    private static ModelOutput ToFloat32(ModelOutput low)
    {
        var converted = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        Tensor F(Tensor x)
        {
            if (!converted.TryGetValue(x, out var y)) converted[x] = y = x.to(ScalarType.Float32);
            return y;
        }
        var result = new ModelOutput(F(low.Logits), low.Features.Select(F).ToArray(), low.PreActFeatures.Select(F).ToArray(), F(low.Pooled));
        foreach (var x in converted.Keys) x.Dispose();
        return result;
    }

    /// <summary>Sets training mode on the networks and the method's parts; the teacher follows <see cref="TeacherInTrainMode"/>.</summary>
    public override void train(bool on = true)
    {
        base.train(on);
        SetTeacherMode(on);
    }

    /// <summary>Moves the networks, the method's parts and the teacher to <paramref name="device"/>.</summary>
    public Distiller MoveTo(Device device)
    {
        this.to(device);
        teacher?.to(device);
        return this;
    }

    private void SetTeacherMode(bool training = true)
    {
        if (teacher is null) return;
        if (training && TeacherInTrainMode) teacher.train(); else teacher.eval();
    }

    /// <summary>Cross-entropy with the labels, <c>CE(z, y) = −mean_i log softmax(z_i)_{y_i}</c>: the supervised term every method keeps.</summary>
    protected static Tensor CrossEntropy(Tensor logits, Tensor labels) => nn.functional.cross_entropy(logits, labels);
}

/// <summary>
/// One parameter group of the optimizer: its parameters, a factor on the run's learning rate (the schedule applies to
/// every group alike) and, if set, its own weight decay in place of the run's.
/// </summary>
/// <param name="Name">A name for messages and tests, e.g. <c>heads</c>.</param>
/// <param name="Parameters">The group's parameters.</param>
/// <param name="LearningRateFactor">η_group = factor · η(t).</param>
/// <param name="WeightDecay">The group's L2 weight decay; null keeps the run's.</param>
public sealed record OptimizerGroup(string Name, IReadOnlyList<Parameter> Parameters, double LearningRateFactor = 1.0, double? WeightDecay = null);
