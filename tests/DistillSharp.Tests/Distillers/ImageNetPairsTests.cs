using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using DistillSharp.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Distillers;

/// <summary>
/// The ImageNet pairs of the paper profiles, one step each on two 64×64 images (the networks pool adaptively; 224
/// only costs time): LONDON's resnet152_imagenet → resnet50_imagenet with the ImageNet code's settings (four stages,
/// connectors at the teacher's widths 256/512/1024/2048, the /(10000·B) scaling, power iterations from ones) and the
/// projector study's resnet34_imagenet → resnet18_imagenet with <c>srd</c>. The terms are finite and positive, the
/// gradients reach the student and the method's own parts, never the teacher.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class ImageNetPairsTests
{
    private const int Classes = 1000;

    private static (Distiller Method, Dictionary<string, Tensor> Losses) Step(string method, string teacherName, string studentName, Dictionary<string, double> parameters)
    {
        random.manual_seed(5);
        var teacher = ModelZoo.Create(teacherName, Classes);
        var student = ModelZoo.Create(studentName, Classes);
        var labels = tensor(new long[] { 3, 997 });
        var context = new DistillerContext(student, teacher, 2, labels, Classes, 3, 64, 5);
        var d = DistillerRegistry.Create(method, context, parameters);
        d.train();
        using var generator = new Generator(9);
        var images = randn(new long[] { 2, 3, 64, 64 }, generator: generator);
        var step = d.TrainingStep(new Batch(images, labels, arange(2L, dtype: ScalarType.Int64)));
        d.zero_grad();
        step.Total().backward();
        return (d, new Dictionary<string, Tensor>(step.Losses));
    }

    private static void AssertRouted(Distiller d, string ownPrefix)
    {
        var parameters = d.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Contains(parameters.Keys, n => n.StartsWith(ownPrefix, StringComparison.Ordinal));
        Assert.All(parameters.Keys, n => Assert.True(n.StartsWith("student.", StringComparison.Ordinal) || n.StartsWith(ownPrefix, StringComparison.Ordinal), n));
        foreach (var (name, p) in parameters.Where(kv => kv.Key.StartsWith(ownPrefix, StringComparison.Ordinal) && kv.Key.EndsWith("weight", StringComparison.Ordinal)))
        {
            Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"{name} untrained");
        }
        var stem = parameters["student.conv1.weight"];
        Assert.True(stem.grad!.abs().sum().item<float>() > 0, "the student's stem is untrained");
        Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void LondonOnResnet152ToResnet50WithTheImagenetCodesSettingsTrainsTheStudentAndItsConnectors()
    {
        using var scope = NewDisposeScope();
        var (d, losses) = Step("london", "resnet152_imagenet", "resnet50_imagenet",
            new Dictionary<string, double> { ["alpha"] = 2000, ["power_iterations"] = 5, ["random_start"] = 0, ["imagenet_scaling"] = 1 });
        using var _ = d;
        var overhaul = Assert.IsAssignableFrom<FeatureOverhaulDistiller>(d);
        Assert.Equal(4, overhaul.Stages);
        Assert.Equal(new long[] { 256, 512, 1024, 2048 }, Enumerable.Range(0, 4).Select(i => overhaul.Margin(i).shape[0]));
        Assert.Equal(new[] { "ce", "lipschitz", "ofd" }, losses.Keys.Order());
        foreach (var (term, value) in losses) Assert.True(float.IsFinite(value.item<float>()) && value.item<float>() > 0, $"{term}: {value.item<float>()}");
        AssertRouted(d, "Connectors.");
    }

    [Fact]
    public void SrdOnResnet34ToResnet18TrainsTheStudentAndItsProjector()
    {
        using var scope = NewDisposeScope();
        var (d, losses) = Step("srd", "resnet34_imagenet", "resnet18_imagenet", new Dictionary<string, double>());
        using var _ = d;
        Assert.Contains("rep", losses.Keys);
        Assert.Contains("ce", losses.Keys);
        foreach (var (term, value) in losses) Assert.True(float.IsFinite(value.item<float>()), $"{term}: {value.item<float>()}");
        var own = d.named_parameters().Select(p => p.name).First(n => !n.StartsWith("student.", StringComparison.Ordinal));
        AssertRouted(d, own[..(own.IndexOf('.') + 1)]);
    }
}
