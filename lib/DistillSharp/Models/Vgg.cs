using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DistillSharp.Models;

/// <summary>
/// The CIFAR VGGs of RepDistiller's vgg.py with batch norm (its registry maps vgg8 to vgg8_bn and so on):
/// vgg8, vgg11, vgg13, vgg16, vgg19, without the fully connected head (one linear <c>classifier</c>).
/// </summary>
/// <remarks>
/// <para>Five blocks <c>block0..4</c>, each a sequence of (3x3 convolution with bias, batch norm, ReLU)
/// whose final ReLU is dropped, so every block ends on its batch norm. Between blocks: ReLU, then 2x2 max
/// pooling after blocks 0, 1, 2 (and after block 3 only for 64x64 inputs, as the reference does); global
/// average pooling; linear <c>classifier</c> (512 inputs). Init: convolutions normal with std
/// sqrt(2/(9*out)) and zero bias, batch norms 1/0, classifier normal(0, 0.01) with zero bias.</para>
/// <para>Features: <c>[relu(block0), relu(block1), relu(block2), relu(block3), relu(block4), pooled]</c>;
/// PreActFeatures keep the first and last entries and take blocks 1-4 before their ReLU.</para>
/// <para><see cref="ZooModel.FoldBatchNorms"/> folds every batch norm into the convolution before it (whose own bias
/// joins the folded one).</para>
/// </remarks>
public sealed class Vgg : ZooModel
{
    private static readonly Dictionary<string, int[][]> Configs = new()
    {
        ["vgg8"] = [[64], [128], [256], [512], [512]],
        ["vgg11"] = [[64], [128], [256, 256], [512, 512], [512, 512]],
        ["vgg13"] = [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
        ["vgg16"] = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
        ["vgg19"] = [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
    };

    private readonly LayerSequence block0;
    private readonly LayerSequence block1;
    private readonly LayerSequence block2;
    private readonly LayerSequence block3;
    private readonly LayerSequence block4;
    private readonly Linear classifier;

    internal Vgg(string name, int numClasses, int inChannels)
        : base(name, numClasses, inChannels, [.. Configs[name].Select(widths => widths[^1]), 512])
    {
        var config = Configs[name];
        long channels = inChannels;
        var blocks = new LayerSequence[config.Length];
        for (var b = 0; b < config.Length; b++)
            blocks[b] = MakeBlock(config[b], ref channels);
        (block0, block1, block2, block3, block4) = (blocks[0], blocks[1], blocks[2], blocks[3], blocks[4]);
        classifier = Linear(512, numClasses);

        register_module(nameof(block0), block0);
        register_module(nameof(block1), block1);
        register_module(nameof(block2), block2);
        register_module(nameof(block3), block3);
        register_module(nameof(block4), block4);
        register_module(nameof(classifier), classifier);
        WeightInit.FanOutNormal(this, linearStd: 0.01);
    }

    /// <summary>The registry names of the VGG family.</summary>
    internal static IEnumerable<string> Names => Configs.Keys;

    private static LayerSequence MakeBlock(int[] widths, ref long channels)
    {
        var layers = new List<Module<Tensor, Tensor>>();
        foreach (var width in widths)
        {
            layers.Add(Conv2d(channels, width, 3, padding: 1));
            layers.Add(BatchNorm2d(width));
            layers.Add(ReLU());
            channels = width;
        }
        layers.RemoveAt(layers.Count - 1);
        return new LayerSequence([.. layers]);
    }

    /// <inheritdoc/>
    public override Linear Classifier => classifier;

    /// <summary>The last module (a batch norm) of blocks 1 to 4 (RepDistiller's get_bn_before_relu).</summary>
    public override IReadOnlyList<BatchNorm2d> BatchNormsBeforeRelu() =>
        [block1.LastNorm, block2.LastNorm, block3.LastNorm, block4.LastNorm];

    /// <inheritdoc/>
    public override ModelOutput forward(Tensor x)
    {
        var height = x.shape[2];
        x = ChannelsLast(x);
        var f0 = functional.relu(block0.call(x));
        var p1 = block1.call(functional.max_pool2d(f0, 2, stride: 2));
        var f1 = functional.relu(p1);
        var p2 = block2.call(functional.max_pool2d(f1, 2, stride: 2));
        var f2 = functional.relu(p2);
        var p3 = block3.call(functional.max_pool2d(f2, 2, stride: 2));
        var f3 = functional.relu(p3);
        var p4 = block4.call(height == 64 ? functional.max_pool2d(f3, 2, stride: 2) : f3);
        var f4 = functional.relu(p4);
        var pooled = functional.adaptive_avg_pool2d(f4, 1).flatten(1);
        return new ModelOutput(classifier.call(pooled), [f0, f1, f2, f3, f4, pooled], [f0, p1, p2, p3, p4, pooled], pooled);
    }
}
