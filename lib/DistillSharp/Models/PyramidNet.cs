using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DistillSharp.Models;

/// <summary>
/// The CIFAR PyramidNets of LONDON's official CIFAR-100 code (42Shawn/LONDON, <c>CIFAR-100/models/PyramidNet.py</c> at
/// bac21e8, unchanged at 971f332): <c>pyramidnet200_a240</c> (depth 200, α = 240, bottleneck blocks; the teacher of
/// <c>load_settings.py</c> settings e and f, lines 70 and 81) and <c>pyramidnet110_a84</c> (depth 110, α = 84, basic
/// blocks; the student of setting f, line 89).
/// </summary>
/// <remarks>
/// <para>Widths. n = (depth − 2) / 9 blocks per stage with bottlenecks, (depth − 2) / 6 without. A running width w
/// starts at 16 and grows by α / (3n) at every block (accumulated in double precision block by block, as the official
/// code does); a block has round(w) planes (to even at .5, as Python's <c>round</c>) and puts out that many channels
/// (basic) or four times as many (bottleneck). pyramidnet200_a240: 22 bottlenecks per stage, planes 20 … 96, 100 … 176,
/// 180 … 256, outputs 384, 704, 1024; pyramidnet110_a84: 18 basic blocks per stage, planes 18 … 44, 46 … 72, 74 … 100.</para>
/// <para>Layout (PyramidNet.py lines 106–172): 3x3 stem convolution <c>conv1</c> (16 channels) and batch norm
/// <c>bn1</c>, without ReLU; stages <c>layer1..3</c> with strides 1, 2, 2 (the stride in the block's first 3x3
/// convolution); final batch norm <c>bn_final</c> and ReLU; 8x8 average pooling; linear <c>fc</c>. Basic block
/// (lines 13–52): <c>bn1</c>, 3x3 <c>conv1</c>, <c>bn2</c>, ReLU, 3x3 <c>conv2</c>, <c>bn3</c>. Bottleneck
/// (lines 55–103): <c>bn1</c>, 1x1 <c>conv1</c>, <c>bn2</c>, ReLU, 3x3 <c>conv2</c>, <c>bn3</c>, ReLU, 1x1
/// <c>conv3</c> (4 × planes), <c>bn4</c>. No ReLU after the sum. Shortcut: the input itself, 2x2 average pooled at
/// stride 2 (ceil mode) in the first block of stages 2 and 3, with zero channels appended up to the block's output
/// width (every block that widens). Init (lines 135–141): convolutions normal with std sqrt(2 / (9 · out)) (1x1:
/// sqrt(2 / out)), batch norms 1/0, the linear layer PyTorch's default. The parameter and buffer names are the
/// official state_dict keys (<c>layer2.0.bn2.weight</c>, <c>bn_final.running_mean</c>, …; the pooling and ReLUs hold
/// none), so an official checkpoint, saved from <c>nn.DataParallel</c> under <c>state_dict</c>, imports directly.</para>
/// <para>Features: <c>[stem = bn1(conv1(x)), layer1, layer2, layer3, pooled]</c> (the stage outputs are the official
/// <c>extract_feature(preReLU=False)</c> list). PreActFeatures are the official <c>extract_feature(preReLU=True)</c>
/// list between the stem and the pooled vector. With bottlenecks, stage i's entry is taken inside the first block of
/// stage i + 1, at the input of its first ReLU, <c>bn2(conv1(bn1(f_i)))</c>: it has that block's planes (100 and 180
/// for pyramidnet200_a240; see <see cref="PreActFeatureChannels"/>), not the stage's output width, and the full size of
/// f_i (the block's stride is in its 3x3 convolution). With basic blocks it is <c>bn1(f_i)</c> of that block, stage i's
/// width. Stage 3's entry is <c>bn_final(f_3)</c>. The official code computes these lists by calling the batch norms
/// (and the 1x1 convolution) a second time; here they are the values the forward pass computed, which are equal,
/// except that in training mode the official code updates those batch norms' running statistics twice per step and
/// this model once.</para>
/// <para><see cref="BatchNormsBeforeRelu"/>: with bottlenecks the official <c>get_bn_before_relu</c>
/// (<c>layer2.0.bn2</c>, <c>layer3.0.bn2</c>, <c>bn_final</c>, lines 174–179), the batch norms that produce the
/// pre-activation features. With basic blocks the official list is the same three names, but <c>layer2.0.bn2</c>
/// and <c>layer3.0.bn2</c> there have the block's planes (46 and 74 for pyramidnet110_a84) while the features have its
/// input width (44 and 72), so OFD's margins could not apply to them (the official code uses the basic PyramidNet
/// only as a student); this model returns the batch norms that produce those features, <c>layer2.0.bn1</c>,
/// <c>layer3.0.bn1</c> and <c>bn_final</c>, so that it can be an OFD teacher too.</para>
/// <para>Layout in memory: NCHW (this family does not call <see cref="ZooModel.ChannelsLast"/>).</para>
/// <para>Folding (<see cref="ZooModel.FoldBatchNorms"/>): the stem's <c>bn1</c> into <c>conv1</c>, and in every block
/// each batch norm that follows a convolution (<c>bn2</c> into <c>conv1</c>, <c>bn3</c> into <c>conv2</c>, <c>bn4</c>
/// into <c>conv3</c>). Each block's <c>bn1</c> normalizes the previous sum and <c>bn_final</c> the last one, so those
/// stay: pyramidnet110_a84 folds 109 and keeps 55, pyramidnet200_a240 folds 199 and keeps 67.</para>
/// </remarks>
public sealed class PyramidNet : ZooModel, IConvBatchNormOwner
{
#pragma warning disable IDE1006 // names follow the official state_dict keys
    private readonly ModuleList<PyramidBlock> layer1;
    private readonly ModuleList<PyramidBlock> layer2;
    private readonly ModuleList<PyramidBlock> layer3;
    private readonly BatchNorm2d bn_final;
    private readonly Linear fc;
#pragma warning restore IDE1006
    private readonly ConvBatchNorm stem;
    private readonly int[] preActChannels;

