using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DistillSharp.Models;

/// <summary>
/// RepDistiller's CIFAR MobileNetV2 at width 0.5 and expansion 6 (its <c>mobile_half</c>), registered as
/// <c>MobileNetV2</c>.
/// </summary>
/// <remarks>
/// <para>Layout: <c>conv1</c> = 3x3 stride-2 convolution to 16 channels, batch norm, ReLU; seven groups
/// <c>blocks.0..6</c> of inverted residuals (expansion, output channels, count, stride): (1, 8, 1, 1),
/// (6, 12, 2, 1), (6, 16, 3, 2), (6, 32, 4, 2), (6, 48, 3, 1), (6, 80, 3, 2), (6, 160, 1, 1); each inverted
/// residual is <c>conv</c> = 1x1 expansion, BN, ReLU, 3x3 depthwise (carrying the stride), BN, ReLU, 1x1
/// projection, BN, with the identity added when stride is 1 and the widths agree (the expansion-1 group
/// keeps its 1x1 expansion, unlike torchvision). Then <c>conv2</c> = 1x1 convolution to 1280, BN, ReLU;
/// 2x2 average pooling (ceil mode, the reference's window for 32x32 inputs); <c>classifier.0</c> linear.
/// Init: convolutions normal with std sqrt(2/(k*k*out)), batch norms 1/0, linear normal(0, 0.01) with zero
/// bias.</para>
/// <para>Features: <c>[conv1, blocks.1, blocks.2, blocks.4, blocks.6, pooled]</c> outputs. The reference has
/// no pre-activation list for this model, so PreActFeatures holds the same tensors as Features.</para>
/// <para><see cref="ZooModel.FoldBatchNorms"/> folds every batch norm (each follows a convolution: those of
/// <c>conv1</c>, <c>conv2</c> and the three of each inverted residual).</para>
/// </remarks>
public sealed class MobileNetV2 : ZooModel
{
    private const int Expansion = 6;
    private const double Width = 0.5;

    private static readonly (int Expansion, int Channels, int Count, int Stride)[] Settings =
    [
        (1, 16, 1, 1), (Expansion, 24, 2, 1), (Expansion, 32, 3, 2), (Expansion, 64, 4, 2),
        (Expansion, 96, 3, 1), (Expansion, 160, 3, 2), (Expansion, 320, 1, 1),
    ];

    private readonly LayerSequence conv1;
    private readonly ModuleList<Sequential> blocks;
    private readonly LayerSequence conv2;
    private readonly Sequential classifier;

    internal MobileNetV2(string name, int numClasses, int inChannels)
        : base(name, numClasses, inChannels, FeatureWidths())
    {
        var channels = (int)(32 * Width);
        conv1 = new LayerSequence(
            Conv2d(inChannels, channels, 3, stride: 2, padding: 1, bias: false), BatchNorm2d(channels), ReLU());
        var groups = new Sequential[Settings.Length];
        for (var g = 0; g < Settings.Length; g++)
        {
            var (t, c, n, s) = Settings[g];
            var output = (int)(c * Width);
            var residuals = new InvertedResidual[n];
            for (var i = 0; i < n; i++)
            {
                residuals[i] = new InvertedResidual(channels, output, i == 0 ? s : 1, t);
                channels = output;
            }
            groups[g] = Sequential(residuals);
        }
        blocks = new ModuleList<Sequential>(groups);
        var last = LastChannels;
        conv2 = new LayerSequence(Conv2d(channels, last, 1, stride: 1, bias: false), BatchNorm2d(last), ReLU());
        classifier = Sequential(Linear(last, numClasses));

        register_module(nameof(conv1), conv1);
        register_module(nameof(blocks), blocks);
        register_module(nameof(conv2), conv2);
        register_module(nameof(classifier), classifier);
        WeightInit.FanOutNormal(this, linearStd: 0.01);
    }

    // int(1280 * width) only for widths above 1, as in the reference.
    private static int LastChannels => Width > 1.0 ? (int)(1280 * Width) : 1280;

    private static int[] FeatureWidths() =>
    [
        (int)(32 * Width), (int)(Settings[1].Channels * Width), (int)(Settings[2].Channels * Width),
        (int)(Settings[4].Channels * Width), (int)(Settings[6].Channels * Width), LastChannels,
    ];

    /// <summary>The linear layer inside <c>classifier</c> (key <c>classifier.0</c>).</summary>
    public override Linear Classifier => (Linear)classifier[0];

    /// <summary>
    /// The final batch norm (<c>conv.7</c>) of the last inverted residual of groups 1, 2, 4 and 6
    /// (RepDistiller's get_bn_before_relu).
    /// </summary>
    public override IReadOnlyList<BatchNorm2d> BatchNormsBeforeRelu() =>
        [LastNorm(1), LastNorm(2), LastNorm(4), LastNorm(6)];

    private BatchNorm2d LastNorm(int group) => ((InvertedResidual)blocks[group][^1]).LastBatchNorm;

    /// <inheritdoc/>
    public override ModelOutput forward(Tensor x)
    {
        var f0 = conv1.call(x);
        var f1 = blocks[1].call(blocks[0].call(f0));
        var f2 = blocks[2].call(f1);
        var f3 = blocks[4].call(blocks[3].call(f2));
        var f4 = blocks[6].call(blocks[5].call(f3));
        var pooled = functional.avg_pool2d(conv2.call(f4), 2, ceil_mode: true).flatten(1);
        Tensor[] features = [f0, f1, f2, f3, f4, pooled];
        return new ModelOutput(classifier.call(pooled), features, features, pooled);
    }
}

/// <summary>An inverted residual: <c>conv</c> = expand 1x1, depthwise 3x3, project 1x1 (each with BN).</summary>
internal sealed class InvertedResidual : Module<Tensor, Tensor>
{
    private readonly LayerSequence conv;
    private readonly bool residual;

    public InvertedResidual(int inChannels, int outChannels, int stride, int expansion) : base(nameof(InvertedResidual))
    {
        var hidden = inChannels * expansion;
        residual = stride == 1 && inChannels == outChannels;
        conv = new LayerSequence(
            Conv2d(inChannels, hidden, 1, stride: 1, bias: false),
            BatchNorm2d(hidden),
            ReLU(),
            Conv2d(hidden, hidden, 3, stride: stride, padding: 1, groups: hidden, bias: false),
            BatchNorm2d(hidden),
            ReLU(),
            Conv2d(hidden, outChannels, 1, stride: 1, bias: false),
            BatchNorm2d(outChannels));
        register_module(nameof(conv), conv);
    }

    /// <summary>The batch norm that ends <c>conv</c> (index 7).</summary>
    public BatchNorm2d LastBatchNorm => conv.LastNorm;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => residual ? x + conv.call(x) : conv.call(x);
}
