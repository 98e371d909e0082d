using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Models;

/// <summary>
/// A network of the model zoo: a module from an image batch (batch x channels x height x width) to a
/// <see cref="ModelOutput"/>. Create one with <see cref="ModelZoo.Create"/>.
/// </summary>
/// <remarks>
/// Parameter and buffer names are the PyTorch <c>state_dict</c> keys of the reference definition
/// (RepDistiller for the CIFAR models, LONDON's official code for the PyramidNets, torchvision for the ImageNet
/// ResNets), so weights can be exchanged
/// with PyTorch by name. TorchSharp's own <c>state_dict()</c> lists parameters before buffers;
/// <see cref="OrderedStateDict"/> gives the entries in PyTorch's order. Implementation rule for the model
/// classes: children are registered explicitly in the reference's attribute order, and every field holding a
/// module is named exactly like the PyTorch attribute (TorchSharp registers module fields under their field
/// names when a model joins a parent module, so a differently named field would add a second key). A convolution
/// followed directly by a batch norm is held as a <see cref="ConvBatchNorm"/> (not a module, so not registered by
/// field), which registers the two under the reference's names and can fold them (<see cref="FoldBatchNorms"/>).
/// </remarks>
public abstract class ZooModel : nn.Module<Tensor, ModelOutput>
{
    /// <summary>Before the first model computes anything, oneDNN gets real cache sizes on CPUs that hide them (<see cref="OneDnnCacheSizes"/>).</summary>
    static ZooModel() => OneDnnCacheSizes.Apply();

    /// <summary>Sets the descriptive properties shared by every zoo model.</summary>
    /// <param name="name">The registry name.</param>
    /// <param name="numClasses">Number of classes of the classifier.</param>
    /// <param name="inChannels">Channels of the input images.</param>
    /// <param name="featureChannels">Channels of each entry of <see cref="ModelOutput.Features"/>.</param>
    private protected ZooModel(string name, int numClasses, int inChannels, IReadOnlyList<int> featureChannels)
        : base(name)
    {
        Name = name;
        NumClasses = numClasses;
        InChannels = inChannels;
        FeatureChannels = featureChannels;
    }

    /// <summary>The registry name (for example <c>resnet8x4</c>).</summary>
    public string Name { get; }

    /// <summary>Number of classes (the classifier's output size).</summary>
    public int NumClasses { get; }

    /// <summary>Channels of the input images (3 for RGB, 1 for Fashion-MNIST).</summary>
    public int InChannels { get; }

    /// <summary>Channels of each entry of <see cref="ModelOutput.Features"/>.</summary>
    public IReadOnlyList<int> FeatureChannels { get; }

    /// <summary>
    /// Channels of each entry of <see cref="ModelOutput.PreActFeatures"/>: <see cref="FeatureChannels"/> for every
    /// model but the bottleneck PyramidNet, whose pre-activation stage features are taken inside the next stage's first
    /// block (see <see cref="PyramidNet"/>).
    /// </summary>
    public virtual IReadOnlyList<int> PreActFeatureChannels => FeatureChannels;

    /// <summary>
    /// The logits and the pooled penultimate vector alone: <c>forward(x).Logits</c> and <c>forward(x).Pooled</c>, the
    /// same values, for evaluation, prediction and a frozen teacher whose loss reads nothing else (KD, CRD). The default
    /// runs <c>forward</c> and disposes everything else it returned before returning; a family overrides it to dispose
    /// each stage's output (and pre-activation) as soon as the next stage has read it, so that without autograd the
    /// forward holds one stage's tensors at a time instead of every feature of <see cref="ModelOutput"/>. With autograd
    /// on, the graph keeps what it saved, so the gradients are those of <c>forward</c>.
    /// </summary>
    public virtual (Tensor Logits, Tensor Pooled) LogitsAndPooled(Tensor x)
    {
        using var scope = NewDisposeScope();
        var output = forward(x);
        return (scope.MoveToOuter(output.Logits), scope.MoveToOuter(output.Pooled));
    }

