using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DistillSharp.Models;

/// <summary>
/// The pre-activation wide ResNets of RepDistiller's wrn.py: wrn_16_1, wrn_16_2, wrn_40_1, wrn_40_2, and wrn_16_4,
/// wrn_28_4 of LONDON's official CIFAR-100 code (depth 6n+4, widths 16, 16k, 32k, 64k).
/// </summary>
/// <remarks>
/// <para>Layout: 3x3 stem convolution; three groups <c>block1..3</c> (each holding its blocks in
/// <c>layer</c>) with strides 1, 2, 2; final batch norm <c>bn1</c> and ReLU; 8x8 average pooling; linear
/// <c>fc</c>. A block is BN-ReLU-conv3x3-BN-ReLU-conv3x3; where the width changes, the shortcut is a 1x1
/// convolution <c>convShortcut</c> of the activated input, otherwise the raw input. Dropout is 0, as
/// RepDistiller uses it. Init: convolutions normal with std sqrt(2/(9*out)), batch norms 1/0, linear bias 0
/// (default weight).</para>
/// <para>LONDON's <c>CIFAR-100/models/WideResNet.py</c> (42Shawn/LONDON at bac21e8, unchanged at 971f332), whose
/// WideResNet(depth=28, widen_factor=4) and (16, 4) are the teacher and students of its settings a–e, is the same
/// definition: the same attribute names and order (its ReLU modules hold no state), the same block
/// (<c>equalInOut</c> decides between the raw input and <c>convShortcut</c> of the activated input), dropRate 0 in
/// every setting, the same final BN-ReLU, pooling and init, the same <c>get_bn_before_relu</c> and
/// <c>extract_feature(preReLU=True)</c> list, so its checkpoints (saved under <c>model</c>) import directly and
/// give the same logits (tests/reference/london_models_reference.py checks it).</para>
/// <para>Features: <c>[stem conv output, block1, block2, block3, pooled]</c>. PreActFeatures follow
/// wrn.py's <c>preact=True</c>: block1 and block2 outputs pass through the first batch norm of the next
/// group, and block3's through the final <c>bn1</c>. wrn.py computes these by calling the batch norms a
/// second time; here they are the values the forward pass already computed, which are equal, except that in
/// training mode RepDistiller updates those batch norms' running statistics twice per step and this model
/// once.</para>
/// <para><see cref="ZooModel.FoldBatchNorms"/> folds each block's <c>bn2</c> into the block's <c>conv1</c>, the only
/// batch norms here that follow a convolution alone: each block's input batch norm <c>bn1</c> follows a residual sum
/// (or, in the first block, the stem convolution, whose output is also the first feature and the identity shortcut),
/// and the final <c>bn1</c> follows the last sum, so those stay (depth 6n+4: 3n folded, 3n + 1 kept).</para>
/// </remarks>
public sealed class WideResNet : ZooModel
{
    private readonly Conv2d conv1;
    private readonly WideGroup block1;
    private readonly WideGroup block2;
    private readonly WideGroup block3;
    private readonly BatchNorm2d bn1;
    private readonly Linear fc;

    internal WideResNet(string name, int depth, int widen, int numClasses, int inChannels)
        : base(name, numClasses, inChannels, [16, 16 * widen, 32 * widen, 64 * widen, 64 * widen])
    {
        Depth = depth;
        Widen = widen;
        var n = (depth - 4) / 6;
        conv1 = Conv2d(inChannels, 16, 3, stride: 1, padding: 1, bias: false);
        block1 = new WideGroup(n, 16, 16 * widen, 1);
        block2 = new WideGroup(n, 16 * widen, 32 * widen, 2);
        block3 = new WideGroup(n, 32 * widen, 64 * widen, 2);
        bn1 = BatchNorm2d(64 * widen);
        fc = Linear(64 * widen, numClasses);

        register_module(nameof(conv1), conv1);
        register_module(nameof(block1), block1);
        register_module(nameof(block2), block2);
        register_module(nameof(block3), block3);
        register_module(nameof(bn1), bn1);
        register_module(nameof(fc), fc);
        WeightInit.FanOutNormal(this, linearStd: null);
    }

    /// <summary>The depth 6n+4 (n blocks per group).</summary>
    internal int Depth { get; }

    /// <summary>The widening factor k (widths 16, 16k, 32k, 64k).</summary>
    internal int Widen { get; }

    /// <inheritdoc/>
    public override Linear Classifier => fc;