    internal PyramidNet(string name, int depth, double alpha, bool bottleneck, int numClasses, int inChannels)
        : this(name, depth, alpha, bottleneck, numClasses, inChannels, Plan(depth, alpha, bottleneck))
    {
    }

    private PyramidNet(string name, int depth, double alpha, bool bottleneck, int numClasses, int inChannels, StagePlan plan)
        : base(name, numClasses, inChannels, [16, plan.Outputs[0], plan.Outputs[1], plan.Outputs[2], plan.Outputs[2]])
    {
        Depth = depth;
        Alpha = alpha;
        IsBottleneck = bottleneck;
        // conv1 and bn1 (the official names) are registered first, by the pair.
        stem = new ConvBatchNorm(this, "conv1", Conv2d(inChannels, 16, 3, stride: 1, padding: 1, bias: false), "bn1", BatchNorm2d(16));
        layer1 = Stage(plan.Blocks[0], bottleneck);
        layer2 = Stage(plan.Blocks[1], bottleneck);
        layer3 = Stage(plan.Blocks[2], bottleneck);
        bn_final = BatchNorm2d(plan.Outputs[2]);
        fc = Linear(plan.Outputs[2], numClasses);
        preActChannels = [16, layer2[0].InnerChannels, layer3[0].InnerChannels, plan.Outputs[2], plan.Outputs[2]];

        register_module(nameof(layer1), layer1);
        register_module(nameof(layer2), layer2);
        register_module(nameof(layer3), layer3);
        register_module(nameof(bn_final), bn_final);
        register_module(nameof(fc), fc);
        WeightInit.FanOutNormal(this, linearStd: null, zeroLinearBias: false);
    }

    /// <summary>The depth (9n + 2 with bottlenecks, 6n + 2 with basic blocks).</summary>
    internal int Depth { get; }

    /// <summary>α, the total widening over the 3n blocks.</summary>
    internal double Alpha { get; }

    /// <summary>Whether the blocks are bottlenecks (else basic blocks).</summary>
    internal bool IsBottleneck { get; }

    /// <summary>
    /// <c>[16, P_1, P_2, C_3, C_3]</c>: with bottlenecks P_i is the planes of stage i + 1's first block (the official
    /// <c>get_channel_num</c>), with basic blocks stage i's output width.
    /// </summary>
    public override IReadOnlyList<int> PreActFeatureChannels => preActChannels;

