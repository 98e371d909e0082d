using DistillSharp.Models;
using DistillSharp.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Models;

/// <summary>
/// Every zoo network takes one plain training step: train mode, a forward of two random images at the model's own
/// <see cref="ZooModel.ImageSize"/> (224 for the ImageNet ResNets), cross-entropy, backward, one SGD step. A native
/// crash in a backward kernel kills the test process (libtorch 2.10's oneDNN once died with SIGFPE in the backward of
/// strided 1x1 convolutions, on every model with projection shortcuts), so the step is run for each model by name.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class ModelZooTrainingStepTests
{
    public static TheoryData<string> AllModels => [.. ModelZoo.Names];

    [Theory]
    [MemberData(nameof(AllModels))]
    public void OneSgdStepGivesFiniteGradientsAndMovesTheClassifier(string name)
    {
        random.manual_seed(17);
        using var model = ModelZoo.Create(name, 10);
        model.train();
        using var generator = new Generator(23);
        int size = model.ImageSize;
        using var scope = NewDisposeScope();
        var x = randn(new long[] { 2, 3, size, size }, generator: generator);
        var y = tensor(new long[] { 3, 7 });
        var classifierBefore = model.Classifier.weight!.detach().clone();
        using var optimizer = optim.SGD(model.parameters(), 0.1);

        optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(model.call(x).Logits, y);
        var value = loss.item<float>();
        Assert.True(float.IsFinite(value), $"{name}: loss {value}");
        loss.backward();
        foreach (var (key, p) in model.named_parameters())
        {
            Assert.True(p.grad is not null, $"{name}: no gradient for {key}");
            Assert.True(p.grad!.isfinite().all().item<bool>(), $"{name}: non-finite gradient for {key}");
        }
        optimizer.step();

        Assert.True(model.named_parameters().All(p => p.parameter.isfinite().all().item<bool>()), $"{name}: non-finite weights after the step");
        var moved = (model.Classifier.weight!.detach() - classifierBefore).abs().max().item<float>();
        Assert.True(moved > 0, $"{name}: the classifier's weights did not change");
    }
}
