using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DistillSharp.Models;

/// <summary>
/// RepDistiller's CIFAR ShuffleNetV2 (ShuffleNetv2.py at net_size 1, registered as <c>ShuffleV2</c>):
/// stage widths 116/232/464 with 3/7/3 basic units, 1024-channel head.
/// </summary>
/// <remarks>
/// <para>Layout: <c>conv1</c> = 1x1 convolution to 24 channels (no bias), <c>bn1</c>, ReLU (no max pool);
/// each stage <c>layerK</c> starts with a down-sampling unit (<c>layerK.0</c>: left branch 3x3 stride-2
/// depthwise + BN, 1x1 + BN + ReLU; right branch 1x1 + BN + ReLU, 3x3 stride-2 depthwise + BN, 1x1 + BN +
/// ReLU; concatenated and shuffled), followed by basic units (split the channels in halves, transform the
/// second half with 1x1 + BN + ReLU, 3x3 depthwise + BN, 1x1 + BN + ReLU, concatenate, shuffle with 2
/// groups); then <c>conv2</c> 1x1 to 1024, <c>bn2</c>, ReLU; 4x4 average pooling; linear <c>linear</c>. The
/// reference sets no init, so PyTorch's (and TorchSharp's) defaults apply.</para>
/// <para>Features: <c>[stem, layer1, layer2, layer3, pooled]</c>. PreActFeatures take each stage's last
/// unit before its last ReLU, as the reference does: the untouched half concatenated with the transformed
/// half before its ReLU, <em>not</em> channel-shuffled (so its channel order differs from the feature's).</para>
/// <para><see cref="ZooModel.FoldBatchNorms"/> folds every batch norm (each follows a convolution: the stem's, the
/// head's, three per basic unit, five per down-sampling unit).</para>
/// </remarks>
public sealed class ShuffleNetV2 : ZooModel, IConvBatchNormOwner
{
    private static readonly int[] Widths = [116, 232, 464];
    private static readonly int[] Units = [3, 7, 3];
    private const int HeadChannels = 1024;

    private readonly ConvBatchNorm stem;
    private readonly ModuleList<Module<Tensor, Tensor>> layer1;
    private readonly ModuleList<Module<Tensor, Tensor>> layer2;
    private readonly ModuleList<Module<Tensor, Tensor>> layer3;
    private readonly ConvBatchNorm head;
    private readonly Linear linear;

    internal ShuffleNetV2(string name, int numClasses, int inChannels)
        : base(name, numClasses, inChannels, [24, Widths[0], Widths[1], Widths[2], HeadChannels])
    {
        var conv1 = Conv2d(inChannels, 24, 1, bias: false);
        var bn1 = BatchNorm2d(24);
        layer1 = MakeStage(24, 0);
        layer2 = MakeStage(Widths[0], 1);
        layer3 = MakeStage(Widths[1], 2);
        var conv2 = Conv2d(Widths[2], HeadChannels, 1, stride: 1, bias: false);
        var bn2 = BatchNorm2d(HeadChannels);
        linear = Linear(HeadChannels, numClasses);

        stem = new ConvBatchNorm(this, nameof(conv1), conv1, nameof(bn1), bn1);
        register_module(nameof(layer1), layer1);
        register_module(nameof(layer2), layer2);
        register_module(nameof(layer3), layer3);
        head = new ConvBatchNorm(this, nameof(conv2), conv2, nameof(bn2), bn2);
        register_module(nameof(linear), linear);
    }

    private static ModuleList<Module<Tensor, Tensor>> MakeStage(int inChannels, int stage)
    {
        var units = new Module<Tensor, Tensor>[Units[stage] + 1];
        units[0] = new DownUnitV2(inChannels, Widths[stage]);
        for (var i = 1; i < units.Length; i++)
            units[i] = new ShuffleUnitV2(Widths[stage]);
        return new ModuleList<Module<Tensor, Tensor>>(units);
    }

    /// <inheritdoc/>
    public override Linear Classifier => linear;

    IEnumerable<ConvBatchNorm> IConvBatchNormOwner.ConvBatchNorms => [stem, head];

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
        var top = functional.relu(head.Forward(f3));
        var pooled = functional.avg_pool2d(top, 4).flatten(1);
        return new ModelOutput(linear.call(pooled), [f0, f1, f2, f3, pooled], [f0, p1, p2, p3, pooled], pooled);
    }

    private static (Tensor Output, Tensor PreAct) RunStage(ModuleList<Module<Tensor, Tensor>> stage, Tensor x)
    {
        x = stage[0].call(x);
        var preAct = x;
        for (var i = 1; i < stage.Count; i++)
            (x, preAct) = ((ShuffleUnitV2)stage[i]).ForwardWithPreAct(x);
        return (x, preAct);
    }
}

