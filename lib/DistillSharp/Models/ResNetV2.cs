using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DistillSharp.Models;

/// <summary>
/// The CIFAR variants of ResNet18, ResNet34 (basic blocks) and ResNet50 (bottlenecks) from RepDistiller's
/// resnetv2.py: a 3x3 stem without max pool, four stages of 64/128/256/512 planes.
/// </summary>
/// <remarks>
/// Layout: 3x3 stem convolution (stride 1, no bias), batch norm, ReLU; stages with strides 1, 2, 2, 2
/// (projection shortcut named <c>shortcut</c>); global average pooling; linear <c>linear</c>. Init:
/// Kaiming-normal (fan-out, ReLU) convolutions, batch norms 1/0, default linear (zero_init_residual off).
/// Features: <c>[stem (after ReLU), layer1, layer2, layer3, layer4, pooled]</c>; pre-activation features
/// replace the four stage outputs with their last block's sum before the ReLU. <see cref="ZooModel.FoldBatchNorms"/>
/// folds every batch norm (the stem's, each block's and each projection's).
/// </remarks>
public sealed class ResNetV2 : ZooModel, IConvBatchNormOwner
{
    private readonly ConvBatchNorm stem;
    private readonly ModuleList<ResidualBlock> layer1;
    private readonly ModuleList<ResidualBlock> layer2;
    private readonly ModuleList<ResidualBlock> layer3;
    private readonly ModuleList<ResidualBlock> layer4;
    private readonly Linear linear;

    internal ResNetV2(string name, ResidualStage.Kind kind, int[] blocks, int numClasses, int inChannels)
        : base(name, numClasses, inChannels, StageChannels(kind))
    {
        var conv1 = Conv2d(inChannels, 64, 3, stride: 1, padding: 1, bias: false);
        var bn1 = BatchNorm2d(64);
        long channels = 64;
        layer1 = ResidualStage.Make(kind, ref channels, 64, blocks[0], 1, "shortcut");
        layer2 = ResidualStage.Make(kind, ref channels, 128, blocks[1], 2, "shortcut");
        layer3 = ResidualStage.Make(kind, ref channels, 256, blocks[2], 2, "shortcut");
        layer4 = ResidualStage.Make(kind, ref channels, 512, blocks[3], 2, "shortcut");
        linear = Linear(channels, numClasses);

        stem = new ConvBatchNorm(this, nameof(conv1), conv1, nameof(bn1), bn1);
        register_module(nameof(layer1), layer1);
        register_module(nameof(layer2), layer2);
        register_module(nameof(layer3), layer3);
        register_module(nameof(layer4), layer4);
        register_module(nameof(linear), linear);
        WeightInit.KaimingFanOut(this);
    }

    internal static int[] StageChannels(ResidualStage.Kind kind)
    {
        var e = ResidualStage.Expansion(kind);
        return [64, 64 * e, 128 * e, 256 * e, 512 * e, 512 * e];
    }

    /// <inheritdoc/>
    public override Linear Classifier => linear;

    IEnumerable<ConvBatchNorm> IConvBatchNormOwner.ConvBatchNorms => [stem];

    /// <summary>The last batch norm of each stage's last block (RepDistiller's get_bn_before_relu).</summary>
    public override IReadOnlyList<BatchNorm2d> BatchNormsBeforeRelu() =>
    [
        ResidualStage.LastBatchNorm(layer1), ResidualStage.LastBatchNorm(layer2),
        ResidualStage.LastBatchNorm(layer3), ResidualStage.LastBatchNorm(layer4),
    ];

    /// <inheritdoc/>
    public override ModelOutput forward(Tensor x)
    {
        var f0 = functional.relu(stem.Forward(x));
        var (f1, p1) = ResidualStage.Run(layer1, f0);
        var (f2, p2) = ResidualStage.Run(layer2, f1);
        var (f3, p3) = ResidualStage.Run(layer3, f2);
        var (f4, p4) = ResidualStage.Run(layer4, f3);
        var pooled = functional.adaptive_avg_pool2d(f4, 1).flatten(1);
        return new ModelOutput(linear.call(pooled), [f0, f1, f2, f3, f4, pooled], [f0, p1, p2, p3, p4, pooled], pooled);
    }

    /// <inheritdoc/>
    public override (Tensor Logits, Tensor Pooled) LogitsAndPooled(Tensor x)
    {
        using var scope = NewDisposeScope();
        var f = ResidualStage.RunReleasing(stem.Forward(x).relu_(), layer1, layer2, layer3, layer4);
        var pooled = functional.adaptive_avg_pool2d(f, 1).flatten(1);
        f.Dispose();
        return (scope.MoveToOuter(linear.call(pooled)), scope.MoveToOuter(pooled));
    }
}
