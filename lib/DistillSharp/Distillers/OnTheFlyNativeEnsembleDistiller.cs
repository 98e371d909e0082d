using DistillSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// <c>one</c>: Knowledge Distillation by On-the-fly Native Ensemble (Lan, Zhu, Gong, NeurIPS 2018), the online
/// baseline of the multi-branch diversity paper, as implemented in OKDDip (<c>models/model_cifar/resnet_one.py</c>,
/// <c>train_one.py</c>). A multi-branch network (shared trunk, m branches) and a gate on the shallow shared feature
/// (<see cref="OneGate"/>) form the gated ensemble z_e, which is trained with the labels and taught to every branch:
/// <c>L = Σ_i CE(z_i, y) + CE(z_e, y) + α · w(t) · Σ_i T² KL(softmax(z_e/T) ‖ softmax(z_i/T))</c>, T = 3, α = 1
/// (see <see cref="MultiBranchDistiller"/>).
/// </summary>
/// <remarks>
/// <para>Fidelity to OKDDip. Matched: the trunk (stem, stages 1-2) and per-branch stage 3 and classifier, with OKDDip's
/// names (<c>layer3_i</c>, <c>classifier3_i</c>); the gate (average pool of the stage-2 output → Linear(C₂ → m) →
/// BatchNorm1d → ReLU → softmax, <c>control_v1</c>, <c>bn_v1</c>); the loss with the ensemble as a target that is not
/// detached; T = 3, α = 1; the ramp-up exp(−5(1 − t/L)²) set once per epoch; evaluation of each branch, their mean
/// accuracy and the mean-of-logits ensemble, at the last epoch. Departures: (1) the networks are the zoo's: resnet32 is
/// OKDDip's resnet32 (BasicBlock 5,5,5), but the zoo's resnet110 is RepDistiller's (BasicBlock 18,18,18) where OKDDip's is
/// Bottleneck 12,12,12, and the wide networks are the zoo's pre-activation WRNs (stage 3, final BN and classifier per
/// branch), not OKDDip's wide_resnet20_8; (2) the ramp's length is a fraction of the run (<c>rampup_fraction</c>,
/// default 80/300, OKDDip's 80 epochs of 300), so short runs keep its shape; (3) OKDDip adds 1e-7 to the target
/// probabilities inside the KL (unnormalized); here the KL is exact, which moves each branch's term by at most about
/// T² · K · 1e-7 · |log 1e-7| (2e-3 for K = 100 classes at T = 3), mostly from classes the ensemble rules out; (4) the gate
/// pools adaptively where OKDDip's AvgPool2d(16) assumes 32 × 32 input (equal there); (5) the gated ensemble is also
/// reported (<c>gated</c>). OKDDip's <c>dist</c> diversity (L2 between branch softmaxes, with a loop that skips the
/// last branch) is replaced by the top-1 disagreement of every pair.</para>
/// </remarks>
public sealed class OnTheFlyNativeEnsembleDistiller : MultiBranchDistiller
{
    /// <summary>The registry name.</summary>
    public const string Name = "one";

    /// <summary><c>branches</c>, <c>temperature</c>, <c>alpha</c>, <c>rampup_fraction</c> (see <see cref="MultiBranchDistiller.CommonParameters"/>).</summary>
    public static readonly IReadOnlyList<MethodParameter> Parameters = CommonParameters;

#pragma warning disable IDE1006 // names follow the PyTorch state_dict keys
    private readonly OneGate gate;
#pragma warning restore IDE1006

    /// <summary>Creates the method from its context (its zoo network names the architecture) and settings.</summary>
    public OnTheFlyNativeEnsembleDistiller(DistillerContext context, MethodSettings settings)
        : base(nameof(OnTheFlyNativeEnsembleDistiller), context, settings)
    {
        gate = new OneGate(Network.SharedChannels, Network.Branches);
        register_module("gate", gate);
    }

    /// <inheritdoc />
    public override string Method => Name;

    /// <inheritdoc />
    protected override double ClassifierDiversityWeight => 0;

    /// <inheritdoc />
    protected override Tensor Gate(MultiBranchOutput output) => gate.forward(output.Shared);
}

/// <summary>
/// ONE's gate on the shallow shared feature:
/// <c>g(x) = softmax(ReLU(BN(W_g · avgpool(s(x)) + b_g)))</c>, s(x) the trunk's output, B × m. Children
/// <c>control_v1</c> (Linear C → m, PyTorch's default initialisation) and <c>bn_v1</c> (BatchNorm1d m), OKDDip's names.
/// </summary>
public sealed class OneGate : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names follow the PyTorch state_dict keys
    private readonly Linear control_v1;
    private readonly BatchNorm1d bn_v1;
#pragma warning restore IDE1006

    /// <summary>A gate from a feature of <paramref name="channels"/> channels to <paramref name="branches"/> weights.</summary>
    public OneGate(int channels, int branches) : base(nameof(OneGate))
    {
        control_v1 = nn.Linear(channels, branches);
        bn_v1 = nn.BatchNorm1d(branches);
        register_module("control_v1", control_v1);
        register_module("bn_v1", bn_v1);
    }

    /// <summary>The gate weights, B × m, of a shared feature map B × C × H × W.</summary>
    public override Tensor forward(Tensor shared)
    {
        using var scope = NewDisposeScope();
        var pooled = shared.mean([2, 3]);
        var scores = nn.functional.relu(bn_v1.call(control_v1.call(pooled)));
        return nn.functional.softmax(scores, 1).MoveToOuterDisposeScope();
    }
}