/// <summary>ShuffleNetV2's basic unit (channel split in halves, the second half transformed).</summary>
internal sealed class ShuffleUnitV2 : Module<Tensor, Tensor>, IConvBatchNormOwner
{
    private readonly ConvBatchNorm first;
    private readonly ConvBatchNorm second;
    private readonly ConvBatchNorm third;
    private readonly long half;

    public ShuffleUnitV2(int channels) : base(nameof(ShuffleUnitV2))
    {
        half = (long)(channels * 0.5);
        var conv1 = Conv2d(half, half, 1, bias: false);
        var bn1 = BatchNorm2d(half);
        var conv2 = Conv2d(half, half, 3, stride: 1, padding: 1, groups: half, bias: false);
        var bn2 = BatchNorm2d(half);
        var conv3 = Conv2d(half, half, 1, bias: false);
        var bn3 = BatchNorm2d(half);
        first = new ConvBatchNorm(this, nameof(conv1), conv1, nameof(bn1), bn1);
        second = new ConvBatchNorm(this, nameof(conv2), conv2, nameof(bn2), bn2);
        third = new ConvBatchNorm(this, nameof(conv3), conv3, nameof(bn3), bn3);
    }

    /// <summary>The unit's three pairs.</summary>
    public IEnumerable<ConvBatchNorm> ConvBatchNorms => [first, second, third];

    /// <summary>Runs the unit; returns the shuffled output and the unshuffled concatenation before the last ReLU.</summary>
    public (Tensor Output, Tensor PreAct) ForwardWithPreAct(Tensor x)
    {
        var kept = x.narrow(1, 0, half);
        var worked = x.narrow(1, half, x.shape[1] - half);
        var y = functional.relu(first.Forward(worked));
        y = second.Forward(y);
        y = third.Forward(y);
        var preAct = torch.cat([kept, y], 1);
        var output = ChannelShuffle.Apply(torch.cat([kept, functional.relu(y)], 1), 2);
        return (output, preAct);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => ForwardWithPreAct(x).Output;
}

/// <summary>ShuffleNetV2's down-sampling unit (two stride-2 branches, concatenated and shuffled).</summary>
internal sealed class DownUnitV2 : Module<Tensor, Tensor>, IConvBatchNormOwner
{
    private readonly ConvBatchNorm[] pairs;

    public DownUnitV2(int inChannels, int outChannels) : base(nameof(DownUnitV2))
    {
        var mid = outChannels / 2;
        var conv1 = Conv2d(inChannels, inChannels, 3, stride: 2, padding: 1, groups: inChannels, bias: false);
        var bn1 = BatchNorm2d(inChannels);
        var conv2 = Conv2d(inChannels, mid, 1, bias: false);
        var bn2 = BatchNorm2d(mid);
        var conv3 = Conv2d(inChannels, mid, 1, bias: false);
        var bn3 = BatchNorm2d(mid);
        var conv4 = Conv2d(mid, mid, 3, stride: 2, padding: 1, groups: mid, bias: false);
        var bn4 = BatchNorm2d(mid);
        var conv5 = Conv2d(mid, mid, 1, bias: false);
        var bn5 = BatchNorm2d(mid);
        pairs =
        [
            new ConvBatchNorm(this, nameof(conv1), conv1, nameof(bn1), bn1),
            new ConvBatchNorm(this, nameof(conv2), conv2, nameof(bn2), bn2),
            new ConvBatchNorm(this, nameof(conv3), conv3, nameof(bn3), bn3),
            new ConvBatchNorm(this, nameof(conv4), conv4, nameof(bn4), bn4),
            new ConvBatchNorm(this, nameof(conv5), conv5, nameof(bn5), bn5),
        ];
    }

    /// <summary>The unit's five pairs: left branch conv1/bn1, conv2/bn2; right branch conv3/bn3, conv4/bn4, conv5/bn5.</summary>
    public IEnumerable<ConvBatchNorm> ConvBatchNorms => pairs;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        var left = pairs[0].Forward(x);
        left = functional.relu(pairs[1].Forward(left));
        var right = functional.relu(pairs[2].Forward(x));
        right = pairs[3].Forward(right);
        right = functional.relu(pairs[4].Forward(right));
        return ChannelShuffle.Apply(torch.cat([left, right], 1), 2);
    }
}
