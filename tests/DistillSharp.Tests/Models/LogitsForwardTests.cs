using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Models;

/// <summary>
/// The logits-only forward (<see cref="ZooModel.Logits"/>, what evaluation runs) and the logits-and-pooled one
/// (<see cref="ZooModel.LogitsAndPooled"/>, what a KD or CRD teacher runs) against the full forward
/// (<see cref="ZooModel.forward"/>): the same logits and pooled vector bit for bit in eval mode, the same parameter
/// gradients in train mode (the stage outputs it disposes early are still in autograd's graph), and nothing left alive
/// but what they return. One network per family that overrides the early-freeing path (CIFAR ResNet, ResNet18, the
/// ImageNet ResNets with basic blocks and bottlenecks, both PyramidNets), and one that takes the default (vgg8).
/// </summary>
/// <remarks>
/// Both paths run the same kernels on the same data in the same order, so equality is exact: a stage skipped, run
/// twice or fed the wrong tensor changes the logits far beyond zero, and a tensor disposed before autograd saved it
/// throws in backward.
/// </remarks>
public sealed class LogitsForwardTests
{
    public static TheoryData<string> Networks() =>
        ["resnet8", "resnet8x4", "ResNet18", "resnet18_imagenet", "resnet50_imagenet", "pyramidnet110_a84", "pyramidnet200_a240", "vgg8"];

    private static (ZooModel Model, Tensor Images) Build(string name)
    {
        torch.random.manual_seed(17);
        var model = ModelZoo.Create(name, 10);
        var images = torch.randn(3, 3, 32, 32);
        return (model, images);
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void EvalLogitsAreTheFullForwardsAndNothingElseStaysAlive(string name)
    {
        using var scope = NewDisposeScope();
        var (model, images) = Build(name);
        using (model)
        {
            model.eval();
            using var guard = no_grad();
            var expected = model.forward(images);
            long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            var logits = model.Logits(images);
            Assert.Equal(before + 1, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            var (headLogits, pooled) = model.LogitsAndPooled(images);
            Assert.Equal(before + 3, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            AssertSame(name, "logits", expected.Logits, logits);
            AssertSame(name, "logits", expected.Logits, headLogits);
            AssertSame(name, "pooled vector", expected.Pooled, pooled);
        }
    }

    [Theory]
    [InlineData("resnet8x4")]
    [InlineData("ResNet18")]
    [InlineData("resnet50_imagenet")]
    [InlineData("pyramidnet110_a84")]
    public void TrainModeGradientsAreTheFullForwards(string name)
    {
        using var scope = NewDisposeScope();
        var (model, images) = Build(name);
        using (model)
        {
            model.train();
            var weights = torch.randn(3, 10, generator: new Generator(5));
            var full = Gradients(model, () => model.forward(images).Logits, weights);
            var alone = Gradients(model, () => model.Logits(images), weights);
            Assert.Equal(full.Count, alone.Count);
            double largest = full.Max(g => g.abs().max().item<float>());
            Assert.True(largest > 0, "the loss has no gradient");
            for (int i = 0; i < full.Count; i++)
            {
                Assert.True(alone[i].equal(full[i]).all().item<bool>(), $"{name}: gradient {i} differs by {(alone[i] - full[i]).abs().max().item<float>()}");
            }
        }
    }

    private static void AssertSame(string name, string what, Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(actual.equal(expected).all().item<bool>(), $"{name}: {what} differ by {(actual - expected).abs().max().item<float>()}");
    }

    /// <summary>The gradient of Σ weights ⊙ logits with respect to every parameter, copied out.</summary>
    private static List<Tensor> Gradients(ZooModel model, Func<Tensor> logits, Tensor weights)
    {
        model.zero_grad();
        (logits() * weights).sum().backward();
        return [.. model.parameters().Select(p => p.grad!.clone())];
    }
}
