using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using DistillSharp.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Distillers;

/// <summary>
/// <c>ofd</c> and <c>london</c> on the PyramidNet and WRN-28-4 pairs of LONDON's official CIFAR-100 settings
/// (load_settings.py e and f: pyramidnet200_a240 → wrn_28_4 and → pyramidnet110_a84), on wrn_28_4 → wrn_16_4 (a),
/// and with the basic PyramidNet as a teacher (pyramidnet110_a84 → wrn_16_2): the connectors map each student stage's
/// pre-activation width to the teacher's (the official get_channel_num on both sides), the margins have the teacher's
/// widths, and one training step on two images sends gradients to the student and the connectors only.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class LondonPairsTests
{
    public static TheoryData<string, string, string, long[], long[]> Pairs()
    {
        var data = new TheoryData<string, string, string, long[], long[]>();
        var pairs = new (string Teacher, string Student, long[] TeacherWidths, long[] StudentWidths)[]
        {
            ("pyramidnet200_a240", "wrn_28_4", [100, 180, 1024], [64, 128, 256]),
            ("pyramidnet200_a240", "pyramidnet110_a84", [100, 180, 1024], [44, 72, 100]),
            ("wrn_28_4", "wrn_16_4", [64, 128, 256], [64, 128, 256]),
            ("pyramidnet110_a84", "wrn_16_2", [44, 72, 100], [32, 64, 128]),
        };
        foreach (var method in new[] { "ofd", "london" })
        {
            foreach (var (t, s, tw, sw) in pairs) data.Add(method, t, s, tw, sw);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void ConnectorsFitThePairAndAStepTrainsTheStudentAndTheConnectorsOnly(
        string method, string teacherName, string studentName, long[] teacherWidths, long[] studentWidths)
    {
        random.manual_seed(5);
        const int classes = 10;
        var teacher = ModelZoo.Create(teacherName, classes);
        var student = ModelZoo.Create(studentName, classes);
        using var labels = tensor(new long[] { 3, 7 });
        var context = new DistillerContext(student, teacher, 2, labels, classes, 3, 32, 5);
        using var d = DistillerRegistry.Create(method, context, new Dictionary<string, double>());
        var overhaul = Assert.IsAssignableFrom<FeatureOverhaulDistiller>(d);
        Assert.Equal(3, overhaul.Stages);

        var parameters = d.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal([teacherWidths[i], studentWidths[i], 1L, 1L], parameters[$"Connectors.{i}.0.weight"].shape);
            Assert.Equal([teacherWidths[i]], parameters[$"Connectors.{i}.1.weight"].shape);
            Assert.Equal([teacherWidths[i]], overhaul.Margin(i).shape);
            Assert.True(overhaul.Margin(i).lt(0).all().item<bool>(), $"margin {i + 1} should be negative");
        }
        Assert.All(parameters.Keys, n => Assert.True(n.StartsWith("student.", StringComparison.Ordinal) || n.StartsWith("Connectors.", StringComparison.Ordinal), n));

        d.train();
        Assert.True(d.Teacher!.training);
        using var generator = new Generator(9);
        using var images = randn(new long[] { 2, 3, 32, 32 }, generator: generator);
        using var indices = arange(2L, dtype: ScalarType.Int64);
        using var scope = NewDisposeScope();
        var step = d.TrainingStep(new Batch(images, labels, indices));
        var expectedTerms = method == "ofd" ? new[] { "ce", "ofd" } : new[] { "ce", "lipschitz", "ofd" };
        Assert.Equal(expectedTerms, step.Losses.Keys.Order());
        foreach (var (term, value) in step.Losses) Assert.True(float.IsFinite(value.item<float>()) && value.item<float>() > 0, $"{term}: {value.item<float>()}");

        d.zero_grad();
        step.Total().backward();
        foreach (var (key, p) in parameters)
        {
            Assert.True(p.grad is not null, $"no gradient for {key}");
            Assert.True(p.grad!.isfinite().all().item<bool>(), $"non-finite gradient for {key}");
        }
        for (int i = 0; i < 3; i++) Assert.True(parameters[$"Connectors.{i}.0.weight"].grad!.abs().sum().item<float>() > 0, $"connector {i} untrained");
        var firstConv = parameters.First(p => p.Key.StartsWith("student.", StringComparison.Ordinal) && p.Value.dim() == 4);
        Assert.True(firstConv.Value.grad!.abs().sum().item<float>() > 0, $"{firstConv.Key} untrained");
        Assert.All(d.Teacher!.parameters(), p => Assert.Null(p.grad));
    }
}
