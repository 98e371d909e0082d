using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DistillSharp.Models;

/// <summary>
/// The CIFAR ResNets of RepDistiller's resnet.py: resnet8 ... resnet110 (widths 16/16/32/64) and resnet8x4,
/// resnet32x4 (widths 32/64/128/256), depth 6n+2 with n basic blocks per stage.
/// </summary>
/// <remarks>
/// Layout: 3x3 stem convolution (stride 1, no bias), batch norm, ReLU; three stages of basic blocks with
/// strides 1, 2, 2 (projection shortcut <c>downsample</c> = 1x1 convolution + batch norm where the shape
/// changes); 8x8 average pooling; linear <c>fc</c>. Init: Kaiming-normal (fan-out, ReLU) convolutions, batch
/// norms 1/0, default linear. Features: <c>[stem (after ReLU), layer1, layer2, layer3, pooled]</c>;
/// pre-activation features replace the three stage outputs with their last block's sum before the ReLU.
/// Built for 32x32 inputs. <see cref="ZooModel.FoldBatchNorms"/> folds every batch norm (the stem's, both of each block
/// and each projection's).
/// </remarks>
public sealed class CifarResNet : ZooModel, IConvBatchNormOwner
{
    private readonly ConvBatchNorm stem;
    private readonly ModuleList<ResidualBlock> layer1;
    private readonly ModuleList<ResidualBlock> layer2;
    private readonly ModuleList<ResidualBlock> layer3;
    private readonly Linear fc;

    internal CifarResNet(string name, int depth, int[] widths, int numClasses, int inChannels)
        : base(name, numClasses, inChannels, [widths[0], widths[1], widths[2], widths[3], widths[3]])
    {
        Depth = depth;
        Widths = widths;
        var blocks = (depth - 2) / 6;
        var conv1 = Conv2d(inChannels, widths[0], 3, padding: 1, bias: false);
        var bn1 = BatchNorm2d(widths[0]);
        long channels = widths[0];
        layer1 = ResidualStage.Make(ResidualStage.Kind.Basic, ref channels, widths[1], blocks, 1, "downsample");
        layer2 = ResidualStage.Make(ResidualStage.Kind.Basic, ref channels, widths[2], blocks, 2, "downsample");
        layer3 = ResidualStage.Make(ResidualStage.Kind.Basic, ref channels, widths[3], blocks, 2, "downsample");
        fc = Linear(channels, numClasses);

        stem = new ConvBatchNorm(this, nameof(conv1), conv1, nameof(bn1), bn1);
        register_module(nameof(layer1), layer1);
        register_module(nameof(layer2), layer2);
        register_module(nameof(layer3), layer3);
        register_module(nameof(fc), fc);
        WeightInit.KaimingFanOut(this);
    }

    /// <summary>The depth 6n+2 (n basic blocks per stage).</summary>
    internal int Depth { get; }

    /// <summary>The widths of the stem and the three stages.</summary>
    internal IReadOnlyList<int> Widths { get; }

    /// <inheritdoc/>
    public override Linear Classifier => fc;

    IEnumerable<ConvBatchNorm> IConvBatchNormOwner.ConvBatchNorms => [stem];

    /// <summary>The last block's second batch norm of each stage (RepDistiller's get_bn_before_relu).</summary>
    public override IReadOnlyList<BatchNorm2d> BatchNormsBeforeRelu() =>
        [ResidualStage.LastBatchNorm(layer1), ResidualStage.LastBatchNorm(layer2), ResidualStage.LastBatchNorm(layer3)];

    /// <inheritdoc/>
    public override ModelOutput forward(Tensor x)
    {
        x = ChannelsLast(x);
        Tensor f0;
        using (var scope = NewDisposeScope()) f0 = scope.MoveToOuter(stem.Forward(x).relu_());
        var (f1, p1) = ResidualStage.Run(layer1, f0);
        var (f2, p2) = ResidualStage.Run(layer2, f1);
        var (f3, p3) = ResidualStage.Run(layer3, f2);
        var pooled = functional.avg_pool2d(f3, 8).flatten(1);
        return new ModelOutput(fc.call(pooled), [f0, f1, f2, f3, pooled], [f0, p1, p2, p3, pooled], pooled);
    }

    /// <inheritdoc/>
    public override (Tensor Logits, Tensor Pooled) LogitsAndPooled(Tensor x)
    {
        using var scope = NewDisposeScope();
        var f = ResidualStage.RunReleasing(stem.Forward(ChannelsLast(x)).relu_(), layer1, layer2, layer3);
        var pooled = functional.avg_pool2d(f, 8).flatten(1);
        f.Dispose();
        return (scope.MoveToOuter(fc.call(pooled)), scope.MoveToOuter(pooled));
    }
}