    /// <summary>The logits alone, <c>forward(x).Logits</c>: <see cref="LogitsAndPooled"/> with the pooled vector disposed.</summary>
    public Tensor Logits(Tensor x)
    {
        var (logits, pooled) = LogitsAndPooled(x);
        pooled.Dispose();
        return logits;
    }

    /// <summary>Size of the pooled penultimate vector (the classifier's input size).</summary>
    public int PooledSize => FeatureChannels[^1];

    /// <summary>
    /// The square image size the definition is built for: 32 for the CIFAR models (their pooling
    /// windows are fixed for it), 224 for the ImageNet ResNets (which accept any size of at least 32).
    /// </summary>
    public virtual int ImageSize => 32;

    /// <summary>The final linear classifier (RepDistiller's <c>fc</c>, <c>linear</c> or <c>classifier</c>).</summary>
    public abstract Linear Classifier { get; }

    /// <summary>True when <see cref="BatchNormsBeforeRelu"/> is defined for this model (all but the ShuffleNets).</summary>
    public virtual bool HasBatchNormsBeforeRelu => true;

    /// <summary>
    /// The batch-norm layers whose outputs are the pre-activation stage features, in stage order: RepDistiller's
    /// <c>get_bn_before_relu</c>, used by OFD-style distillers to read the teacher's BN statistics.
    /// </summary>
    /// <exception cref="DistillSharpException">For the ShuffleNets, where RepDistiller does not define the list.</exception>
    public abstract IReadOnlyList<BatchNorm2d> BatchNormsBeforeRelu();

    /// <summary>
    /// Whether <see cref="FoldBatchNorms"/> has folded this network's conv→BN pairs: it is then an inference-only network
    /// (<see cref="train"/> refuses train mode) whose state has no entries for the folded batch norms and a bias for
    /// each convolution they followed.
    /// </summary>
    public bool IsBatchNormFolded { get; private set; }

    /// <summary>
    /// Folds every batch norm that directly follows a convolution (and reads nothing else) into that convolution, in
    /// place, for inference: with <c>s = γ/√(σ² + ε)</c> per output channel, <c>W' = s·W</c> and
    /// <c>b' = β + s·(b − μ)</c>, μ and σ² the running statistics (b = 0 for a convolution without bias). The network
    /// then computes the same function in eval mode up to float32 rounding (logits, every feature, every pre-activation
    /// feature and the pooled vector) and no longer runs the folded batch norms: they leave the module tree, the
    /// state_dict and <see cref="nn.Module.modules"/>. A batch norm after something other than a convolution, or after a
    /// convolution whose output is also read elsewhere, stays (the pre-activation wide ResNets and the PyramidNets keep the
    /// batch norm at the input of each block and the final one; every other family folds all of its batch norms; each
    /// class's remarks say which). Returns how many were folded (0 the second time).
    /// </summary>
    /// <remarks>
    /// For a frozen network only (a teacher in eval mode): a folded network cannot go back to train mode, its
    /// <see cref="BatchNormsBeforeRelu"/> list is an error where it names a folded batch norm (the wide ResNets' and the
    /// basic PyramidNet's name batch norms that stay), and its state no longer loads into an unfolded one (so a folded
    /// network cannot be saved by mistake as the reference's weights). Fold a copy (load the checkpoint again) to keep the
    /// original.
    /// </remarks>
    /// <exception cref="DistillSharpException">The network is in train mode.</exception>
    public int FoldBatchNorms()
    {
        if (training)
        {
            throw new DistillSharpException(
                $"model '{Name}' is in train mode: its batch norms normalize with each batch's own statistics, so they cannot be folded " +
                "into its convolutions. Fold only a frozen network in eval mode (call eval() first; a teacher that trains in train mode, " +
                "as OFD's and LONDON's, cannot be folded).");
        }
        int folded = 0;
        foreach (var module in modules().Prepend(this).ToList())
        {
            if (module is not IConvBatchNormOwner owner) continue;
            foreach (var pair in owner.ConvBatchNorms) folded += pair.Fold() ? 1 : 0;
        }
        IsBatchNormFolded = true;
        return folded;
    }

