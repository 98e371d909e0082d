using DistillSharp.Data;
using DistillSharp.Losses;
using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// What the online multi-branch methods share (<c>one</c>, <see cref="OnTheFlyNativeEnsembleDistiller"/>, and
/// <c>ffm-cd</c>, <see cref="MultiBranchDiversityDistiller"/>): no teacher; one <see cref="MultiBranchNetwork"/> of m
/// branches built from the run's zoo network (child <c>network</c>); a gate g(x), B × m, that weights the branches into
/// the ensemble <c>z_e = Σ_i g_i z_i</c> (<see cref="OnTheFlyNativeEnsemble.GatedEnsemble"/>); and the loss
/// <c>L = Σ_i CE(z_i, y) + CE(z_e, y) + α · w(t) · Σ_i T² KL(softmax(z_e/T) ‖ softmax(z_i/T)) + λ_CD · L_CD</c>, whose
/// terms are <c>ce</c> (the branches' sum), <c>ce_ensemble</c>, <c>kl</c> (when α &gt; 0) and <c>cd</c> (when λ_CD &gt; 0),
/// each already weighted. The subclass supplies the gate and λ_CD.
/// </summary>
/// <remarks>
/// <para>Predictions: <c>ensemble</c>, the mean of the branch logits (OKDDip's evaluation of ONE calls this the
/// ensemble), first, so it is the run's <c>test_top1</c>; then <c>branch1</c> … <c>branchm</c>; then <c>gated</c>, the
/// gate-weighted ensemble z_e that the loss trains. <c>branch_mean</c> is the mean of the branches' accuracies
/// (OKDDip's <c>mean_test_accTop1</c>). Prediction metric <c>branch_disagreement</c> (column
/// <c>test_branch_disagreement</c>, %): the mean over test images of the branches' pairwise top-1 disagreement
/// (<see cref="ClassifierDiversity.Disagreement"/>), 100 minus the branches' agreement.</para>
/// <para>The ramp-up w(t) (<see cref="OnTheFlyNativeEnsemble.RampUp"/>) is set per epoch in <see cref="BeginEpoch"/>
/// from t = epoch − 1 and a length of <c>rampup_fraction</c> × the run's epochs; before the first epoch it is w(0).</para>
/// </remarks>
public abstract class MultiBranchDistiller : Distiller
{
    /// <summary>The name of the mean-of-logits ensemble prediction (the run's own).</summary>
    public const string EnsemblePrediction = "ensemble";

    /// <summary>The name of the gate-weighted ensemble prediction z_e.</summary>
    public const string GatedPrediction = "gated";

    /// <summary>The name of the branch-disagreement prediction metric (%).</summary>
    public const string DisagreementMetric = "branch_disagreement";

    /// <summary>The parameters both methods have.</summary>
    public static readonly IReadOnlyList<MethodParameter> CommonParameters =
    [
        new("branches", 3, "m, the number of branches (3 in OKDDip's ONE model, 4 in its training script)", Min: 2, Max: 16, Integer: true),
        new("temperature", 3.0, "T of the ensemble-to-branch KL (ONE: 3)", Min: 1e-3, Max: 1e3),
        new("alpha", 1.0, "α, weight of the KL term (ONE: 1)"),
        new("rampup_fraction", 80.0 / 300.0,
            "length of the sigmoid ramp-up of the KL weight as a fraction of the run's epochs (ONE: 80 of 300 epochs); 0 = no ramp", Max: 1),
    ];

#pragma warning disable IDE1006 // names follow the PyTorch state_dict keys
    private readonly MultiBranchNetwork network;
#pragma warning restore IDE1006
    private readonly double temperature, alpha, rampupFraction;
    private readonly string[] names;

