using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Models;

/// <summary>
/// A convolution whose output goes into one batch norm and nowhere else, run as <c>BN(conv(x))</c> until it is folded
/// into one convolution with a bias (<see cref="Fold"/>), which computes the same function in eval mode.
/// </summary>
/// <remarks>
/// <para>Not a module: the owner's two children keep the reference's names. The constructor registers the convolution
/// and the batch norm in the owner under their PyTorch names, so the state_dict of an unfolded network is
/// exactly the reference's; the owner holds the pair in a field (not a module field, so TorchSharp's field registration
/// never sees it) and runs <see cref="Forward"/> where it ran the two layers.</para>
/// <para>In eval mode the batch norm is the per-channel affine map <c>y = γ·(x − μ)/√(σ² + ε) + β</c> with the running
/// mean μ and variance σ². With <c>s = γ/√(σ² + ε)</c> per output channel, <c>BN(W∗x + b) = (s·W)∗x + (β + s·(b − μ))</c>
/// (<c>b = 0</c> for a convolution without bias), so <see cref="Fold"/> sets <c>W' = s·W</c> (each output channel's
/// filter scaled) and <c>b' = β + s·(b − μ)</c>, computed in float64 and rounded once to the weights' type; it then
/// removes the batch norm from the owner's children (its parameters and buffers leave the state_dict) and disposes it,
/// so the folded forward runs the convolution alone.</para>
/// </remarks>
internal sealed class ConvBatchNorm
{
    private readonly nn.Module owner;
    private readonly string normName;
    private BatchNorm2d? norm;

    /// <summary>Registers <paramref name="conv"/> and then <paramref name="norm"/> in <paramref name="owner"/> under the given names.</summary>
    public ConvBatchNorm(nn.Module owner, string convName, Conv2d conv, string normName, BatchNorm2d norm)
    {
        this.owner = owner;
        this.normName = normName;
        this.norm = norm;
        Conv = conv;
        owner.register_module(convName, conv);
        owner.register_module(normName, norm);
    }

    /// <summary>The convolution (after <see cref="Fold"/>: the folded one, with a bias).</summary>
    public Conv2d Conv { get; }

    /// <summary>Whether the batch norm has been folded into <see cref="Conv"/>.</summary>
    public bool IsFolded => norm is null;

    /// <summary>The batch norm; an error once it is folded (its statistics are then part of the convolution).</summary>
    /// <exception cref="DistillSharpException">After <see cref="Fold"/>.</exception>
    public BatchNorm2d Norm => norm ?? throw new DistillSharpException(
        $"batch norm '{normName}' has been folded into its convolution (ZooModel.FoldBatchNorms), so it has no statistics of its own; " +
        "read them from a network that is not folded.");

    /// <summary><c>BN(conv(x))</c>, or the folded convolution alone; the convolution's output is disposed once the batch norm has read it.</summary>
    public Tensor Forward(Tensor x)
    {
        if (norm is null) return Conv.call(x);
        using var convolved = Conv.call(x);
        return norm.call(convolved);
    }

    /// <summary>
    /// Folds the batch norm into the convolution (<c>W' = s·W</c>, <c>b' = β + s·(b − μ)</c>, <c>s = γ/√(σ² + ε)</c>),
    /// removes it from the owner and disposes it. Returns false when it was folded already. The caller checks eval mode.
    /// </summary>
    public bool Fold()
    {
        if (norm is not { } bn) return false;
        using (no_grad())
        {
            Tensor bias;
            var weight = Conv.weight;
            using (var scope = NewDisposeScope())
            {
                var type = weight.dtype;
                var mean = bn.running_mean!.to(ScalarType.Float64);
                var variance = bn.running_var!.to(ScalarType.Float64);
                var gamma = bn.weight.to(ScalarType.Float64);
                var beta = bn.bias!.to(ScalarType.Float64);
                var scale = gamma / (variance + bn.eps).sqrt();
                var shift = Conv.bias is { } b ? b.to(ScalarType.Float64) - mean : -mean;
                weight.copy_((weight.to(ScalarType.Float64) * scale.view(-1, 1, 1, 1)).to(type));
                bias = (beta + scale * shift).to(type).DetachFromDisposeScope();
            }
            var parameter = new Parameter(bias, requires_grad: weight.requires_grad);
            _ = parameter.DetachFromDisposeScope();
            Conv.bias = parameter;
        }
        owner.register_module(normName, null!);   // TorchSharp removes a child registered as null
        bn.Dispose();
        norm = null;
        return true;
    }
}

/// <summary>A module that runs conv→BN pairs of its own (<see cref="ConvBatchNorm"/>): what <see cref="ZooModel.FoldBatchNorms"/> folds.</summary>
internal interface IConvBatchNormOwner
{
    /// <summary>The module's own pairs (not those of its children, which list theirs).</summary>
    IEnumerable<ConvBatchNorm> ConvBatchNorms { get; }
}

/// <summary>
/// A sequence of layers registered under <c>0, 1, 2, …</c> like PyTorch's <c>nn.Sequential</c> (the same state_dict
/// keys), run in order; a convolution directly followed by a batch norm runs as one <see cref="ConvBatchNorm"/>, so the
/// two can be folded. The zoo uses it where the reference has a Sequential holding convolutions and batch norms.
/// </summary>
internal sealed class LayerSequence : nn.Module<Tensor, Tensor>, IConvBatchNormOwner
{
    private readonly Func<Tensor, Tensor>[] steps;
    private readonly ConvBatchNorm[] pairs;

    public LayerSequence(params nn.Module<Tensor, Tensor>[] layers) : base(nameof(LayerSequence))
    {
        var stepList = new List<Func<Tensor, Tensor>>();
        var pairList = new List<ConvBatchNorm>();
        for (int i = 0; i < layers.Length; i++)
        {
            if (layers[i] is Conv2d conv && i + 1 < layers.Length && layers[i + 1] is BatchNorm2d bn)
            {
                var pair = new ConvBatchNorm(this, Name(i), conv, Name(i + 1), bn);
                pairList.Add(pair);
                stepList.Add(pair.Forward);
                i++;
            }
            else
            {
                var layer = layers[i];
                register_module(Name(i), layer);
                stepList.Add(layer.call);
            }
        }
        steps = [.. stepList];
        pairs = [.. pairList];
    }

    private static string Name(int index) => index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The batch norm of the last conv→BN pair (for the lists of batch norms before a ReLU).</summary>
    public BatchNorm2d LastNorm => pairs[^1].Norm;

    /// <inheritdoc/>
    public IEnumerable<ConvBatchNorm> ConvBatchNorms => pairs;

    /// <summary>Runs the layers in order; each intermediate is disposed once the next layer has read it.</summary>
    public override Tensor forward(Tensor x)
    {
        var y = steps[0](x);
        for (int i = 1; i < steps.Length; i++)
        {
            var next = steps[i](y);
            y.Dispose();
            y = next;
        }
        return y;
    }
}
