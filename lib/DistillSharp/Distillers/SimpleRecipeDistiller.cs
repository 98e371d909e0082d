using DistillSharp.Data;
using DistillSharp.Losses;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// <c>srd</c>: the "simple recipe" of Miles and Mikolajczyk, "A closer look at the training dynamics of knowledge
/// distillation" (arXiv 2303.11098; AAAI 2024 as "Understanding the Role of the Projector in Knowledge
/// Distillation"), as the official ResNet code computes it. A projector on the student's pooled feature,
/// <c>h(z_s) = W z_s + b</c> (d_s → d_t), batch normalisation without affine parameters on each side, and the log-sum
/// of the fourth powers of the differences (<see cref="Projector.LogSumLoss"/>):
/// <c>L = γ · CE(y_s, y) + β · log Σ_bd |BN(h(z_s))_bd − BN(z_t)_bd|^p + α · T² · KL(softmax(y_t/T) ‖ softmax(y_s/T))</c>,
/// with the official defaults γ = 1, β = 2, p = 4, α = 1, T = 1 and BatchNorm's ε = 1e-4.
/// </summary>
/// <remarks>
/// <para>The three design axes of the paper are parameters: the normalisation (<c>normalization</c>: none, l2,
/// batchnorm, layernorm; <see cref="FeatureNormalization"/>), the soft maximum (<c>soft_maximum</c>: squared_error,
/// log_sum, sum, and the DeiT code's correlation form; <see cref="SoftMaximum"/>, with the exponent p) and the
/// projector (<c>projector</c>: none, linear, mlp; <c>projector_training</c>: trained or frozen at its random
/// initialisation). Choices are stored as their codes (the index in the list) and accepted by name on the command
/// line.</para>
/// <para>Fidelity to <c>roymiles/Simple-Recipe-Distillation</c> (imagenet/torchdistill/losses/single.py,
/// <c>OurDistillationLoss</c>, and core/distillation.py, which adds the projector to the optimizer). Matched: z_s and
/// z_t are the spatial means of the last stage's output (this library's pooled feature, after the final ReLU); the
/// projector is a Linear with bias and PyTorch's default initialisation, child <c>embed</c> as there, trained with
/// the student at the run's learning rate and weight decay; two affine-free batch normalisations on batch statistics
/// with ε = 1e-4; the log of the sum (not the mean) of the fourth powers, times 2; KL at T = 1 summed over classes
/// and divided by the batch; CE with weight 1. Departures: (1) the batch normalisation is computed functionally and
/// keeps no running statistics (the official BatchNorm1d modules update running statistics that nothing reads, since
/// the loss is only computed in training mode); (2) a batch of a single image has no batch statistics (PyTorch's
/// BatchNorm1d refuses it): under batchnorm its representation term is 0 and only CE and KD train; (3) the MLP
/// projector, the frozen projector, the other normalisations and soft maxima are the paper's ablations, not in the
/// official ResNet code; their details are inferred: the MLP is Linear(d_s → h) → ReLU → Linear(h → d_t) with
/// h = <c>mlp_hidden</c>, default 0 meaning 4 · d_s (the width of the MLP the official code once had,
/// <c>embed_mix</c>); L2 divides each row by its norm; LayerNorm standardises each row with the same ε; the squared
/// error is a mean, the plain sum is the log-sum's sum without the log. (4) The CIFAR-100 recipe is inferred (the
/// spec): this form on RepDistiller's recipe and pairs.</para>
/// <para>Loss terms: <c>ce</c>, <c>kd</c> (when α &gt; 0) and <c>rep</c> (when β &gt; 0), each already weighted.
/// With <c>projector</c> = none the student's pooled width must equal the teacher's; otherwise it is an error naming
/// both widths.</para>
/// </remarks>
public sealed class SimpleRecipeDistiller : Distiller
{
    /// <summary>The registry name.</summary>
    public const string Name = "srd";

    /// <summary>The names of the <c>normalization</c> choices, code = index (<see cref="FeatureNormalization"/>).</summary>
    public static readonly IReadOnlyList<string> NormalizationChoices = ["none", "l2", "batchnorm", "layernorm"];

    /// <summary>The names of the <c>soft_maximum</c> choices, code = index (<see cref="SoftMaximum"/>).</summary>
    public static readonly IReadOnlyList<string> SoftMaximumChoices = ["squared_error", "log_sum", "sum", "correlation"];

    /// <summary>The names of the <c>projector</c> choices, code = index.</summary>
    public static readonly IReadOnlyList<string> ProjectorChoices = ["none", "linear", "mlp"];

    /// <summary>The names of the <c>projector_training</c> choices, code = index.</summary>
    public static readonly IReadOnlyList<string> ProjectorTrainingChoices = ["trained", "frozen"];

