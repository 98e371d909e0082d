using static TorchSharp.torch;

namespace DistillSharp.Models;

/// <summary>
/// What a zoo model returns for a batch: the logits and the intermediate representations that the
/// distillers read (RepDistiller's <c>is_feat=True</c> output).
/// </summary>
/// <remarks>
/// <para><see cref="Features"/> mirrors RepDistiller's feature list index for index. For the CIFAR ResNets,
/// ShuffleNets and wide ResNets it is <c>[stem, stage1, stage2, stage3, pooled]</c>; for VGG, MobileNetV2 and
/// the ResNet18/34/50 variants (CIFAR and ImageNet) it has one more stage: <c>[stem, s1, s2, s3, s4, pooled]</c>. Each
/// model's <see cref="ZooModel"/> documentation gives the exact list.</para>
/// <para><see cref="PreActFeatures"/> is the list RepDistiller returns with <c>preact=True</c>: stage outputs
/// taken before the final ReLU of the stage's last block. Entries that have no pre-activation form are the
/// very same tensor objects as in <see cref="Features"/> (the stem of the CIFAR models, the pooled vector,
/// and every entry of MobileNetV2, exactly as RepDistiller returns them). The PyramidNets follow LONDON's official
/// <c>extract_feature(preReLU=True)</c> instead, whose stage entries 1 and 2 are taken inside the next stage's first
/// block (with bottlenecks they have that block's width, <see cref="ZooModel.PreActFeatureChannels"/>).</para>
/// <para><see cref="Pooled"/> is the penultimate vector (batch x channels) fed to the classifier; it is the
/// same tensor as the last entry of <see cref="Features"/>.</para>
/// <para>The tensors belong to the caller's dispose scope, like any other result of a forward pass.</para>
/// </remarks>
/// <param name="Logits">Classifier output, batch x classes.</param>
/// <param name="Features">Stage features after their activation, ending with the pooled vector.</param>
/// <param name="PreActFeatures">The same list with pre-activation stage outputs where the reference has them.</param>
/// <param name="Pooled">The penultimate (pooled) feature vector, batch x channels.</param>
public sealed record ModelOutput(
    Tensor Logits,
    IReadOnlyList<Tensor> Features,
    IReadOnlyList<Tensor> PreActFeatures,
    Tensor Pooled);
