using DistillSharp.Data;
using DistillSharp.Losses;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// <c>kd</c>: Hinton et al.'s knowledge distillation,
/// <c>L = γ · CE(z_s, y) + α · T² · KL(softmax(z_t/T) ‖ softmax(z_s/T))</c>
/// (<see cref="KnowledgeDistillation.SoftTargetLoss"/>), with RepDistiller's defaults γ = 0.1, α = 0.9, T = 4.
/// </summary>
public sealed class KnowledgeDistiller : Distiller
{
    /// <summary>The registry name.</summary>
    public const string Name = "kd";

    /// <summary>γ, α and T.</summary>
    public static readonly IReadOnlyList<MethodParameter> Parameters =
    [
        new("gamma", 0.1, "γ, weight of the cross-entropy with the labels"),
        new("alpha", 0.9, "α, weight of the soft-target KL term"),
        new("temperature", 4.0, "T, the softmax temperature", Min: 1e-3, Max: 1e3),
    ];

    private readonly double gamma;
    private readonly double alpha;
    private readonly double temperature;

    /// <summary>Creates the method from its context and settings.</summary>
    public KnowledgeDistiller(DistillerContext context, MethodSettings settings)
        : base(nameof(KnowledgeDistiller), context.Student, context.RequireTeacher(Name))
    {
        gamma = settings["gamma"];
        alpha = settings["alpha"];
        temperature = settings["temperature"];
    }

    /// <inheritdoc />
    public override string Method => Name;

    /// <inheritdoc />
    public override DistillationStep TrainingStep(Batch batch)
    {
        var logits = StudentNetwork.forward(batch.Images).Logits;
        var teacherLogits = TeacherLogitsAndPooled(batch.Images, Name).Logits;
        return new DistillationStep(logits, new Dictionary<string, Tensor>
        {
            ["ce"] = CrossEntropy(logits, batch.Labels) * gamma,
            ["kd"] = KnowledgeDistillation.SoftTargetLoss(logits, teacherLogits, temperature) * alpha,
        });
    }
}
