using DistillSharp.Data;
using DistillSharp.Losses;
using DistillSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// <c>ofd</c>: A Comprehensive Overhaul of Feature Distillation (Heo, Kim, Yun, Park, Kwak, Choi, ICCV 2019). At each
/// stage i of N a connector r_i (1×1 convolution to the teacher's width, then batch norm) maps the student's pre-ReLU
/// feature to the teacher's, which is clamped below by the margin of its channel (<see cref="FeatureOverhaul.Margin"/>,
/// from the teacher's batch norm before the ReLU) and compared under the partial L2 distance:
/// <c>L = CE(z_s, y) + β · Σ_i d_p(σ_m(t_i), r_i(s_i)) / 2^(N−1−i) / (1000 · B)</c> (CIFAR scaling;
/// <c>/(10000 · B)</c> with <c>imagenet_scaling</c> = 1). No logit term.
/// </summary>
/// <remarks>
/// <para>What it matches: the official code of LONDON (42Shawn/LONDON, distiller_london.py at bac21e8 and 971f332),
/// which carries OFD's distiller unchanged (the loss, the connectors, the margins, the stage weights) and its training
/// loop (the totals above, the teacher in train mode). The stages are the zoo models' pre-activation stage features
/// <see cref="ModelOutput.PreActFeatures"/> without the stem and the pooled vector (RepDistiller's <c>preact=True</c>
/// list, indices 1..N), paired with <see cref="ZooModel.BatchNormsBeforeRelu"/>; student and teacher must have the
/// same number of stages, and each pair the same spatial size (checked when the method is built, by one eval-mode
/// forward of a zero image) unless <c>match_sizes</c> = 1.</para>
/// <para><c>match_sizes</c> (this project's extension; 0, the official behaviour, by default): where a stage is larger
/// in one network than in the other, as in CRD's cross-family pairs (ResNet50 → MobileNetV2 at 32×32 against 16×16),
/// the larger map (the teacher's, or the connector's output) is adaptive-average-pooled to the smaller's size before
/// the margin and the partial L2, <c>d_p(σ_m(P t_i), r_i(s_i))</c> or <c>d_p(σ_m(t_i), P r_i(s_i))</c>. Stages of equal
/// size are untouched, so the official pairs give the same numbers either way.</para>
/// <para>Connectors: <c>Connectors.i.0</c> a bias-free 1×1 convolution, weights drawn from
/// <c>N(0, 2 / C_teacher)</c> (He's fan-out normal, as the official <c>build_feature_connector</c>), and
/// <c>Connectors.i.1</c> a batch norm at weight 1 and bias 0. They are children of this module, so the optimizer's
/// one group trains them with the student, at the run's weight decay (the official optimizer has the connectors in
/// a group of their own with the same settings). The margins are buffers <c>margin1..N</c> (the official names), [C]
/// per stage instead of the official [1, C, 1, 1].</para>
/// <para>Teacher mode. OFD and LONDON run the teacher in train mode during distillation: its batch norms use the
/// batch's statistics (and update their running statistics, which the run's checkpoints then carry), never its
/// weights. <c>teacher_train_mode</c> = 0 keeps it in eval mode instead (an ablation).</para>
/// <para>Departures: none in the loss. Not in this method, but in the run's options: the official CIFAR-100 recipe
/// (200 epochs, batch 128, lr 0.1 ×0.1 after epochs 100 and 150, Nesterov SGD 0.9, weight decay 5e-4, a new optimizer
/// at each learning-rate step, so momentum restarts there) is
/// <c>--epochs 200 --batch-size 128 --lr 0.1 --milestones 100,150 --nesterov --reset-momentum</c>, with
/// <c>--milestones 100,150,175 --milestone-factors 0.1,0.01,0.002</c> (or 0.001) for the LONDON scripts that take a third
/// step.</para>
/// <para>Loss terms: <c>ce</c> and <c>ofd</c> (when β &gt; 0), each already weighted.</para>
/// </remarks>
public class FeatureOverhaulDistiller : Distiller
{
    /// <summary>The registry name.</summary>
    public const string Name = "ofd";

