using DistillSharp.Data;
using DistillSharp.Losses;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// <c>mimkd</c>: Estimating and Maximizing Mutual Information for Knowledge Distillation (Shrivastava, Qi, Ordonez,
/// arXiv 2110.15946). Critics owned by the distiller estimate a Jensen-Shannon lower bound on the mutual information
/// between teacher and student (<see cref="MutualInformation.JensenShannon"/>), and the student and the critics both
/// maximise it:
/// <c>L = γ · CE(z_s, y) + α · L_KD + β_g · (−Î_JSD(global)) + β_l · (−Î_JSD(local))</c>.
/// </summary>
/// <remarks>
/// <para>Global term: a separable critic <c>T(s, t) = c(g_s(s), g_t(t))</c> on the pooled features, each projected
/// to D dimensions by a small MLP (<c>global_student</c>, <c>global_teacher</c>). Local term: the critic
/// <c>T(s, t_hw) = c(l_s(s), l_t(t_hw))</c> between the student's pooled vector and every spatial position of the
/// teacher's feature map <c>Features[local_stage]</c>, <c>l_t</c> being the same MLP applied at each position (a
/// 1×1-convolution critic, <c>local_teacher</c>), averaged over B × H × W as in Deep InfoMax's local objective. The
/// comparison c is the cosine <c>⟨u, v⟩ / (‖u‖ ‖v‖ τ)</c> (<c>critic_temperature</c> τ = 0.1), or Deep InfoMax's dot
/// product <c>⟨u, v⟩</c> with τ = 0. Each positive pair (teacher and student of one image) gets one negative, the
/// same student code against the teacher code of the previous image of the batch (a roll by one,
/// <see cref="MutualInformation.RolledPairScores"/>). The teacher is frozen; the critics' parameters are children of
/// this module, hence in the optimizer's default group.</para>
/// <para>Fidelity. The paper gives the global and local levels, the Jensen-Shannon estimator, one negative per
/// positive and the frozen teacher. Inferred, and exposed as parameters: the total and its weights, the critics' form
/// and widths, and the teacher stage of the local term. Their defaults: γ = 1 and α = 0, the method alone on top of
/// the labels (KD added is an ablation, α &gt; 0); β_g = β_l = 1, since each −Î_JSD lies in (0, log 4] for a
/// well-trained critic and its gradient per score is a sigmoid, below 1, so a unit weight puts both terms on the scale
/// of the cross-entropy; D = 128, the code size of CRD's embeddings in this library, with a hidden layer of 2D = 256;
/// τ = 0.1, a bounded critic (scores within ±10, which still lets the bound come within 1e-4 of its maximum 0):
/// with the unbounded dot product and the library's SGD recipe (lr 0.05, momentum 0.9) the scores on an untrained
/// teacher's features grew until the loss overflowed within the first epoch (<c>distill bench --leak-check</c>,
/// resnet20 → resnet8, step 12), while the cosine critic trains there and on a trained teacher;
/// <c>local_stage</c> = 3 (see <see cref="Parameters"/>). A batch of a single image has no negative: its two
/// mutual-information terms are 0.</para>
/// <para>Loss terms: <c>ce</c>, <c>kd</c> (when α &gt; 0), <c>mi_global</c> (when β_g &gt; 0) and <c>mi_local</c>
/// (when β_l &gt; 0 and <c>local_stage</c> ≥ 0), each already weighted; the heads of a term that is off are not
/// built.</para>
/// </remarks>
public sealed class MutualInformationDistiller : Distiller
{
    /// <summary>The registry name.</summary>
    public const string Name = "mimkd";

    /// <summary>
    /// The loss weights, the KD temperature, the critics' widths and the teacher stage of the local term.
    /// <c>local_stage</c> = 3 by default: for the profiles' teachers (resnet20, resnet32x4) and every CIFAR ResNet and
    /// wide ResNet, entry 3 of the teacher's <see cref="Models.ModelOutput.Features"/> is layer3, the last map before the
    /// pooling, 8 × 8 positions at 32 × 32 input: the most abstract local features the teacher has, closest in level
    /// to the student's pooled vector they are scored against, and the fewest positions (the local term is a 1×1
    /// convolution over them). The same index is layer3 (8 × 8) of ResNet18/34/50 and a 4 × 4 map of VGG,
    /// MobileNetV2 and the ShuffleNets; -1 turns the local term off.
    /// </summary>
    public static readonly IReadOnlyList<MethodParameter> Parameters =
    [
        new("gamma", 1.0, "γ, weight of the cross-entropy with the labels"),
        new("alpha", 0.0, "α, weight of the soft-target KD term (inferred; 0 = MIMKD alone)"),
        new("temperature", 4.0, "T of the KD term", Min: 1e-3, Max: 1e3),
        new("beta_global", 1.0, "β_g, weight of −Î_JSD between the pooled features (inferred)"),
        new("beta_local", 1.0, "β_l, weight of −Î_JSD between the student's pooled vector and each position of the teacher map (inferred)"),
        new("local_stage", 3, "index into the teacher's Features list of the map of the local term; -1 = no local term (inferred)",
            Min: -1, Max: 4, Integer: true),
        new("feat_dim", 128, "D, the dimension of the critics' codes (inferred)", Min: 1, Max: 65536, Integer: true),
        new("hidden_dim", 256, "width of the hidden layer of each critic head (inferred)", Min: 1, Max: 65536, Integer: true),
        new("critic_temperature", 0.1, "τ of the cosine critic ⟨u, v⟩/(‖u‖‖v‖τ), scores within ±1/τ; 0 = Deep InfoMax's unbounded dot product (inferred)",
            Max: 100),
    ];

#pragma warning disable IDE1006 // names follow the PyTorch state_dict keys
    private readonly CriticHead? global_student;
    private readonly CriticHead? global_teacher;
    private readonly CriticHead? local_student;
    private readonly CriticHead? local_teacher;
#pragma warning restore IDE1006
    private readonly double gamma, alpha, temperature, betaGlobal, betaLocal, criticTemperature;
    private readonly int localStage;