    /// <summary>Sets train or eval mode; train mode is refused for a network whose batch norms are folded (<see cref="FoldBatchNorms"/>).</summary>
    /// <exception cref="DistillSharpException">Train mode for a folded network.</exception>
    public override void train(bool on = true)
    {
        if (on && IsBatchNormFolded)
        {
            throw new DistillSharpException(
                $"model '{Name}' has its batch norms folded into its convolutions (FoldBatchNorms): it is for inference only and cannot train; " +
                "load the checkpoint again for a network that trains.");
        }
        base.train(on);
    }

    /// <summary>
    /// The state (parameters and buffers) in PyTorch's <c>state_dict</c> order: for each module, its own
    /// parameters, then its own buffers, then its children in registration order.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> OrderedStateDict()
    {
        var entries = new List<KeyValuePair<string, Tensor>>();
        Collect(this, "", entries);
        return entries;
    }

    private static void Collect(nn.Module module, string prefix, List<KeyValuePair<string, Tensor>> entries)
    {
        foreach (var (name, parameter) in module.named_parameters(false))
            entries.Add(new(prefix + name, parameter));
        foreach (var (name, buffer) in module.named_buffers(false))
            entries.Add(new(prefix + name, buffer));
        foreach (var (name, child) in module.named_children())
            Collect(child, prefix + name + ".", entries);
    }

    /// <summary>
    /// <paramref name="x"/> laid out channels-last (NHWC in memory, the same NCHW shape and values), or
    /// <paramref name="x"/> itself when it already is, is not a 4-d batch, or <see cref="UseChannelsLast"/> is off.
    /// The CIFAR ResNets, the wide ResNets and the VGGs call this on their input: libtorch's oneDNN convolutions
    /// then run on channels-last data without reordering it to and from their blocked layout at every layer, batch
    /// norm and the element-wise layers keep the layout, and the gradients follow it (training steps of resnet20
    /// and resnet8x4 about 25% faster on a 2-core CPU). The results are deterministic but not bit-identical to
    /// NCHW: libtorch's channels-last kernels round differently (batch-norm statistics in particular), so against a
    /// float64 reference the forward agrees to about 1e-5 and the gradients of the first layers to about 1e-2 of the
    /// largest gradient (NCHW: 1e-5), a test bounds both. The other families keep NCHW: with libtorch 2.10 the
    /// channels-last forward of MobileNetV2, ResNet18/34/50 and the ImageNet ResNets disagreed with NCHW far beyond
    /// rounding (ResNet50 crashed), and the ShuffleNets measured slower.
    /// </summary>
    protected internal static Tensor ChannelsLast(Tensor x)
    {
        if (!UseChannelsLast || x.dim() != 4 || IsChannelsLast(x)) return x;
        using var nhwc = x.permute(0, 2, 3, 1);
        using var packed = nhwc.contiguous();
        return packed.permute(0, 3, 1, 2);
    }

    /// <summary>
    /// Whether the convolutional models lay their input out channels-last (see <see cref="ChannelsLast"/>); true by
    /// default. Set it to false for the NCHW layout everywhere (the results agree to float32 rounding).
    /// </summary>
    public static bool UseChannelsLast { get; set; } = true;

    /// <summary>True when <paramref name="x"/> (4-d) is densely packed in NHWC order.</summary>
    internal static bool IsChannelsLast(Tensor x)
    {
        if (x.dim() != 4) return false;
        long c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var s = x.stride();
        return s[1] == 1 && s[3] == c && s[2] == w * c && (x.shape[0] == 1 || s[0] == h * w * c);
    }

    /// <summary>Throws the error used by models that have no <see cref="BatchNormsBeforeRelu"/> list.</summary>
    private protected DistillSharpException NoBatchNormsBeforeRelu() => new(
        $"Model '{Name}' has no list of batch norms before ReLU (RepDistiller does not define get_bn_before_relu " +
        "for the ShuffleNets, so they cannot be OFD-style teachers); choose another teacher, or check " +
        "HasBatchNormsBeforeRelu first.");
}