    /// <summary>The OFD term's weight, the scaling of the official CIFAR or ImageNet code, and the teacher's mode.</summary>
    public static readonly IReadOnlyList<MethodParameter> Parameters =
    [
        new("beta", 1.0, "β, weight of the OFD term (official CIFAR code: 1)"),
        new("imagenet_scaling", 0, "0 = the CIFAR code's scaling, Σ d_p / (1000 B); 1 = the ImageNet code's, Σ d_p / (10000 B)",
            Max: 1, Integer: true),
        new("teacher_train_mode", 1, "1 = teacher on batch statistics during training (OFD's and LONDON's code); 0 = eval mode",
            Max: 1, Integer: true),
        new("match_sizes", 0, "1 = pool the larger of a stage's two maps to the smaller's size (for cross-family pairs); 0 = equal sizes only (official)",
            Max: 1, Integer: true),
    ];

#pragma warning disable IDE1006 // names follow the official state_dict keys
    private readonly ModuleList<Sequential> Connectors;
#pragma warning restore IDE1006
    private readonly bool teacherTrainMode;
    private readonly (long H, long W)?[] poolTeacherTo, poolStudentTo;

    /// <summary>Creates the method; a teacher without batch norms before its ReLUs, or a pair whose stages do not line up, is an error.</summary>
    public FeatureOverhaulDistiller(DistillerContext context, MethodSettings settings)
        : this(nameof(FeatureOverhaulDistiller), Name, context, settings)
    {
    }

    /// <summary>For a method built on OFD's connectors and term (LONDON): <paramref name="method"/> names it in errors.</summary>
    protected FeatureOverhaulDistiller(string moduleName, string method, DistillerContext context, MethodSettings settings)
        : base(moduleName, context.Student, context.RequireTeacher(method))
    {
        var teacher = context.Teacher!;
        var student = context.Student;
        Beta = settings["beta"];
        FeatureDivisor = settings["imagenet_scaling"] == 1 ? 10000 : 1000;
        ImageNetScaling = settings["imagenet_scaling"] == 1;
        teacherTrainMode = settings["teacher_train_mode"] == 1;
        if (!teacher.HasBatchNormsBeforeRelu)
        {
            throw new DistillSharpException($"{method}: teacher '{teacher.Name}' has no batch norms before its ReLUs, which give OFD's margins; choose another teacher.");
        }
        var norms = teacher.BatchNormsBeforeRelu();
        var teacherShapes = StageShapes(teacher, context);
        var studentShapes = StageShapes(student, context);
        if (teacherShapes.Length != norms.Count || studentShapes.Length != teacherShapes.Length)
        {
            throw new DistillSharpException(
                $"{method}: teacher '{teacher.Name}' has {teacherShapes.Length} stages ({norms.Count} batch norms before ReLU) and student " +
                $"'{student.Name}' has {studentShapes.Length}; OFD pairs them stage by stage.");
        }
        bool matchSizes = settings["match_sizes"] == 1;
        poolTeacherTo = new (long H, long W)?[teacherShapes.Length];
        poolStudentTo = new (long H, long W)?[teacherShapes.Length];
        for (int i = 0; i < teacherShapes.Length; i++)
        {
            var (t, s) = (teacherShapes[i], studentShapes[i]);
            if (t.H == s.H && t.W == s.W) continue;
            if (!matchSizes)
            {
                throw new DistillSharpException(
                    $"{method}: stage {i + 1} is {s.H}x{s.W} in student '{student.Name}' but {t.H}x{t.W} in teacher '{teacher.Name}'; " +
                    "OFD's 1x1 connectors need equal sizes. -P match_sizes=1 pools the larger map to the smaller's size.");
            }
            if (t.H >= s.H && t.W >= s.W) poolTeacherTo[i] = (s.H, s.W);
            else if (s.H >= t.H && s.W >= t.W) poolStudentTo[i] = (t.H, t.W);
            else
            {
                throw new DistillSharpException(
                    $"{method}: stage {i + 1} is {s.H}x{s.W} in student '{student.Name}' and {t.H}x{t.W} in teacher '{teacher.Name}'; neither contains the other, so match_sizes cannot pool one to the other.");
            }
        }
        Stages = teacherShapes.Length;
        Connectors = new ModuleList<Sequential>();
        for (int i = 0; i < Stages; i++)
        {
            Connectors.Add(Connector((int)studentShapes[i].C, (int)teacherShapes[i].C));
        }
        register_module("Connectors", Connectors);
        for (int i = 0; i < Stages; i++)
        {
            register_buffer($"margin{i + 1}", FeatureOverhaul.Margin(norms[i].weight!, norms[i].bias!));
        }
        train(training);   // the teacher's mode follows teacher_train_mode, known only now
    }

