using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Losses;
using DistillSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Support;

/// <summary>
/// Methods that exist only for the tests of the training engine: each uses one of the engine's extension points the
/// way a paper's method will (online peers, a teacher in train mode, optimizer groups and a post-step hook).
/// </summary>
internal static class TestMethods
{
    /// <summary>
    /// <c>test-peers</c>: deep mutual learning with two peers and no teacher. Each peer learns from the labels and from
    /// the other's softened prediction (held constant):
    /// <c>L = CE(z1, y) + CE(z2, y) + T²·KL(σ(z2/T) ‖ σ(z1/T)) + T²·KL(σ(z1/T) ‖ σ(z2/T))</c>, T = 1.
    /// Predictions: peer1, peer2, and their mean accuracy peer_mean.
    /// </summary>
    public static readonly DistillerEntry Peers = new("test-peers", "two peers taught by each other (tests only)", false,
        [new MethodParameter("temperature", 1.0, "T", Min: 1e-3, Max: 1e3)], (c, s) => new PeersDistiller(c, s["temperature"]));

    /// <summary><c>test-kd-train-teacher</c>: Hinton KD whose teacher runs in train mode (batch statistics), as OFD's does.</summary>
    public static readonly DistillerEntry TrainModeTeacher = new("test-kd-train-teacher", "KD with a teacher in train mode (tests only)", true,
        [], (c, _) => new TrainModeTeacherDistiller(c));

    /// <summary>Registers the test methods (idempotent).</summary>
    public static void Register()
    {
        DistillerRegistry.Register(Peers);
        DistillerRegistry.Register(TrainModeTeacher);
    }
}

/// <summary>Two zoo peers of the student's architecture: child <c>student</c> (peer1) and child <c>peer2</c>.</summary>
internal sealed class PeersDistiller : Distiller
{
    private readonly ZooModel peer2;
    private readonly double temperature;

    public PeersDistiller(DistillerContext context, double temperature) : base(nameof(PeersDistiller), context.Student, null)
    {
        this.temperature = temperature;
        peer2 = ModelZoo.Create(context.Student.Name, context.NumClasses, context.Channels);
        register_module("peer2", peer2);
    }

    public override string Method => "test-peers";

    public override IReadOnlyList<string> PredictionNames => ["peer1", "peer2"];

    public override IReadOnlyDictionary<string, IReadOnlyList<string>> AccuracyMeans { get; } =
        new Dictionary<string, IReadOnlyList<string>> { ["peer_mean"] = ["peer1", "peer2"] };

    public override IReadOnlyList<Tensor> Predict(Tensor images) => [StudentNetwork.forward(images).Logits, peer2.forward(images).Logits];

    public override DistillationStep TrainingStep(Batch batch)
    {
        var z1 = StudentNetwork.forward(batch.Images).Logits;
        var z2 = peer2.forward(batch.Images).Logits;
        return new DistillationStep(z1, new Dictionary<string, Tensor>
        {
            ["ce1"] = CrossEntropy(z1, batch.Labels),
            ["ce2"] = CrossEntropy(z2, batch.Labels),
            ["kl1"] = KnowledgeDistillation.SoftTargetLoss(z1, z2.detach(), temperature),
            ["kl2"] = KnowledgeDistillation.SoftTargetLoss(z2, z1.detach(), temperature),
        }, [z1, z2]);
    }
}

/// <summary>KD (γ = 0.1, α = 0.9, T = 4) with the teacher's batch norms on batch statistics during training.</summary>
internal sealed class TrainModeTeacherDistiller(DistillerContext context)
    : Distiller(nameof(TrainModeTeacherDistiller), context.Student, context.RequireTeacher("test-kd-train-teacher"))
{
    public override string Method => "test-kd-train-teacher";

    public override bool TeacherInTrainMode => true;

    public override DistillationStep TrainingStep(Batch batch)
    {
        var logits = StudentNetwork.forward(batch.Images).Logits;
        var teacherLogits = TeacherForward(batch.Images, Method).Logits;
        return new DistillationStep(logits, new Dictionary<string, Tensor>
        {
            ["ce"] = CrossEntropy(logits, batch.Labels) * 0.1,
            ["kd"] = KnowledgeDistillation.SoftTargetLoss(logits, teacherLogits, 4.0) * 0.9,
        });
    }
}

/// <summary>
/// The student plus a linear head on its pooled feature, the head in its own optimizer group (half the rate, no weight
/// decay), and a hook that counts optimizer steps and records whether gradients were off during it.
/// </summary>
internal sealed class GroupedHeadDistiller : Distiller
{
#pragma warning disable IDE1006 // a PyTorch-style child name
    private readonly Linear head;
#pragma warning restore IDE1006

    public GroupedHeadDistiller(ZooModel student) : base(nameof(GroupedHeadDistiller), student, null)
    {
        head = nn.Linear(student.PooledSize, student.NumClasses);
        register_module("head", head);
    }

    public Linear Head => head;

    public int HookCalls { get; private set; }

    public bool GradientsWereOffInHook { get; private set; } = true;

    public override string Method => "test-grouped";

    public override IReadOnlyList<OptimizerGroup> OptimizerGroups() =>
    [
        new("student", StudentNetwork.parameters().ToArray()),
        new("head", head.parameters().ToArray(), LearningRateFactor: 0.5, WeightDecay: 0.0),
    ];

    public override void AfterOptimizerStep(optim.Optimizer optimizer)
    {
        HookCalls++;
        GradientsWereOffInHook &= !torch.is_grad_enabled();
    }

    public override DistillationStep TrainingStep(Batch batch)
    {
        var output = StudentNetwork.forward(batch.Images);
        return new DistillationStep(output.Logits, new Dictionary<string, Tensor>
        {
            ["ce"] = CrossEntropy(output.Logits, batch.Labels),
            ["head"] = CrossEntropy(head.forward(output.Pooled), batch.Labels),
        });
    }
}
