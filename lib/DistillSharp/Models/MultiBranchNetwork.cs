using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace DistillSharp.Models;

/// <summary>
/// What a <see cref="MultiBranchNetwork"/> returns for a batch: the shared feature the trunk ends with, and for each
/// branch its last-block feature map and its logits. The tensors belong to the caller's dispose scope.
/// </summary>
/// <param name="Shared">The trunk's output (stage 2), B × <see cref="MultiBranchNetwork.SharedChannels"/> × H × W: the
/// shallow shared feature ONE's gate looks at.</param>
/// <param name="Maps">Each branch's last-block feature map after its activation, B × <see cref="MultiBranchNetwork.BranchChannels"/> × h × w.</param>
/// <param name="Logits">Each branch's logits z_i, B × classes.</param>
public sealed record MultiBranchOutput(Tensor Shared, IReadOnlyList<Tensor> Maps, IReadOnlyList<Tensor> Logits);

/// <summary>
/// The multi-branch network of ONE (Lan et al. 2018) built from a zoo network: the zoo network's stem and first two
/// stages are one shared trunk, and each of m branches has its own copy of the last stage, its own global average
/// pooling and its own linear classifier, <c>z_i = W_i · pool(stage3_i(trunk(x))) + b_i</c>.
/// </summary>
/// <remarks>
/// <para>Families. The CIFAR ResNets (<c>resnet8</c> … <c>resnet110</c>, <c>resnet8x4</c>, <c>resnet32x4</c>): trunk
/// <c>conv1, bn1, layer1, layer2</c>, branch i <c>layer3_i, classifier3_i</c>, the state_dict names of OKDDip's
/// <c>resnet_one.py</c>; branch map = layer3's output. The wide ResNets (<c>wrn_16_1</c> … <c>wrn_40_2</c>, <c>wrn_28_4</c>): trunk
/// <c>conv1, block1, block2</c>, branch i <c>block3_i</c>, its own final batch norm <c>bn1_i</c> and
/// <c>classifier3_i</c>; branch map = relu(bn1_i(block3_i)). Each part is exactly the zoo network's part, with the
/// zoo's initialization (Kaiming fan-out for the ResNets, wrn.py's fan-out normal for the WRNs), so one branch with the
/// trunk is the zoo network itself.</para>
/// <para>Pooling is adaptive (the mean over the map), as OKDDip's <c>AdaptiveAvgPool2d</c>; at 32 × 32 input it is the
/// zoo's 8 × 8 average pool.</para>
/// </remarks>
public sealed class MultiBranchNetwork : Module<Tensor, MultiBranchOutput>
{
#pragma warning disable IDE1006 // names follow the PyTorch state_dict keys
    private Conv2d? conv1;
    private BatchNorm2d? bn1;
    private ModuleList<ResidualBlock>? layer1;
    private ModuleList<ResidualBlock>? layer2;
    private WideGroup? block1;
    private WideGroup? block2;
#pragma warning restore IDE1006
    private readonly ModuleList<ResidualBlock>[] stages;
    private readonly WideGroup[] wideStages;
    private readonly BatchNorm2d[] finalNorms;
    private readonly Linear[] classifiers;
    private readonly string[] trunkNames;

    private MultiBranchNetwork(string name, int branches, int numClasses, int sharedChannels, int branchChannels, bool wide)
        : base(nameof(MultiBranchNetwork))
    {
        Name = name;
        Branches = branches;
        NumClasses = numClasses;
        SharedChannels = sharedChannels;
        BranchChannels = branchChannels;
        IsWide = wide;
        stages = wide ? [] : new ModuleList<ResidualBlock>[branches];
        wideStages = wide ? new WideGroup[branches] : [];
        finalNorms = wide ? new BatchNorm2d[branches] : [];
        classifiers = new Linear[branches];
        trunkNames = wide ? ["conv1", "block1", "block2"] : ["conv1", "bn1", "layer1", "layer2"];
    }