    /// <inheritdoc />
    public override string Method => Name;

    /// <inheritdoc />
    public override bool TeacherInTrainMode => teacherTrainMode;

    /// <summary>N, the number of stages distilled.</summary>
    public int Stages { get; }

    /// <summary>β, the weight of the OFD term.</summary>
    protected double Beta { get; }

    /// <summary>Whether the ImageNet code's scaling is used (else the CIFAR code's).</summary>
    protected bool ImageNetScaling { get; }

    /// <summary>1000 (CIFAR code) or 10000 (ImageNet code): the OFD sum is divided by it and by the batch size.</summary>
    protected double FeatureDivisor { get; }

    /// <summary>m of stage i (0-based), per channel of the teacher's stage.</summary>
    public Tensor Margin(int stage) => get_buffer($"margin{stage + 1}")!;

    /// <inheritdoc />
    public override DistillationStep TrainingStep(Batch batch)
    {
        var output = StudentNetwork.forward(batch.Images);
        var teacherOutput = TeacherForward(batch.Images, Method);
        var losses = new Dictionary<string, Tensor> { ["ce"] = CrossEntropy(output.Logits, batch.Labels) };
        var student = Enumerable.Range(1, Stages).Select(i => output.PreActFeatures[i]).ToArray();
        var teacher = Enumerable.Range(1, Stages).Select(i => teacherOutput.PreActFeatures[i]).ToArray();
        var connected = student.Select((s, i) => Connectors[i].forward(s)).ToArray();
        if (Beta > 0)
        {
            using var scope = NewDisposeScope();
            Tensor sum = zeros([], device: batch.Images.device);
            for (int i = 0; i < Stages; i++)
            {
                var s = poolStudentTo[i] is { } ps ? nn.functional.adaptive_avg_pool2d(connected[i], [ps.H, ps.W]) : connected[i];
                var t = poolTeacherTo[i] is { } pt ? nn.functional.adaptive_avg_pool2d(teacher[i], [pt.H, pt.W]) : teacher[i];
                sum = sum + FeatureOverhaul.DistillationLoss(s, t, Margin(i)) * FeatureOverhaul.StageWeight(i, Stages);
            }
            losses["ofd"] = (sum * (Beta / (FeatureDivisor * batch.Images.shape[0]))).MoveToOuterDisposeScope();
        }
        AddTerms(losses, new StageFeatures(student, connected, teacher));
        return new DistillationStep(output.Logits, losses);
    }

    /// <summary>Adds a derived method's own terms to <paramref name="losses"/>. Default: nothing.</summary>
    protected virtual void AddTerms(Dictionary<string, Tensor> losses, StageFeatures features) { }

    private static Sequential Connector(int studentChannels, int teacherChannels)
    {
        var conv = nn.Conv2d(studentChannels, teacherChannels, 1, bias: false);
        var norm = nn.BatchNorm2d(teacherChannels);
        using (no_grad())
        {
            nn.init.normal_(conv.weight, 0, Math.Sqrt(2.0 / teacherChannels));
            nn.init.ones_(norm.weight);
            nn.init.zeros_(norm.bias);
        }
        return nn.Sequential(("0", conv), ("1", norm));
    }

    /// <summary>Channels, height and width of the pre-activation stage features 1..N of <paramref name="model"/>, from one eval-mode forward of a zero image.</summary>
    private static (long C, long H, long W)[] StageShapes(ZooModel model, DistillerContext context)
    {
        using var scope = NewDisposeScope();
        using var guard = no_grad();
        bool wasTraining = model.training;
        model.eval();
        var device = model.parameters().First().device;
        var output = model.forward(zeros(new long[] { 1, context.Channels, context.ImageSize, context.ImageSize }, device: device));
        if (wasTraining) model.train();
        return output.PreActFeatures.Skip(1).SkipLast(1).Select(f => (f.shape[1], f.shape[2], f.shape[3])).ToArray();
    }
}

/// <summary>The stage features of one OFD step: the student's raw pre-ReLU features, their connector outputs and the teacher's, stage 1..N in order.</summary>
/// <param name="Student">The student's pre-ReLU stage features.</param>
/// <param name="Connected">r_i(s_i), each at the teacher's width.</param>
/// <param name="Teacher">The teacher's pre-ReLU stage features (constants).</param>
public sealed record StageFeatures(IReadOnlyList<Tensor> Student, IReadOnlyList<Tensor> Connected, IReadOnlyList<Tensor> Teacher);