    /// <inheritdoc/>
    public override Linear Classifier => fc;

    IEnumerable<ConvBatchNorm> IConvBatchNormOwner.ConvBatchNorms => [stem];

    /// <summary>
    /// The batch norms that produce the pre-activation features 1–3: <c>[layer2.0.bn2, layer3.0.bn2, bn_final]</c> with
    /// bottlenecks (the official get_bn_before_relu), <c>[layer2.0.bn1, layer3.0.bn1, bn_final]</c> with basic blocks.
    /// </summary>
    public override IReadOnlyList<BatchNorm2d> BatchNormsBeforeRelu() => [layer2[0].InnerNorm, layer3[0].InnerNorm, bn_final];

    /// <inheritdoc/>
    public override ModelOutput forward(Tensor x)
    {
        var f0 = stem.Forward(x);
        var (f1, _) = RunStage(layer1, f0, keepInner: false);
        var (f2, p1) = RunStage(layer2, f1, keepInner: true);
        var (f3, p2) = RunStage(layer3, f2, keepInner: true);
        var p3 = bn_final.call(f3);
        var pooled = functional.avg_pool2d(functional.relu(p3), 8).flatten(1);
        return new ModelOutput(fc.call(pooled), [f0, f1, f2, f3, pooled], [f0, p1!, p2!, p3, pooled], pooled);
    }

    /// <inheritdoc/>
    public override (Tensor Logits, Tensor Pooled) LogitsAndPooled(Tensor x)
    {
        using var scope = NewDisposeScope();
        var f = stem.Forward(x);
        foreach (var layer in (ModuleList<PyramidBlock>[])[layer1, layer2, layer3])
        {
            var (next, _) = RunStage(layer, f, keepInner: false);
            f.Dispose();
            f = next;
        }
        using var normed = bn_final.call(f);
        f.Dispose();
        var pooled = functional.avg_pool2d(normed.relu_(), 8).flatten(1);
        return (scope.MoveToOuter(fc.call(pooled)), scope.MoveToOuter(pooled));
    }

    /// <summary>Runs a stage; with <paramref name="keepInner"/> also returns its first block's pre-activation.</summary>
    private static (Tensor Output, Tensor? Inner) RunStage(ModuleList<PyramidBlock> layer, Tensor x, bool keepInner)
    {
        var (y, inner) = layer[0].ForwardWithInner(x, keepInner);
        for (var i = 1; i < layer.Count; i++)
        {
            var (next, _) = layer[i].ForwardWithInner(y, keepInner: false);
            y.Dispose();
            y = next;
        }
        return (y, inner);
    }

    private static ModuleList<PyramidBlock> Stage(IReadOnlyList<(int In, int Planes, int Stride)> blocks, bool bottleneck) =>
        new([.. blocks.Select(b => new PyramidBlock(b.In, b.Planes, b.Stride, bottleneck))]);

    /// <summary>The blocks of each stage (input channels, planes, stride) and each stage's output width.</summary>
    private sealed record StagePlan(IReadOnlyList<(int In, int Planes, int Stride)>[] Blocks, int[] Outputs);

    /// <summary>PyramidNet.py's pyramidal_make_layer (lines 143–157) for the three stages.</summary>
    private static StagePlan Plan(int depth, double alpha, bool bottleneck)
    {
        var n = bottleneck ? (depth - 2) / 9 : (depth - 2) / 6;
        var ratio = bottleneck ? 4 : 1;
        var step = alpha / (3.0 * n);
        double width = 16;
        var channels = 16;
        var blocks = new IReadOnlyList<(int, int, int)>[3];
        var outputs = new int[3];
        for (var s = 0; s < 3; s++)
        {
            var stage = new (int, int, int)[n];
            for (var j = 0; j < n; j++)
            {
                width += step;
                var planes = (int)Math.Round(width, MidpointRounding.ToEven);
                stage[j] = (channels, planes, s > 0 && j == 0 ? 2 : 1);
                channels = planes * ratio;
            }
            blocks[s] = stage;
            outputs[s] = channels;
        }
        return new StagePlan(blocks, outputs);
    }
}

