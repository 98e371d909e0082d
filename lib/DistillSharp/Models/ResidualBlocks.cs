using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DistillSharp.Models;

/// <summary>
/// A post-activation residual block (the basic and bottleneck blocks shared by RepDistiller's resnet.py and
/// resnetv2.py and by torchvision). The projection shortcut, a 1x1 convolution and a batch norm, is
/// registered under the name the reference uses: <c>downsample</c> (resnet.py, torchvision) or
/// <c>shortcut</c> (resnetv2.py). Every module field is named like the PyTorch attribute, because TorchSharp
/// registers module fields under their field names when the block joins a parent; of the two shortcut fields
/// only the one the reference uses is set (null fields are not registered).
/// </summary>
internal abstract class ResidualBlock : Module<Tensor, Tensor>, IConvBatchNormOwner
{
    protected ResidualBlock(string name) : base(name) { }

    /// <summary>The batch norm that ends the residual branch (the one before the sum and the ReLU).</summary>
    public abstract BatchNorm2d LastBatchNorm { get; }

    /// <inheritdoc/>
    public abstract IEnumerable<ConvBatchNorm> ConvBatchNorms { get; }

    /// <summary>Runs the block; returns the output and the sum before the final ReLU.</summary>
    public abstract (Tensor Output, Tensor PreAct) ForwardWithPreAct(Tensor x);

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => ForwardWithPreAct(x).Output;

    /// <summary>
    /// The projection shortcut when the shape changes, otherwise none (identity): the reference's 1x1 convolution
    /// with stride s and its batch norm. The convolution is built with stride 1 and <see cref="Project"/> feeds it
    /// every s-th row and column, which is the same function (a 1x1 kernel without padding reads exactly those
    /// pixels), with the same weights, output shape and MACs. The reason: libtorch 2.10's oneDNN aborts the process
    /// with SIGFPE in the backward pass of some strided 1x1 convolutions on AVX-512 CPUs (for example 512 -> 1024
    /// channels at stride 2, in ResNet50's third stage), while the stride-1 convolution is unaffected.
    /// </summary>
    protected static LayerSequence? Projection(long inChannels, long outChannels, long stride) =>
        stride != 1 || inChannels != outChannels
            ? new LayerSequence(
                Conv2d(inChannels, outChannels, 1, stride: 1, bias: false),
                BatchNorm2d(outChannels))
            : null;

    /// <summary>
    /// The projection shortcut of <paramref name="x"/>: <paramref name="projection"/> applied to every
    /// <paramref name="stride"/>-th row and column (see <see cref="Projection"/>), or null for the identity.
    /// </summary>
    protected static Tensor? Project(LayerSequence? projection, long stride, Tensor x)
    {
        if (projection is null) return null;
        if (stride == 1) return projection.call(x);
        using var sampled = x.slice(2, 0, x.shape[2], stride).slice(3, 0, x.shape[3], stride);
        return projection.call(sampled);
    }

    /// <summary>
    /// Adds the shortcut into the branch in place (<c>out += identity</c>, as torchvision's and RepDistiller's blocks
    /// do: the same sum, without a buffer of its own; the batch norm or convolution that made the branch does not need
    /// its output for backward), applies the ReLU, and keeps only the output and the sum: every other tensor the block
    /// made is disposed with <paramref name="scope"/> when the block returns. Autograd holds its own references to
    /// what backward needs, so this frees the intermediates PyTorch would free when their last reference goes
    /// (in evaluation, all of them) instead of keeping them to the end of the step.
    /// </summary>
    protected static (Tensor, Tensor) Finish(DisposeScope scope, Tensor branch, Tensor x, LayerSequence? projection, long stride)
    {
        using (var projected = Project(projection, stride, x))
        {
            branch.add_(projected ?? x);
        }
        var output = functional.relu(branch);
        scope.MoveToOuter(output);
        scope.MoveToOuter(branch);
        return (output, branch);
    }

