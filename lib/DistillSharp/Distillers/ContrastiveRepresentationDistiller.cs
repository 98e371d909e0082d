using DistillSharp.Data;
using DistillSharp.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// <c>crd</c>: Contrastive Representation Distillation (Tian et al., ICLR 2020), as RepDistiller computes it.
/// The pooled features of both networks are embedded (<see cref="ContrastEmbedding"/>), each anchor is scored
/// against its positive and K negatives from the other side's momentum memory (<see cref="ContrastMemory"/>,
/// negatives from other classes as <see cref="ClassNegativeSampler"/>), and both directions' NCE losses are summed:
/// <c>L = γ · CE + α · L_KD + β · (L_NCE(student anchor) + L_NCE(teacher anchor))</c>, with RepDistiller's CRD
/// defaults γ = 1, α = 0, β = 0.8, D = 128, K = 16384, τ = 0.07, μ = 0.5. Parameter and buffer names
/// (<c>embed_s</c>, <c>embed_t</c>, <c>contrast.memory_v1</c>, ...) follow RepDistiller's <c>CRDLoss</c>.
/// </summary>
public sealed class ContrastiveRepresentationDistiller : Distiller
{
    /// <summary>The registry name.</summary>
    public const string Name = "crd";

    /// <summary>The loss weights, the KD temperature and CRD's own constants.</summary>
    public static readonly IReadOnlyList<MethodParameter> Parameters =
    [
        new("gamma", 1.0, "γ, weight of the cross-entropy with the labels"),
        new("alpha", 0.0, "α, weight of the soft-target KD term (CRD+KD uses 1)"),
        new("beta", 0.8, "β, weight of the contrastive term"),
        new("temperature", 4.0, "T of the KD term", Min: 1e-3, Max: 1e3),
        new("feat_dim", 128, "D, the embedding dimension", Min: 1, Max: 65536, Integer: true),
        new("nce_k", 16384, "K, negatives per positive", Min: 1, Max: 1e7, Integer: true),
        new("nce_t", 0.07, "τ, the contrast temperature", Min: 1e-4, Max: 100),
        new("nce_m", 0.5, "μ, the memory momentum", Min: 0, Max: 0.999999),
    ];

#pragma warning disable IDE1006 // names follow the PyTorch state_dict keys
    private readonly ContrastEmbedding embed_s;
    private readonly ContrastEmbedding embed_t;
    private readonly ContrastMemory contrast;
#pragma warning restore IDE1006
    private readonly ClassNegativeSampler sampler;
    private readonly Generator generator;
    private readonly long numData;
    private readonly double gamma, alpha, beta, temperature;
    private readonly int negatives;

    /// <summary>Creates the method from its context and settings.</summary>
    public ContrastiveRepresentationDistiller(DistillerContext context, MethodSettings settings)
        : base(nameof(ContrastiveRepresentationDistiller), context.Student, context.RequireTeacher(Name))
    {
        gamma = settings["gamma"];
        alpha = settings["alpha"];
        beta = settings["beta"];
        temperature = settings["temperature"];
        negatives = (int)settings["nce_k"];
        int dim = (int)settings["feat_dim"];
        numData = context.TrainCount;
        generator = new Generator((ulong)context.Seed ^ 0xC4D0UL);
        embed_s = new ContrastEmbedding(context.PooledWidth(context.Student), dim);
        embed_t = new ContrastEmbedding(context.PooledWidth(context.Teacher!), dim);
        contrast = new ContrastMemory(dim, numData, negatives, settings["nce_t"], settings["nce_m"], generator);
        sampler = new ClassNegativeSampler(context.TrainLabels, context.NumClasses);
        register_module("embed_s", embed_s);
        register_module("embed_t", embed_t);
        register_module("contrast", contrast);
    }

    /// <inheritdoc />
    public override string Method => Name;

    /// <inheritdoc />
    public override Generator RandomSource => generator;

    /// <inheritdoc />
    public override DistillationStep TrainingStep(Batch batch)
    {
        var output = StudentNetwork.forward(batch.Images);
        var teacherOutput = TeacherLogitsAndPooled(batch.Images, Name);
        var contrastIndices = sampler.Sample(batch.Indices, batch.Labels, negatives, generator).to(batch.Images.device);
        var es = embed_s.forward(output.Pooled);
        var et = embed_t.forward(teacherOutput.Pooled);
        var (ps, pt) = contrast.Score(es, et, batch.Indices, contrastIndices);
        var nce = ContrastiveRepresentation.NceLoss(ps, numData) + ContrastiveRepresentation.NceLoss(pt, numData);
        var losses = new Dictionary<string, Tensor>
        {
            ["ce"] = CrossEntropy(output.Logits, batch.Labels) * gamma,
            ["crd"] = nce * beta,
        };
        if (alpha > 0)
        {
            losses["kd"] = KnowledgeDistillation.SoftTargetLoss(output.Logits, teacherOutput.Logits, temperature) * alpha;
        }
        return new DistillationStep(output.Logits, losses);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            sampler.Dispose();
            generator.Dispose();
        }
        base.Dispose(disposing);
    }
}
