using DistillSharp.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Models;

/// <summary>Errors, initialization and runtime behaviour of the zoo models.</summary>
public sealed class ModelZooBehaviourTests
{
    [Theory]
    [InlineData("resnet200", "resnet20")]
    [InlineData("wrn40_2", "wrn_40_2")]
    [InlineData("resnet18", "ResNet18")]
    [InlineData("mobile_half", "MobileNetV2")]
    [InlineData("vgg13_bn", "vgg13")]
    public void UnknownNameListsValidNamesAndSuggestsTheClosest(string name, string suggestion)
    {
        var e = Assert.Throws<DistillSharpException>(() => ModelZoo.Create(name, 100));
        Assert.Contains($"'{name}'", e.Message);
        Assert.Contains($"Did you mean '{suggestion}'", e.Message);
        foreach (var valid in ModelZoo.Names) Assert.Contains(valid, e.Message);
    }

    [Fact]
    public void FarOffNameGetsNoSuggestion()
    {
        var e = Assert.Throws<DistillSharpException>(() => ModelZoo.Describe("transformer"));
        Assert.DoesNotContain("Did you mean", e.Message);
        Assert.Contains("Valid names: resnet8, ", e.Message);
    }

    [Fact]
    public void BadArgumentsNameTheParameter()
    {
        Assert.Contains("numClasses", Assert.Throws<DistillSharpException>(() => ModelZoo.Create("resnet8", 0)).Message);
        Assert.Contains("inChannels", Assert.Throws<DistillSharpException>(() => ModelZoo.Create("resnet8", 10, 0)).Message);
        Assert.Contains("imageSize", Assert.Throws<DistillSharpException>(() => ModelZoo.Describe("resnet8", imageSize: 0)).Message);
        Assert.Throws<ArgumentNullException>(() => ModelZoo.Create(null!, 10));
    }

    [Fact]
    public void ImageSizeTheModelCannotTakeIsExplained()
    {
        var e = Assert.Throws<DistillSharpException>(() => ModelZoo.Describe("resnet20", imageSize: 64));
        Assert.Contains("resnet20", e.Message);
        Assert.Contains("32x32", e.Message);
    }

    [Fact]
    public void ResNetInitIsKaimingFanOutWithUnitBatchNorms()
    {
        using var model = ModelZoo.Create("resnet20", 100);
        var state = model.OrderedStateDict().ToDictionary(e => e.Key, e => e.Value);
        // 64 output channels, 3x3 kernel: std sqrt(2 / 576); 36,864 samples put the estimate within ~2%.
        AssertStd(state["layer3.1.conv1.weight"], Math.Sqrt(2.0 / (64 * 9)), 0.03);
        AssertStd(state["layer3.0.downsample.0.weight"], Math.Sqrt(2.0 / 64), 0.05);
        foreach (var bn in model.modules().OfType<BatchNorm2d>())
        {
            Assert.Equal(1f, bn.weight!.min().item<float>());
            Assert.Equal(1f, bn.weight!.max().item<float>());
            Assert.Equal(0f, bn.bias!.abs().max().item<float>());
        }
        // The linear layer keeps PyTorch's default: uniform within 1/sqrt(fan_in).
        Assert.True(model.Classifier.weight!.abs().max().item<float>() <= 1 / Math.Sqrt(64));
    }

    [Fact]
    public void WideResNetVggAndMobileNetInitFollowTheirReferences()
    {
        using (var wrn = ModelZoo.Create("wrn_40_2", 100))
        {
            var state = wrn.OrderedStateDict().ToDictionary(e => e.Key, e => e.Value);
            AssertStd(state["block3.layer.1.conv1.weight"], Math.Sqrt(2.0 / (9 * 128)), 0.02);
            Assert.Equal(0f, state["fc.bias"].abs().max().item<float>());
            Assert.True(state["fc.weight"].abs().max().item<float>() <= 1 / Math.Sqrt(128));
        }
        using (var vgg = ModelZoo.Create("vgg13", 100))
        {
            var state = vgg.OrderedStateDict().ToDictionary(e => e.Key, e => e.Value);
            AssertStd(state["block3.0.weight"], Math.Sqrt(2.0 / (9 * 512)), 0.02);
            Assert.Equal(0f, state["block3.0.bias"].abs().max().item<float>());
            AssertStd(state["classifier.weight"], 0.01, 0.05);
            Assert.Equal(0f, state["classifier.bias"].abs().max().item<float>());
        }
        using (var mobile = ModelZoo.Create("MobileNetV2", 100))
        {
            var state = mobile.OrderedStateDict().ToDictionary(e => e.Key, e => e.Value);
            AssertStd(state["conv2.0.weight"], Math.Sqrt(2.0 / 1280), 0.02);
            AssertStd(state["classifier.0.weight"], 0.01, 0.02);
        }
    }

    [Fact]
    public void ShuffleNetsKeepDefaultInit()
    {
        using var model = ModelZoo.Create("ShuffleV1", 100);
        var state = model.OrderedStateDict().ToDictionary(e => e.Key, e => e.Value);
        // PyTorch's default conv init: uniform in +-1/sqrt(fan_in), std bound/sqrt(3).
        var w = state["layer3.0.conv3.weight"];   // 120 -> 480, 3 groups: fan_in 40
        var bound = 1 / Math.Sqrt(40);
        Assert.True(w.abs().max().item<float>() <= bound);
        AssertStd(w, bound / Math.Sqrt(3), 0.03);
    }

    [Fact]
    public void ForwardLeavesNoTensorOutsideTheCallersScope()
    {
        using var model = ModelZoo.Create("wrn_16_2", 10);
        using var x = torch.randn(2, 3, 32, 32);
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var scope = torch.NewDisposeScope())
        {
            var output = model.call(x);
            Assert.Equal(5, output.Features.Count);
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void TrainingForwardUpdatesEachBatchNormOnceAndBackpropagates()
    {
        // wrn.py's preact list calls some batch norms a second time; this model reads the values the forward
        // pass computed, so running statistics advance once per step.
        using var model = ModelZoo.Create("wrn_16_1", 10);
        model.train();
        using var scope = torch.NewDisposeScope();
        var output = model.call(torch.randn(4, 3, 32, 32));
        var counters = model.OrderedStateDict().Where(e => e.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal));
        Assert.All(counters, c => Assert.Equal(1L, c.Value.item<long>()));

        var loss = nn.functional.cross_entropy(output.Logits, torch.tensor(new long[] { 0, 1, 2, 3 }))
                   + output.PreActFeatures[1].pow(2).mean();
        loss.backward();
        Assert.All(model.parameters(), p => Assert.NotNull(p.grad));
    }

    [Fact]
    public void ImageNetResNetTakesSmallInputsAndKeepsTheStemBeforeTheMaxPool()
    {
        using var model = ModelZoo.Create("resnet18_imagenet", 10);
        model.eval();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var output = model.call(torch.randn(1, 3, 64, 64));
        Assert.Equal([1L, 64, 32, 32], output.Features[0].shape);        // after the stride-2 stem, before the pool
        Assert.Equal([1L, 64, 16, 16], output.Features[1].shape);
        Assert.Equal(0f, output.PreActFeatures[0].clamp_min(0).sub(output.Features[0]).abs().max().item<float>());
        Assert.Equal(224, model.ImageSize);
    }

    private static void AssertStd(Tensor weight, double expected, double relative)
    {
        var std = weight.to(ScalarType.Float64).std().item<double>();
        Assert.True(Math.Abs(std - expected) <= relative * expected, $"std {std:G4}, expected {expected:G4} (+-{relative:P0})");
    }
}