    /// <summary>
    /// Convolution, batch norm and optionally ReLU, applied in place on the batch norm's output (<c>ReLU(inplace=True)</c>
    /// as torchvision's blocks: the same values; batch-norm backward reads its input and statistics, not its output, and
    /// ReLU's backward reads its own output), each intermediate disposed as soon as the next layer has read it (as
    /// Python frees a tensor at its last reference): in evaluation only one or two activations of the block are alive
    /// at a time; in training autograd keeps its own references to what backward needs.
    /// </summary>
    protected static Tensor Step(ConvBatchNorm layer, Tensor x, bool relu)
    {
        var normalized = layer.Forward(x);
        return relu ? normalized.relu_() : normalized;
    }

    /// <summary>Registers the projection under the reference's name and returns the two named slots.</summary>
    protected (LayerSequence? Downsample, LayerSequence? Shortcut) RegisterProjection(LayerSequence? projection, string shortcutName)
    {
        if (projection is null) return (null, null);
        register_module(shortcutName, projection);
        return shortcutName switch
        {
            "downsample" => (projection, null),
            "shortcut" => (null, projection),
            _ => throw new ArgumentException($"Unknown shortcut name '{shortcutName}'.", nameof(shortcutName)),
        };
    }
}

/// <summary>Two 3x3 convolutions with batch norms (expansion 1); both batch norms and the projection's fold.</summary>
internal sealed class BasicBlock : ResidualBlock
{
    public const int Expansion = 1;

    private readonly ConvBatchNorm first;
    private readonly ConvBatchNorm second;
    private readonly LayerSequence? downsample;
    private readonly LayerSequence? shortcut;
    private readonly long stride;

    public BasicBlock(long inChannels, long planes, long stride, string shortcutName) : base(nameof(BasicBlock))
    {
        this.stride = stride;
        var conv1 = Conv2d(inChannels, planes, 3, stride: stride, padding: 1, bias: false);
        var bn1 = BatchNorm2d(planes);
        var conv2 = Conv2d(planes, planes, 3, stride: 1, padding: 1, bias: false);
        var bn2 = BatchNorm2d(planes);
        first = new ConvBatchNorm(this, nameof(conv1), conv1, nameof(bn1), bn1);
        second = new ConvBatchNorm(this, nameof(conv2), conv2, nameof(bn2), bn2);
        (downsample, shortcut) = RegisterProjection(Projection(inChannels, planes * BasicBlock.Expansion, stride), shortcutName);
    }

    public override BatchNorm2d LastBatchNorm => second.Norm;

    public override IEnumerable<ConvBatchNorm> ConvBatchNorms => [first, second];

    public override (Tensor Output, Tensor PreAct) ForwardWithPreAct(Tensor x)
    {
        using var scope = NewDisposeScope();
        using var y = Step(first, x, relu: true);
        return Finish(scope, Step(second, y, relu: false), x, downsample ?? shortcut, stride);
    }
}

/// <summary>1x1, 3x3 (carrying the stride), 1x1 convolutions with batch norms (expansion 4); all three and the projection's fold.</summary>
internal sealed class Bottleneck : ResidualBlock
{
    public const int Expansion = 4;

    private readonly ConvBatchNorm first;
    private readonly ConvBatchNorm second;
    private readonly ConvBatchNorm third;
    private readonly LayerSequence? downsample;
    private readonly LayerSequence? shortcut;
    private readonly long stride;

    public Bottleneck(long inChannels, long planes, long stride, string shortcutName) : base(nameof(Bottleneck))
    {
        this.stride = stride;
        var outChannels = planes * Expansion;
        var conv1 = Conv2d(inChannels, planes, 1, bias: false);
        var bn1 = BatchNorm2d(planes);
        var conv2 = Conv2d(planes, planes, 3, stride: stride, padding: 1, bias: false);
        var bn2 = BatchNorm2d(planes);
        var conv3 = Conv2d(planes, outChannels, 1, bias: false);
        var bn3 = BatchNorm2d(outChannels);
        first = new ConvBatchNorm(this, nameof(conv1), conv1, nameof(bn1), bn1);
        second = new ConvBatchNorm(this, nameof(conv2), conv2, nameof(bn2), bn2);
        third = new ConvBatchNorm(this, nameof(conv3), conv3, nameof(bn3), bn3);
        (downsample, shortcut) = RegisterProjection(Projection(inChannels, outChannels, stride), shortcutName);
    }