    /// <summary>
    /// <c>[block2.layer.0.bn1, block3.layer.0.bn1, bn1]</c>: the batch norms that produce the
    /// pre-activation features (RepDistiller's get_bn_before_relu).
    /// </summary>
    public override IReadOnlyList<BatchNorm2d> BatchNormsBeforeRelu() =>
        [block2.FirstBatchNorm, block3.FirstBatchNorm, bn1];

    /// <inheritdoc/>
    public override ModelOutput forward(Tensor x)
    {
        x = ChannelsLast(x);
        var f0 = conv1.call(x);
        var (f1, _) = block1.ForwardWithFirstNorm(f0);
        var (f2, p1) = block2.ForwardWithFirstNorm(f1);
        var (f3, p2) = block3.ForwardWithFirstNorm(f2);
        var p3 = bn1.call(f3);
        var pooled = functional.avg_pool2d(functional.relu(p3), 8).flatten(1);
        return new ModelOutput(fc.call(pooled), [f0, f1, f2, f3, pooled], [f0, p1, p2, p3, pooled], pooled);
    }
}

/// <summary>wrn.py's NetworkBlock: the blocks of one width, held in <c>layer</c>.</summary>
internal sealed class WideGroup : Module<Tensor, Tensor>
{
    private readonly ModuleList<WideBlock> layer;

    public WideGroup(int count, int inChannels, int outChannels, int stride) : base(nameof(WideGroup))
    {
        var blocks = new WideBlock[count];
        for (var i = 0; i < count; i++)
            blocks[i] = new WideBlock(i == 0 ? inChannels : outChannels, outChannels, i == 0 ? stride : 1);
        layer = new ModuleList<WideBlock>(blocks);
        register_module(nameof(layer), layer);
    }

    /// <summary>The first block's input batch norm.</summary>
    public BatchNorm2d FirstBatchNorm => layer[0].InputNorm;

    /// <summary>Runs the group; also returns the first block's input batch-norm output (its pre-activation).</summary>
    public (Tensor Output, Tensor FirstNorm) ForwardWithFirstNorm(Tensor x)
    {
        var (y, firstNorm) = layer[0].ForwardWithInputNorm(x);
        for (var i = 1; i < layer.Count; i++)
        {
            var (next, norm) = layer[i].ForwardWithInputNorm(y);
            norm.Dispose();
            y.Dispose();
            y = next;
        }
        return (y, firstNorm);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => ForwardWithFirstNorm(x).Output;
}

/// <summary>wrn.py's BasicBlock (pre-activation, optional 1x1 projection <c>convShortcut</c>).</summary>
internal sealed class WideBlock : Module<Tensor, Tensor>, IConvBatchNormOwner
{
    private readonly BatchNorm2d bn1;
    private readonly ConvBatchNorm inner;
    private readonly Conv2d conv2;
    private readonly Conv2d? convShortcut;

    public WideBlock(int inChannels, int outChannels, int stride) : base(nameof(WideBlock))
    {
        bn1 = BatchNorm2d(inChannels);
        var conv1 = Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false);
        var bn2 = BatchNorm2d(outChannels);
        conv2 = Conv2d(outChannels, outChannels, 3, stride: 1, padding: 1, bias: false);
        register_module(nameof(bn1), bn1);
        inner = new ConvBatchNorm(this, nameof(conv1), conv1, nameof(bn2), bn2);
        register_module(nameof(conv2), conv2);
        if (inChannels != outChannels)
        {
            convShortcut = Conv2d(inChannels, outChannels, 1, stride: stride, bias: false);
            register_module(nameof(convShortcut), convShortcut);
        }
    }

    /// <summary>The batch norm applied to the block's input.</summary>
    public BatchNorm2d InputNorm => bn1;

    /// <summary>conv1 → bn2, the block's one pair that folds.</summary>
    public IEnumerable<ConvBatchNorm> ConvBatchNorms => [inner];

    /// <summary>Runs the block; also returns bn1(x), the input's pre-activation.</summary>
    public (Tensor Output, Tensor InputNorm) ForwardWithInputNorm(Tensor x)
    {
        var normed = bn1.call(x);
        using var activated = functional.relu(normed);
        using var y = Residual(activated);
        using var projected = convShortcut?.call(activated);
        return ((projected ?? x) + y, normed);
    }

    /// <summary>conv2(relu(bn2(conv1(a)))), each intermediate disposed once the next layer has read it.</summary>
    private Tensor Residual(Tensor activated)
    {
        using var normalized = inner.Forward(activated);
        using var rectified = functional.relu(normalized);
        return conv2.call(rectified);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        var (output, norm) = ForwardWithInputNorm(x);
        norm.Dispose();
        return output;
    }
}
