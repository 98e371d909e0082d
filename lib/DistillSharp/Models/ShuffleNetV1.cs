using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DistillSharp.Models;

/// <summary>
/// RepDistiller's CIFAR ShuffleNet (ShuffleNetv1.py, registered as <c>ShuffleV1</c>): 3 groups, stage widths
/// 240/480/960 with 4/8/4 units.
/// </summary>
/// <remarks>
/// <para>Layout: <c>conv1</c> = 1x1 convolution to 24 channels (no bias), <c>bn1</c>, ReLU; stages
/// <c>layer1..3</c> whose first unit has stride 2 and concatenates a 3x3 stride-2 average pool of its input
/// (so it produces width minus input channels itself), the others stride 1 with an identity sum; 4x4 average
/// pooling; linear <c>linear</c>. A unit is grouped 1x1 convolution (1 group when the input has 24
/// channels), BN, ReLU, channel shuffle, 3x3 depthwise convolution, BN, ReLU, grouped 1x1 convolution, BN,
/// then the shortcut and a ReLU. The reference sets no init, so PyTorch's (and TorchSharp's) defaults
/// apply.</para>
/// <para>Features: <c>[stem, layer1, layer2, layer3, pooled]</c>; PreActFeatures take each stage's last unit
/// before its final ReLU.</para>
/// <para><see cref="ZooModel.FoldBatchNorms"/> folds every batch norm (the stem's and the three of each unit).</para>
/// </remarks>
public sealed class ShuffleNetV1 : ZooModel, IConvBatchNormOwner
{
    private const int Groups = 3;
    private static readonly int[] Widths = [240, 480, 960];
    private static readonly int[] Units = [4, 8, 4];

    private readonly ConvBatchNorm stem;
    private readonly ModuleList<ShuffleUnitV1> layer1;
    private readonly ModuleList<ShuffleUnitV1> layer2;
    private readonly ModuleList<ShuffleUnitV1> layer3;
    private readonly Linear linear;

    internal ShuffleNetV1(string name, int numClasses, int inChannels)
        : base(name, numClasses, inChannels, [24, Widths[0], Widths[1], Widths[2], Widths[2]])
    {
        var conv1 = Conv2d(inChannels, 24, 1, bias: false);
        var bn1 = BatchNorm2d(24);
        var channels = 24;
        layer1 = MakeStage(ref channels, 0);
        layer2 = MakeStage(ref channels, 1);
        layer3 = MakeStage(ref channels, 2);
        linear = Linear(Widths[2], numClasses);

        stem = new ConvBatchNorm(this, nameof(conv1), conv1, nameof(bn1), bn1);
        register_module(nameof(layer1), layer1);
        register_module(nameof(layer2), layer2);
        register_module(nameof(layer3), layer3);
        register_module(nameof(linear), linear);
    }

    private static ModuleList<ShuffleUnitV1> MakeStage(ref int channels, int stage)
    {
        var units = new ShuffleUnitV1[Units[stage]];
        for (var i = 0; i < units.Length; i++)
        {
            var concatenated = i == 0 ? channels : 0;
            units[i] = new ShuffleUnitV1(channels, Widths[stage] - concatenated, i == 0 ? 2 : 1, Groups);
            channels = Widths[stage];
        }
        return new ModuleList<ShuffleUnitV1>(units);
    }

    /// <inheritdoc/>
    public override Linear Classifier => linear;

    IEnumerable<ConvBatchNorm> IConvBatchNormOwner.ConvBatchNorms => [stem];

    /// <inheritdoc/>
    public override bool HasBatchNormsBeforeRelu => false;

    /// <summary>Not defined for this model (RepDistiller raises NotImplementedError).</summary>
    /// <exception cref="DistillSharpException">Always.</exception>
    public override IReadOnlyList<BatchNorm2d> BatchNormsBeforeRelu() => throw NoBatchNormsBeforeRelu();

    /// <inheritdoc/>
    public override ModelOutput forward(Tensor x)
    {
        var f0 = functional.relu(stem.Forward(x));
        var (f1, p1) = RunStage(layer1, f0);
        var (f2, p2) = RunStage(layer2, f1);
        var (f3, p3) = RunStage(layer3, f2);
        var pooled = functional.avg_pool2d(f3, 4).flatten(1);
        return new ModelOutput(linear.call(pooled), [f0, f1, f2, f3, pooled], [f0, p1, p2, p3, pooled], pooled);
    }

    private static (Tensor Output, Tensor PreAct) RunStage(ModuleList<ShuffleUnitV1> stage, Tensor x)
    {
        var preAct = x;
        foreach (var unit in stage)
            (x, preAct) = unit.ForwardWithPreAct(x);
        return (x, preAct);
    }
}

/// <summary>A ShuffleNet unit (RepDistiller's ShuffleNetv1 Bottleneck).</summary>
internal sealed class ShuffleUnitV1 : Module<Tensor, Tensor>, IConvBatchNormOwner
{
    private readonly ConvBatchNorm first;
    private readonly ConvBatchNorm second;
    private readonly ConvBatchNorm third;
    private readonly int firstGroups;
    private readonly int stride;

    public ShuffleUnitV1(int inChannels, int outChannels, int stride, int groups) : base(nameof(ShuffleUnitV1))
    {
        var mid = outChannels / 4;
        firstGroups = inChannels == 24 ? 1 : groups;
        this.stride = stride;
        var conv1 = Conv2d(inChannels, mid, 1, groups: firstGroups, bias: false);
        var bn1 = BatchNorm2d(mid);
        var conv2 = Conv2d(mid, mid, 3, stride: stride, padding: 1, groups: mid, bias: false);
        var bn2 = BatchNorm2d(mid);
        var conv3 = Conv2d(mid, outChannels, 1, groups: groups, bias: false);
        var bn3 = BatchNorm2d(outChannels);
        first = new ConvBatchNorm(this, nameof(conv1), conv1, nameof(bn1), bn1);
        second = new ConvBatchNorm(this, nameof(conv2), conv2, nameof(bn2), bn2);
        third = new ConvBatchNorm(this, nameof(conv3), conv3, nameof(bn3), bn3);
    }

    /// <summary>The unit's three pairs.</summary>
    public IEnumerable<ConvBatchNorm> ConvBatchNorms => [first, second, third];

    /// <summary>Runs the unit; returns the output and the value before the final ReLU.</summary>
    public (Tensor Output, Tensor PreAct) ForwardWithPreAct(Tensor x)
    {
        var y = functional.relu(first.Forward(x));
        y = ChannelShuffle.Apply(y, firstGroups);
        y = functional.relu(second.Forward(y));
        y = third.Forward(y);
        var preAct = stride == 2
            ? torch.cat([y, functional.avg_pool2d(x, 3, stride: 2, padding: 1)], 1)
            : y + x;
        return (functional.relu(preAct), preAct);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => ForwardWithPreAct(x).Output;
}

/// <summary>The channel shuffle of ShuffleNet: (N, g*c, H, W) viewed as (N, g, c, H, W), g and c swapped.</summary>
internal static class ChannelShuffle
{
    public static Tensor Apply(Tensor x, long groups)
    {
        if (groups == 1) return x;
        var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        return x.view(n, groups, c / groups, h, w).transpose(1, 2).reshape(n, c, h, w);
    }
}