/// <summary>
/// PyramidNet.py's BasicBlock (<c>bn1, conv1, bn2, conv2, bn3</c>) or Bottleneck (<c>bn1, conv1, bn2, conv2, bn3,
/// conv3, bn4</c>), with the average-pooled, zero-padded identity shortcut.
/// </summary>
internal sealed class PyramidBlock : Module<Tensor, Tensor>, IConvBatchNormOwner
{
    private readonly BatchNorm2d bn1;
    private readonly ConvBatchNorm first;
    private readonly ConvBatchNorm second;
    private readonly ConvBatchNorm? third;
    private readonly int stride;

    public PyramidBlock(int inChannels, int planes, int stride, bool bottleneck) : base(nameof(PyramidBlock))
    {
        this.stride = stride;
        InnerChannels = bottleneck ? planes : inChannels;
        // Registered in the official order: bn1, conv1, bn2, conv2, bn3 (, conv3, bn4).
        bn1 = BatchNorm2d(inChannels);
        register_module(nameof(bn1), bn1);
        var conv1 = bottleneck
            ? Conv2d(inChannels, planes, 1, bias: false)
            : Conv2d(inChannels, planes, 3, stride: stride, padding: 1, bias: false);
        var conv2 = Conv2d(planes, planes, 3, stride: bottleneck ? stride : 1, padding: 1, bias: false);
        first = new ConvBatchNorm(this, nameof(conv1), conv1, "bn2", BatchNorm2d(planes));
        second = new ConvBatchNorm(this, nameof(conv2), conv2, "bn3", BatchNorm2d(planes));
        third = bottleneck ? new ConvBatchNorm(this, "conv3", Conv2d(planes, planes * 4, 1, bias: false), "bn4", BatchNorm2d(planes * 4)) : null;
    }

    /// <summary>
    /// The batch norm whose output is this block's pre-activation: bn2 in a bottleneck (an error once folded), bn1 in
    /// a basic block.
    /// </summary>
    public BatchNorm2d InnerNorm => third is null ? bn1 : first.Norm;

    IEnumerable<ConvBatchNorm> IConvBatchNormOwner.ConvBatchNorms => third is null ? [first, second] : [first, second, third];

    /// <summary>Channels of <see cref="InnerNorm"/>'s output.</summary>
    public int InnerChannels { get; }

    /// <summary>
    /// Runs the block; with <paramref name="keepInner"/> also returns <see cref="InnerNorm"/>'s output (bottleneck:
    /// bn2(conv1(bn1(x))), the input of its first ReLU; basic: bn1(x)), else null.
    /// </summary>
    public (Tensor Output, Tensor? Inner) ForwardWithInner(Tensor x, bool keepInner)
    {
        Tensor inner;
        Tensor branch;
        if (third is not null)
        {
            using (var normed = bn1.call(x))
            {
                inner = first.Forward(normed);
            }
            using var activated = functional.relu(inner);
            if (!keepInner) inner.Dispose();
            using var spatialNormed = second.Forward(activated);
            using var spatialActivated = functional.relu(spatialNormed);
            branch = third.Forward(spatialActivated);
        }
        else
        {
            inner = bn1.call(x);
            using var normalized = first.Forward(inner);
            if (!keepInner) inner.Dispose();
            using var activated = functional.relu(normalized);
            branch = second.Forward(activated);
        }
        using (branch)
        {
            return (Shortcut(x, branch), keepInner ? inner : null);
        }
    }

    /// <summary>branch + the shortcut of x (pooled at stride 2, zero channels appended up to the branch's width).</summary>
    private Tensor Shortcut(Tensor x, Tensor branch)
    {
        using var pooled = stride != 1 ? functional.avg_pool2d(x, 2, 2, ceil_mode: true) : null;
        var shortcut = pooled ?? x;
        var extra = branch.shape[1] - shortcut.shape[1];
        if (extra == 0) return branch + shortcut;
        using var padded = functional.pad(shortcut, [0, 0, 0, 0, 0, extra]);
        return branch + padded;
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => ForwardWithInner(x, keepInner: false).Output;
}