    /// <summary>
    /// Builds the network of <paramref name="branches"/> branches from zoo network <paramref name="template"/>'s
    /// architecture (its name, classes and input channels; its weights are not used).
    /// </summary>
    /// <exception cref="DistillSharpException">For a network that is neither a CIFAR ResNet nor a wide ResNet, or fewer than one branch.</exception>
    public static MultiBranchNetwork FromZoo(ZooModel template, int branches)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (branches < 1) throw new DistillSharpException($"a multi-branch network needs at least one branch; got {branches}.");
        return template switch
        {
            CifarResNet r => ResNet(r.Name, r.Depth, r.Widths, branches, r.NumClasses, r.InChannels),
            WideResNet w => Wide(w.Name, w.Depth, w.Widen, branches, w.NumClasses, w.InChannels),
            _ => throw new DistillSharpException(
                $"multi-branch networks are built from the CIFAR ResNets (resnet8 ... resnet110, resnet8x4, resnet32x4) and the wide ResNets " +
                $"(wrn_16_1 ... wrn_40_2, wrn_28_4); '{template.Name}' is neither."),
        };
    }

    /// <summary>The zoo name it was built from.</summary>
    public string Name { get; }

    /// <summary>m, the number of branches.</summary>
    public int Branches { get; }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>Channels of <see cref="MultiBranchOutput.Shared"/> (stage 2's width).</summary>
    public int SharedChannels { get; }

    /// <summary>Channels of each branch map (the last stage's width), also the classifiers' input size.</summary>
    public int BranchChannels { get; }

    /// <summary>Whether it is built from a wide ResNet (else from a CIFAR ResNet).</summary>
    public bool IsWide { get; }

    /// <summary>The branches' classifiers, branch 1 first; the weight of each is W_i, classes × <see cref="BranchChannels"/>.</summary>
    public IReadOnlyList<Linear> Classifiers => classifiers;

    /// <summary>The trunk's parameters (stem and stages 1-2), shared by every branch.</summary>
    public IReadOnlyList<Parameter> TrunkParameters() => ParametersUnder(trunkNames);

    /// <summary>The parameters of branch <paramref name="branch"/> (0-based): its last stage, final norm and classifier.</summary>
    public IReadOnlyList<Parameter> BranchParameters(int branch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(branch);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(branch, Branches);
        return ParametersUnder(IsWide ? [$"block3_{branch}", $"bn1_{branch}", $"classifier3_{branch}"] : [$"layer3_{branch}", $"classifier3_{branch}"]);
    }

    private Parameter[] ParametersUnder(string[] children) =>
        named_parameters().Where(p => children.Any(c => p.name.StartsWith(c + ".", StringComparison.Ordinal))).Select(p => p.parameter).ToArray();

    private static MultiBranchNetwork ResNet(string name, int depth, IReadOnlyList<int> widths, int branches, int numClasses, int inChannels)
    {
        var blocks = (depth - 2) / 6;
        var net = new MultiBranchNetwork(name, branches, numClasses, widths[2], widths[3], wide: false);
        net.conv1 = Conv2d(inChannels, widths[0], 3, padding: 1, bias: false);
        net.bn1 = BatchNorm2d(widths[0]);
        long channels = widths[0];
        net.layer1 = ResidualStage.Make(ResidualStage.Kind.Basic, ref channels, widths[1], blocks, 1, "downsample");
        net.layer2 = ResidualStage.Make(ResidualStage.Kind.Basic, ref channels, widths[2], blocks, 2, "downsample");
        net.register_module("conv1", net.conv1);
        net.register_module("bn1", net.bn1);
        net.register_module("layer1", net.layer1);
        net.register_module("layer2", net.layer2);
        for (int i = 0; i < branches; i++)
        {
            long c = channels;
            net.stages[i] = ResidualStage.Make(ResidualStage.Kind.Basic, ref c, widths[3], blocks, 2, "downsample");
            net.register_module($"layer3_{i}", net.stages[i]);
            net.classifiers[i] = Linear(c, numClasses);
            net.register_module($"classifier3_{i}", net.classifiers[i]);
        }
        WeightInit.KaimingFanOut(net);
        return net;
    }

    private static MultiBranchNetwork Wide(string name, int depth, int widen, int branches, int numClasses, int inChannels)
    {
        var n = (depth - 4) / 6;
        var net = new MultiBranchNetwork(name, branches, numClasses, 32 * widen, 64 * widen, wide: true);
        net.conv1 = Conv2d(inChannels, 16, 3, stride: 1, padding: 1, bias: false);
        net.block1 = new WideGroup(n, 16, 16 * widen, 1);
        net.block2 = new WideGroup(n, 16 * widen, 32 * widen, 2);
        net.register_module("conv1", net.conv1);
        net.register_module("block1", net.block1);
        net.register_module("block2", net.block2);
        for (int i = 0; i < branches; i++)
        {
            net.wideStages[i] = new WideGroup(n, 32 * widen, 64 * widen, 2);
            net.register_module($"block3_{i}", net.wideStages[i]);
            net.finalNorms[i] = BatchNorm2d(64 * widen);
            net.register_module($"bn1_{i}", net.finalNorms[i]);
            net.classifiers[i] = Linear(64 * widen, numClasses);
            net.register_module($"classifier3_{i}", net.classifiers[i]);
        }
        WeightInit.FanOutNormal(net, linearStd: null);
        return net;
    }

    /// <inheritdoc/>
    public override MultiBranchOutput forward(Tensor x)
    {
        x = ZooModel.ChannelsLast(x);
        var shared = IsWide ? WideTrunk(x) : ResNetTrunk(x);
        var maps = new Tensor[Branches];
        var logits = new Tensor[Branches];
        for (int i = 0; i < Branches; i++)
        {
            maps[i] = IsWide ? WideBranch(i, shared) : ResNetBranch(i, shared);
            using var pooled = functional.adaptive_avg_pool2d(maps[i], 1);
            using var flat = pooled.flatten(1);
            logits[i] = classifiers[i].call(flat);
        }
        return new MultiBranchOutput(shared, maps, logits);
    }

    private Tensor ResNetTrunk(Tensor x)
    {
        using var scope = NewDisposeScope();
        var f0 = functional.relu(bn1!.call(conv1!.call(x)));
        var (f1, _) = ResidualStage.Run(layer1!, f0);
        var (f2, _) = ResidualStage.Run(layer2!, f1);
        return f2.MoveToOuterDisposeScope();
    }

    private Tensor ResNetBranch(int i, Tensor shared)
    {
        var (output, preAct) = ResidualStage.Run(stages[i], shared);
        preAct.Dispose();
        return output;
    }

    private Tensor WideTrunk(Tensor x)
    {
        using var f0 = conv1!.call(x);
        using var f1 = block1!.forward(f0);
        return block2!.forward(f1);
    }

    private Tensor WideBranch(int i, Tensor shared)
    {
        using var y = wideStages[i].forward(shared);
        using var normed = finalNorms[i].call(y);
        return functional.relu(normed);
    }
}