    /// <summary>Creates the method from its context and settings; a <c>local_stage</c> that is not a map of the teacher is an error.</summary>
    public MutualInformationDistiller(DistillerContext context, MethodSettings settings)
        : base(nameof(MutualInformationDistiller), context.Student, context.RequireTeacher(Name))
    {
        var teacher = context.Teacher!;
        gamma = settings["gamma"];
        alpha = settings["alpha"];
        temperature = settings["temperature"];
        betaGlobal = settings["beta_global"];
        betaLocal = settings["beta_local"];
        criticTemperature = settings["critic_temperature"];
        localStage = (int)settings["local_stage"];
        int dim = (int)settings["feat_dim"], hidden = (int)settings["hidden_dim"];
        int maps = teacher.FeatureChannels.Count - 1;   // the last entry is the pooled vector
        if (localStage >= maps)
        {
            throw new DistillSharpException(
                $"{Name}: parameter 'local_stage' is {localStage}, but teacher '{teacher.Name}' has feature maps at 0..{maps - 1} " +
                $"(entry {maps} of its Features list is the pooled vector); use -1 for no local term.");
        }
        int studentWidth = context.Student.PooledSize;
        if (betaGlobal > 0)
        {
            global_student = new CriticHead(studentWidth, hidden, dim);
            global_teacher = new CriticHead(teacher.PooledSize, hidden, dim);
            register_module("global_student", global_student);
            register_module("global_teacher", global_teacher);
        }
        if (betaLocal > 0 && localStage >= 0)
        {
            local_student = new CriticHead(studentWidth, hidden, dim);
            local_teacher = new CriticHead(teacher.FeatureChannels[localStage], hidden, dim);
            register_module("local_student", local_student);
            register_module("local_teacher", local_teacher);
        }
    }

    /// <inheritdoc />
    public override string Method => Name;

    /// <inheritdoc />
    public override DistillationStep TrainingStep(Batch batch)
    {
        var output = StudentNetwork.forward(batch.Images);
        var teacherOutput = TeacherForward(batch.Images, Name);
        var losses = new Dictionary<string, Tensor>
        {
            ["ce"] = CrossEntropy(output.Logits, batch.Labels) * gamma,
        };
        if (alpha > 0)
        {
            losses["kd"] = KnowledgeDistillation.SoftTargetLoss(output.Logits, teacherOutput.Logits, temperature) * alpha;
        }
        if (global_student is not null)
        {
            losses["mi_global"] = NegativeBound(global_student, output.Pooled, global_teacher!, teacherOutput.Pooled) * betaGlobal;
        }
        if (local_student is not null)
        {
            // [B, C, H, W] → [B, H, W, C]: the head's linear layers then act at every position (a 1×1 convolution).
            var map = teacherOutput.Features[localStage].permute(0, 2, 3, 1);
            losses["mi_local"] = NegativeBound(local_student, output.Pooled, local_teacher!, map) * betaLocal;
        }
        return new DistillationStep(output.Logits, losses);
    }

    /// <summary><c>−Î_JSD</c> of the critic <c>⟨head_s(s), head_t(t)⟩</c> on the batch's rolled pairs; 0 for a batch of one image.</summary>
    private Tensor NegativeBound(CriticHead studentHead, Tensor student, CriticHead teacherHead, Tensor teacher)
    {
        if (student.shape[0] < 2) return zeros([], device: student.device);
        using var scope = NewDisposeScope();
        var (positive, negative) = MutualInformation.RolledPairScores(studentHead.forward(student), teacherHead.forward(teacher), criticTemperature);
        return (-MutualInformation.JensenShannon(positive, negative)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// One side of a separable MIMKD critic: a two-layer perceptron over the last axis,
/// <c>h(x) = W₂ · relu(W₁ x + b₁) + b₂</c>, from the features' width to the code dimension D. On a feature map laid
/// out [B, H, W, C] it acts at every position, which is a 1×1-convolution head. Children <c>fc1</c>, <c>fc2</c>.
/// </summary>
public sealed class CriticHead : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names follow the PyTorch state_dict keys
    private readonly Linear fc1;
    private readonly Linear fc2;
#pragma warning restore IDE1006

    /// <summary>Creates the head <paramref name="inputDim"/> → <paramref name="hiddenDim"/> → <paramref name="outputDim"/> (PyTorch's default initialisation).</summary>
    public CriticHead(int inputDim, int hiddenDim, int outputDim) : base(nameof(CriticHead))
    {
        fc1 = nn.Linear(inputDim, hiddenDim);
        fc2 = nn.Linear(hiddenDim, outputDim);
        register_module("fc1", fc1);
        register_module("fc2", fc2);
    }

    /// <summary>The code of each row (or each position) of <paramref name="input"/>, whose last axis has the input width.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return fc2.forward(nn.functional.relu(fc1.forward(input))).MoveToOuterDisposeScope();
    }
}
