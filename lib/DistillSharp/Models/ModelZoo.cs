namespace DistillSharp.Models;

/// <summary>
/// The registry of networks by name: RepDistiller's CIFAR definitions, the wide ResNets and PyramidNets of LONDON's
/// official CIFAR-100 code, and torchvision-layout ImageNet ResNets. <see cref="Create"/> builds a freshly initialized
/// model; <see cref="Describe"/> reports its size.
/// </summary>
/// <remarks>
/// LONDON's CIFAR-100 settings (42Shawn/LONDON, <c>CIFAR-100/load_settings.py</c> at bac21e8) in zoo names:
/// wrn_28_4 → wrn_16_4 (settings a, b), wrn_28_4 → wrn_16_2 (c), wrn_28_4 → resnet56 (d), pyramidnet200_a240 →
/// wrn_28_4 (e), pyramidnet200_a240 → pyramidnet110_a84 (f). Its <c>WideResNet.py</c> computes the same function as
/// RepDistiller's wrn.py for the same weights, under the same state_dict keys (the same blocks, the 1x1
/// <c>convShortcut</c> of the activated input where the width changes, dropout 0, final BN-ReLU, 8x8 pooling, the
/// same init), so its WRN-28-4 and WRN-16-4 are <see cref="WideResNet"/>s; its <c>ResNet.py</c> ResNet-56 applies
/// each ReLU at the next block's input instead of the block's output, which is the same function as
/// RepDistiller's resnet56, with the same keys and the same pre-activation features and batch norms.
/// </remarks>
public static class ModelZoo
{
    private static readonly int[] NarrowWidths = [16, 16, 32, 64];
    private static readonly int[] WideWidths = [32, 64, 128, 256];

    private static readonly (string Name, Func<int, int, ZooModel> Make)[] Entries =
    [
        ("resnet8", (c, i) => new CifarResNet("resnet8", 8, NarrowWidths, c, i)),
        ("resnet14", (c, i) => new CifarResNet("resnet14", 14, NarrowWidths, c, i)),
        ("resnet20", (c, i) => new CifarResNet("resnet20", 20, NarrowWidths, c, i)),
        ("resnet32", (c, i) => new CifarResNet("resnet32", 32, NarrowWidths, c, i)),
        ("resnet44", (c, i) => new CifarResNet("resnet44", 44, NarrowWidths, c, i)),
        ("resnet56", (c, i) => new CifarResNet("resnet56", 56, NarrowWidths, c, i)),
        ("resnet110", (c, i) => new CifarResNet("resnet110", 110, NarrowWidths, c, i)),
        ("resnet8x4", (c, i) => new CifarResNet("resnet8x4", 8, WideWidths, c, i)),
        ("resnet32x4", (c, i) => new CifarResNet("resnet32x4", 32, WideWidths, c, i)),
        ("wrn_16_1", (c, i) => new WideResNet("wrn_16_1", 16, 1, c, i)),
        ("wrn_16_2", (c, i) => new WideResNet("wrn_16_2", 16, 2, c, i)),
        ("wrn_16_4", (c, i) => new WideResNet("wrn_16_4", 16, 4, c, i)),
        ("wrn_28_4", (c, i) => new WideResNet("wrn_28_4", 28, 4, c, i)),
        ("wrn_40_1", (c, i) => new WideResNet("wrn_40_1", 40, 1, c, i)),
        ("wrn_40_2", (c, i) => new WideResNet("wrn_40_2", 40, 2, c, i)),
        ("pyramidnet110_a84", (c, i) => new PyramidNet("pyramidnet110_a84", 110, 84, bottleneck: false, c, i)),
        ("pyramidnet200_a240", (c, i) => new PyramidNet("pyramidnet200_a240", 200, 240, bottleneck: true, c, i)),
        ("vgg8", (c, i) => new Vgg("vgg8", c, i)),
        ("vgg11", (c, i) => new Vgg("vgg11", c, i)),
        ("vgg13", (c, i) => new Vgg("vgg13", c, i)),
        ("vgg16", (c, i) => new Vgg("vgg16", c, i)),
        ("vgg19", (c, i) => new Vgg("vgg19", c, i)),
        ("MobileNetV2", (c, i) => new MobileNetV2("MobileNetV2", c, i)),
        ("ShuffleV1", (c, i) => new ShuffleNetV1("ShuffleV1", c, i)),
        ("ShuffleV2", (c, i) => new ShuffleNetV2("ShuffleV2", c, i)),
        ("ResNet18", (c, i) => new ResNetV2("ResNet18", ResidualStage.Kind.Basic, [2, 2, 2, 2], c, i)),
        ("ResNet34", (c, i) => new ResNetV2("ResNet34", ResidualStage.Kind.Basic, [3, 4, 6, 3], c, i)),
        ("ResNet50", (c, i) => new ResNetV2("ResNet50", ResidualStage.Kind.Bottleneck, [3, 4, 6, 3], c, i)),
        ("resnet18_imagenet", (c, i) => new ImageNetResNet("resnet18_imagenet", ResidualStage.Kind.Basic, [2, 2, 2, 2], c, i)),
        ("resnet34_imagenet", (c, i) => new ImageNetResNet("resnet34_imagenet", ResidualStage.Kind.Basic, [3, 4, 6, 3], c, i)),
        ("resnet50_imagenet", (c, i) => new ImageNetResNet("resnet50_imagenet", ResidualStage.Kind.Bottleneck, [3, 4, 6, 3], c, i)),
        ("resnet152_imagenet", (c, i) => new ImageNetResNet("resnet152_imagenet", ResidualStage.Kind.Bottleneck, [3, 8, 36, 3], c, i)),
    ];