    /// <summary>Builds the network from <paramref name="context"/>'s zoo network and reads the common parameters.</summary>
    protected MultiBranchDistiller(string name, DistillerContext context, MethodSettings settings) : base(name, null)
    {
        temperature = settings["temperature"];
        alpha = settings["alpha"];
        rampupFraction = settings["rampup_fraction"];
        int branches = (int)settings["branches"];
        network = MultiBranchNetwork.FromZoo(context.Student, branches);
        register_module("network", network);
        names = [EnsemblePrediction, .. Enumerable.Range(1, branches).Select(i => $"branch{i}"), GatedPrediction];
        AccuracyMeans = new Dictionary<string, IReadOnlyList<string>> { ["branch_mean"] = names[1..^1] };
        RampWeight = OnTheFlyNativeEnsemble.RampUp(0, rampupFraction > 0 ? 1 : 0);
    }

    /// <summary>The multi-branch network (child <c>network</c>).</summary>
    public MultiBranchNetwork Network => network;

    /// <summary>w(t), the ramp-up factor the KL term carries this epoch.</summary>
    public double RampWeight { get; private set; }

    /// <summary>λ_CD, the weight of the classifier-diversification loss (0: no <c>cd</c> term).</summary>
    protected abstract double ClassifierDiversityWeight { get; }

    /// <summary>The gate g(x), B × m, each row a probability vector, from the network's output.</summary>
    protected abstract Tensor Gate(MultiBranchOutput output);

    /// <inheritdoc />
    public override IReadOnlyList<string> PredictionNames => names;

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, IReadOnlyList<string>> AccuracyMeans { get; }

    /// <inheritdoc />
    public override IReadOnlyList<string> PredictionMetrics => [DisagreementMetric];

    /// <inheritdoc />
    public override IReadOnlyList<Tensor> PredictionMetricValues(IReadOnlyList<Tensor> predictions) =>
        [ClassifierDiversity.Disagreement(predictions.Skip(1).Take(network.Branches).ToArray()) * 100.0];

    /// <inheritdoc />
    public override void BeginEpoch(int epoch, int totalEpochs) =>
        RampWeight = OnTheFlyNativeEnsemble.RampUp(epoch - 1, rampupFraction * totalEpochs);

    /// <summary>
    /// The network's forward with the gate and both ensembles: the branch logits z_i, the gate g, the gated ensemble z_e
    /// and the mean of the branch logits.
    /// </summary>
    public (IReadOnlyList<Tensor> Branches, Tensor Gate, Tensor Gated, Tensor Mean) Forward(Tensor images)
    {
        var output = network.forward(images);
        var gate = Gate(output);
        var gated = OnTheFlyNativeEnsemble.GatedEnsemble(output.Logits, gate);
        var mean = stack(output.Logits.ToArray()).mean([0]);
        return (output.Logits, gate, gated, mean);
    }

    /// <inheritdoc />
    public override IReadOnlyList<Tensor> Predict(Tensor images)
    {
        var (branches, _, gated, mean) = Forward(images);
        return [mean, .. branches, gated];
    }

    /// <inheritdoc />
    public override DistillationStep TrainingStep(Batch batch)
    {
        var (branches, _, gated, mean) = Forward(batch.Images);
        Tensor ce = CrossEntropy(branches[0], batch.Labels);
        for (int i = 1; i < branches.Count; i++) ce = ce + CrossEntropy(branches[i], batch.Labels);
        var losses = new Dictionary<string, Tensor>
        {
            ["ce"] = ce,
            ["ce_ensemble"] = CrossEntropy(gated, batch.Labels),
        };
        if (alpha > 0) losses["kl"] = OnTheFlyNativeEnsemble.EnsembleDistillation(branches, gated, temperature) * (alpha * RampWeight);
        if (ClassifierDiversityWeight > 0)
        {
            losses["cd"] = ClassifierDiversity.Loss(network.Classifiers.Select(c => (Tensor)c.weight!).ToArray()) * ClassifierDiversityWeight;
        }
        return new DistillationStep(mean, losses, [mean, .. branches, gated]);
    }
}