    public override BatchNorm2d LastBatchNorm => third.Norm;

    public override IEnumerable<ConvBatchNorm> ConvBatchNorms => [first, second, third];

    public override (Tensor Output, Tensor PreAct) ForwardWithPreAct(Tensor x)
    {
        using var scope = NewDisposeScope();
        using var y1 = Step(first, x, relu: true);
        using var y2 = Step(second, y1, relu: true);
        return Finish(scope, Step(third, y2, relu: false), x, downsample ?? shortcut, stride);
    }
}

/// <summary>Builds and runs stages (PyTorch <c>nn.Sequential</c> of blocks, here a module list).</summary>
internal static class ResidualStage
{
    /// <summary>The kind of block a ResNet is made of.</summary>
    public enum Kind { Basic, Bottleneck }

    /// <summary>Channel multiplier of the block kind.</summary>
    public static int Expansion(Kind kind) => kind == Kind.Basic ? BasicBlock.Expansion : Bottleneck.Expansion;

    /// <summary>
    /// A stage of <paramref name="count"/> blocks; the first carries the stride (and the projection when
    /// needed). <paramref name="inChannels"/> is updated to the stage's output channels.
    /// </summary>
    public static ModuleList<ResidualBlock> Make(
        Kind kind, ref long inChannels, long planes, int count, long stride, string shortcutName)
    {
        var blocks = new ResidualBlock[count];
        for (var i = 0; i < count; i++)
        {
            var s = i == 0 ? stride : 1;
            blocks[i] = kind == Kind.Basic
                ? new BasicBlock(inChannels, planes, s, shortcutName)
                : new Bottleneck(inChannels, planes, s, shortcutName);
            inChannels = planes * Expansion(kind);
        }
        return new ModuleList<ResidualBlock>(blocks);
    }

    /// <summary>
    /// Runs the blocks in order; returns the output and the last block's pre-activation sum. The output and sum of
    /// every block but the last are disposed once the next block has read them (the stage input, which the caller
    /// owns, is never disposed), so a forward without autograd (a frozen teacher, evaluation) holds one block's
    /// tensors at a time instead of the whole stage's.
    /// </summary>
    public static (Tensor Output, Tensor PreAct) Run(ModuleList<ResidualBlock> stage, Tensor x)
    {
        var (output, preAct) = (x, x);
        foreach (var block in stage)
        {
            var next = block.ForwardWithPreAct(output);
            if (!ReferenceEquals(output, x))
            {
                output.Dispose();
                preAct.Dispose();
            }
            (output, preAct) = next;
        }
        return (output, preAct);
    }

    /// <summary>
    /// The stages in order for the early-freeing forward (<see cref="ZooModel.LogitsAndPooled"/>): returns the last
    /// stage's output and disposes each stage's input and last pre-activation sum once the stage has run (nothing after
    /// it reads them), so without autograd one stage's tensors are alive at a time. <paramref name="x"/> is disposed too.
    /// </summary>
    public static Tensor RunReleasing(Tensor x, params ModuleList<ResidualBlock>[] stages)
    {
        foreach (var stage in stages)
        {
            var (output, preAct) = Run(stage, x);
            x.Dispose();
            preAct.Dispose();
            x = output;
        }
        return x;
    }

    /// <summary>The last batch norm of the stage's last block.</summary>
    public static BatchNorm2d LastBatchNorm(ModuleList<ResidualBlock> stage) => stage[stage.Count - 1].LastBatchNorm;
}