    // Names used by RepDistiller, torchvision or LONDON's code for the same networks, to point users to ours.
    private static readonly Dictionary<string, string> KnownAliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["mobile_half"] = "MobileNetV2",
        ["mobilenetv2_0.5"] = "MobileNetV2",
        ["vgg8_bn"] = "vgg8",
        ["vgg11_bn"] = "vgg11",
        ["vgg13_bn"] = "vgg13",
        ["vgg16_bn"] = "vgg16",
        ["vgg19_bn"] = "vgg19",
        ["ShuffleNetV1"] = "ShuffleV1",
        ["ShuffleNetV2"] = "ShuffleV2",
        ["pyramidnet110"] = "pyramidnet110_a84",
        ["PyramidNet-110"] = "pyramidnet110_a84",
        ["pyramidnet200"] = "pyramidnet200_a240",
        ["PyramidNet-200"] = "pyramidnet200_a240",
        ["WRN-28-4"] = "wrn_28_4",
        ["WRN-16-4"] = "wrn_16_4",
    };

    /// <summary>The registry names, in a stable order (CIFAR ResNets, WRNs, PyramidNets, VGGs, mobile nets, ResNetV2, ImageNet).</summary>
    public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(Entries.Select(e => e.Name).ToArray());

    /// <summary>
    /// Builds a freshly initialized model (initialization as in the reference definition).
    /// </summary>
    /// <param name="name">A registry name from <see cref="Names"/> (case-sensitive: <c>ResNet18</c> is the CIFAR
    /// variant, <c>resnet18_imagenet</c> the torchvision one).</param>
    /// <param name="numClasses">Number of classes (at least 1).</param>
    /// <param name="inChannels">Channels of the input images (at least 1): replaces the first convolution's
    /// input channels, for example 1 for Fashion-MNIST.</param>
    /// <exception cref="DistillSharpException">For an unknown name (the message lists the valid names and the
    /// closest one) or a bad <paramref name="numClasses"/> / <paramref name="inChannels"/>.</exception>
    public static ZooModel Create(string name, int numClasses, int inChannels = 3)
    {
        var make = Find(name);
        if (numClasses < 1)
            throw new DistillSharpException($"numClasses must be at least 1 (got {numClasses}) for model '{name}'.");
        if (inChannels < 1)
            throw new DistillSharpException(
                $"inChannels must be at least 1 (got {inChannels}) for model '{name}': use 3 for RGB images, 1 for grayscale.");
        return make(numClasses, inChannels);
    }

    /// <summary>
    /// The square input sizes model <paramref name="name"/> takes, known without building it: exactly 32 for the
    /// CIFAR definitions (their pooling windows are fixed for 32x32), and any size from 32 up for the ImageNet ResNets
    /// (their pooling is adaptive; they are built for 224, <see cref="ZooModel.ImageSize"/>).
    /// </summary>
    /// <exception cref="DistillSharpException">For an unknown name (the message lists the valid names).</exception>
    public static (int Min, int Max) ImageSizes(string name)
    {
        _ = Find(name);
        return name.EndsWith("_imagenet", StringComparison.Ordinal) ? (32, int.MaxValue) : (32, 32);
    }

    /// <summary>
    /// Builds the model and measures it on one image: parameter count, multiply-accumulates of its
    /// convolutions and linear layers, and the shapes of its features and logits (see <see cref="ModelSummary"/>).
    /// </summary>
    /// <param name="name">A registry name from <see cref="Names"/>.</param>
    /// <param name="numClasses">Number of classes (at least 1).</param>
    /// <param name="inChannels">Channels of the input image (at least 1).</param>
    /// <param name="imageSize">Side of the square input image: 32 for the CIFAR models (their pooling is
    /// fixed for it), typically 224 for the ImageNet ResNets.</param>
    /// <exception cref="DistillSharpException">For an unknown name, a bad argument, or an image size the
    /// model cannot take.</exception>
    public static ModelSummary Describe(string name, int numClasses = 100, int inChannels = 3, int imageSize = 32)
    {
        if (imageSize < 1)
            throw new DistillSharpException($"imageSize must be at least 1 (got {imageSize}) for model '{name}'.");
        using var model = Create(name, numClasses, inChannels);
        return ModelSummary.Measure(model, imageSize);
    }

    private static Func<int, int, ZooModel> Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var (entryName, make) in Entries)
        {
            if (entryName == name) return make;
        }
        throw new DistillSharpException(
            $"Unknown model '{name}'.{Suggestion(name)} Valid names: {string.Join(", ", Names)}.");
    }

    /// <summary>A " Did you mean ...?" sentence for an unknown name, or an empty string.</summary>
    internal static string Suggestion(string name)
    {
        if (KnownAliases.TryGetValue(name, out var alias))
            return $" Did you mean '{alias}' (the zoo's name for '{name}')?";
        var caseMatch = Names.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
        if (caseMatch is not null)
            return $" Did you mean '{caseMatch}'? (names are case-sensitive)";
        if (name.Length == 0) return "";
        var lower = name.ToLowerInvariant();
        var (best, distance) = Names
            .Select(n => (Name: n, Distance: EditDistance(lower, n.ToLowerInvariant())))
            .MinBy(p => p.Distance);
        return distance <= Math.Max(2, name.Length / 3) ? $" Did you mean '{best}'?" : "";
    }

    /// <summary>Levenshtein distance (insertions, deletions, substitutions).</summary>
    internal static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
