using DistillSharp.Data;
using DistillSharp.Models;

namespace DistillSharp.Distillers;

/// <summary>
/// <c>none</c>: the network trained alone with cross-entropy, <c>L = CE(z, y)</c>. Used for teachers and for the
/// student baselines every paper compares against.
/// </summary>
public sealed class StudentAlone : Distiller
{
    /// <summary>The registry name.</summary>
    public const string Name = "none";

    /// <summary>No tunable parameters.</summary>
    public static readonly IReadOnlyList<MethodParameter> Parameters = [];

    /// <summary>Wraps <paramref name="student"/>.</summary>
    public StudentAlone(ZooModel student) : base(nameof(StudentAlone), student, null) { }

    /// <inheritdoc />
    public override string Method => Name;

    /// <inheritdoc />
    public override DistillationStep TrainingStep(Batch batch)
    {
        var logits = StudentNetwork.forward(batch.Images).Logits;
        return new DistillationStep(logits, new Dictionary<string, TorchSharp.torch.Tensor> { ["ce"] = CrossEntropy(logits, batch.Labels) });
    }
}
