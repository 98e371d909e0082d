using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DistillSharp.Models;

/// <summary>
/// ResNet-18/34/50/152 in torchvision's ImageNet layout (resnet18_imagenet, resnet34_imagenet,
/// resnet50_imagenet, resnet152_imagenet: LONDON's ImageNet teacher): 7x7 stride-2 stem, 3x3 stride-2 max pool, four stages, global average pooling,
/// linear <c>fc</c>. Parameter names equal torchvision's, so its weights load by name.
/// </summary>
/// <remarks>
/// <para>Bottlenecks put the stride on the 3x3 convolution (torchvision's "v1.5"). Init: Kaiming-normal
/// (fan-out, ReLU) convolutions, batch norms 1/0, default linear (zero_init_residual off).</para>
/// <para>RepDistiller has no ImageNet feature convention, so the lists follow mdistiller's ImageNet ResNet:
/// Features are <c>[stem, layer1, layer2, layer3, layer4, pooled]</c> where the stem is taken after
/// conv1/bn1/ReLU and <em>before</em> the max pool (64 channels, half the input size); PreActFeatures are
/// <c>[bn1 output (before the ReLU), the last block's sum before the ReLU of each stage, pooled]</c>.</para>
/// <para>Any input size of at least 32 works (the pooling is adaptive); the reference size is 224.</para>
/// <para><see cref="ZooModel.FoldBatchNorms"/> folds every batch norm (the stem's, each block's and each
/// projection's); the stem's pre-activation feature is then the folded convolution's output.</para>
/// </remarks>
public sealed class ImageNetResNet : ZooModel, IConvBatchNormOwner
{
    private readonly ConvBatchNorm stem;
    private readonly ModuleList<ResidualBlock> layer1;
    private readonly ModuleList<ResidualBlock> layer2;
    private readonly ModuleList<ResidualBlock> layer3;
    private readonly ModuleList<ResidualBlock> layer4;
    private readonly Linear fc;

    internal ImageNetResNet(string name, ResidualStage.Kind kind, int[] blocks, int numClasses, int inChannels)
        : base(name, numClasses, inChannels, ResNetV2.StageChannels(kind))
    {
        var conv1 = Conv2d(inChannels, 64, 7, stride: 2, padding: 3, bias: false);
        var bn1 = BatchNorm2d(64);
        long channels = 64;
        layer1 = ResidualStage.Make(kind, ref channels, 64, blocks[0], 1, "downsample");
        layer2 = ResidualStage.Make(kind, ref channels, 128, blocks[1], 2, "downsample");
        layer3 = ResidualStage.Make(kind, ref channels, 256, blocks[2], 2, "downsample");
        layer4 = ResidualStage.Make(kind, ref channels, 512, blocks[3], 2, "downsample");
        fc = Linear(channels, numClasses);

        stem = new ConvBatchNorm(this, nameof(conv1), conv1, nameof(bn1), bn1);
        register_module(nameof(layer1), layer1);
        register_module(nameof(layer2), layer2);
        register_module(nameof(layer3), layer3);
        register_module(nameof(layer4), layer4);
        register_module(nameof(fc), fc);
        WeightInit.KaimingFanOut(this);
    }

    /// <inheritdoc/>
    public override int ImageSize => 224;

    /// <inheritdoc/>
    public override Linear Classifier => fc;

    IEnumerable<ConvBatchNorm> IConvBatchNormOwner.ConvBatchNorms => [stem];

    /// <summary>
    /// The last batch norm of each stage's last block, one per stage (the analogue of resnetv2.py's
    /// get_bn_before_relu; mdistiller leaves out the first stage, this list keeps all four).
    /// </summary>
    public override IReadOnlyList<BatchNorm2d> BatchNormsBeforeRelu() =>
    [
        ResidualStage.LastBatchNorm(layer1), ResidualStage.LastBatchNorm(layer2),
        ResidualStage.LastBatchNorm(layer3), ResidualStage.LastBatchNorm(layer4),
    ];

    /// <inheritdoc/>
    public override ModelOutput forward(Tensor x)
    {
        var stemPre = stem.Forward(x);
        var stemOut = functional.relu(stemPre);
        var y = functional.max_pool2d(stemOut, 3, stride: 2, padding: 1);
        var (f1, p1) = ResidualStage.Run(layer1, y);
        var (f2, p2) = ResidualStage.Run(layer2, f1);
        var (f3, p3) = ResidualStage.Run(layer3, f2);
        var (f4, p4) = ResidualStage.Run(layer4, f3);
        var pooled = functional.adaptive_avg_pool2d(f4, 1).flatten(1);
        return new ModelOutput(fc.call(pooled), [stemOut, f1, f2, f3, f4, pooled], [stemPre, p1, p2, p3, p4, pooled], pooled);
    }

    /// <inheritdoc/>
    public override (Tensor Logits, Tensor Pooled) LogitsAndPooled(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor f;
        using (var stemOut = stem.Forward(x).relu_()) f = functional.max_pool2d(stemOut, 3, stride: 2, padding: 1);
        f = ResidualStage.RunReleasing(f, layer1, layer2, layer3, layer4);
        var pooled = functional.adaptive_avg_pool2d(f, 1).flatten(1);
        f.Dispose();
        return (scope.MoveToOuter(fc.call(pooled)), scope.MoveToOuter(pooled));
    }
}