    /// <summary>The loss weights, the KD temperature and the three ablation axes, with the official ResNet code's defaults.</summary>
    public static readonly IReadOnlyList<MethodParameter> Parameters =
    [
        new("gamma", 1.0, "γ, weight of the cross-entropy with the labels"),
        new("alpha", 1.0, "α, weight of the KD term on the logits"),
        new("temperature", 1.0, "T of the KD term (1 in the official code)", Min: 1e-3, Max: 1e3),
        new("beta", 2.0, "β, weight of the representation term (2 in the official code)"),
        MethodParameter.Choice("normalization", "batchnorm", "normalisation of both sides before the comparison", [.. NormalizationChoices]),
        new("norm_eps", 1e-4, "ε under the square root of batchnorm and layernorm (1e-4 in the ResNet code, 0 in the DeiT code)", Max: 1),
        MethodParameter.Choice("soft_maximum", "log_sum", "how the differences become one number: mean square, log Σ|d|^p, Σ|d|^p, or the DeiT correlation form", [.. SoftMaximumChoices]),
        new("exponent", 4.0, "p of |d|^p in log_sum, sum and correlation (4 in the official code)", Min: 1, Max: 16),
        MethodParameter.Choice("projector", "linear", "the map from the student's pooled feature to the teacher's width", [.. ProjectorChoices]),
        MethodParameter.Choice("projector_training", "trained", "whether the projector is trained with the student or frozen at its random initialisation", [.. ProjectorTrainingChoices]),
        new("mlp_hidden", 0, "hidden width h of the mlp projector; 0 = 4 · d_s (inferred)", Max: 65536, Integer: true),
    ];

#pragma warning disable IDE1006 // names follow the official code's module names
    private readonly nn.Module<Tensor, Tensor>? embed;
#pragma warning restore IDE1006
    private readonly double gamma, alpha, temperature, beta, eps, exponent;
    private readonly FeatureNormalization normalization;
    private readonly SoftMaximum softMaximum;

    /// <summary>Creates the method from its context and settings; <c>projector</c> = none with unequal widths is an error.</summary>
    public SimpleRecipeDistiller(DistillerContext context, MethodSettings settings)
        : base(nameof(SimpleRecipeDistiller), context.Student, context.RequireTeacher(Name))
    {
        gamma = settings["gamma"];
        alpha = settings["alpha"];
        temperature = settings["temperature"];
        beta = settings["beta"];
        eps = settings["norm_eps"];
        exponent = settings["exponent"];
        normalization = (FeatureNormalization)(int)settings["normalization"];
        softMaximum = (SoftMaximum)(int)settings["soft_maximum"];
        bool frozen = settings.Choice("projector_training") == "frozen";
        int studentWidth = context.Student.PooledSize, teacherWidth = context.Teacher!.PooledSize;
        var projector = settings.Choice("projector");
        if (projector == "none")
        {
            if (studentWidth != teacherWidth)
            {
                throw new DistillSharpException(
                    $"{Name}: parameter 'projector' is none, but the student's pooled feature has {studentWidth} dimensions and the " +
                    $"teacher's {teacherWidth}; use projector=linear or mlp.");
            }
            return;
        }
        int hidden = (int)settings["mlp_hidden"] is var h && h > 0 ? h : 4 * studentWidth;
        embed = projector == "linear"
            ? nn.Linear(studentWidth, teacherWidth)
            : nn.Sequential(("0", nn.Linear(studentWidth, hidden)), ("1", nn.ReLU()), ("2", nn.Linear(hidden, teacherWidth)));
        register_module("embed", embed);
        if (frozen)
        {
            foreach (var p in embed.parameters()) p.requires_grad = false;
        }
    }

    /// <inheritdoc />
    public override string Method => Name;

    /// <summary>The projector (child <c>embed</c>), or null with <c>projector</c> = none.</summary>
    public nn.Module<Tensor, Tensor>? Embed => embed;

    /// <summary>Every trainable parameter in one group; a frozen projector's parameters are in none.</summary>
    public override IReadOnlyList<OptimizerGroup> OptimizerGroups() =>
        [new OptimizerGroup("all", parameters().Where(p => p.requires_grad).ToArray())];

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
        if (beta > 0)
        {
            losses["rep"] = RepresentationLoss(output.Pooled, teacherOutput.Pooled) * beta;
        }
        return new DistillationStep(output.Logits, losses);
    }

    /// <summary>
    /// The unweighted representation term <c>S(N(h(z_s)), N(z_t))</c> of the configured projector h, normalisation N
    /// and soft maximum S; 0 for a batch of one image under batchnorm.
    /// </summary>
    public Tensor RepresentationLoss(Tensor studentPooled, Tensor teacherPooled)
    {
        if (normalization == FeatureNormalization.BatchNorm && studentPooled.shape[0] < 2)
        {
            return zeros([], device: studentPooled.device);
        }
        using var scope = NewDisposeScope();
        var projected = embed is null ? studentPooled : embed.forward(studentPooled);
        var zs = Projector.Normalize(projected, normalization, eps);
        var zt = Projector.Normalize(teacherPooled.detach(), normalization, eps);
        return Projector.RepresentationLoss(zs, zt, softMaximum, exponent).MoveToOuterDisposeScope();
    }
}
