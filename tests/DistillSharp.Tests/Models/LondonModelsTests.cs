using System.Text.Json;
using DistillSharp.Models;
using DistillSharp.Tests.Support;
using DistillSharp.Tests.Weights;
using DistillSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Models;

/// <summary>
/// The networks of LONDON's official CIFAR-100 settings (wrn_28_4, wrn_16_4, wrn_16_2, resnet56, pyramidnet200_a240,
/// pyramidnet110_a84) against tests/reference/london_models.py, a PyTorch transcription of the official
/// WideResNet.py, ResNet.py and PyramidNet.py: a checkpoint in the official form (what load_settings.py reads),
/// imported with <c>distill import-weights</c>, gives the official logits and both extract_feature lists; the
/// parameter counts are the architecture's closed forms; the feature widths are the official get_channel_num and the
/// batch norms before ReLU the official get_bn_before_relu (but for the basic PyramidNet, where the official list does
/// not fit its own features).
/// </summary>
public sealed class LondonModelsTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-london-models-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static readonly Lazy<JsonElement> GoldenModels = new(() => Golden.Load("london_models.json").GetProperty("models"));

    public static TheoryData<string> OfficialModels => ["wrn_28_4", "wrn_16_4", "wrn_16_2", "resnet56", "pyramidnet110_a84", "pyramidnet200_a240"];

    [Theory]
    [MemberData(nameof(OfficialModels))]
    public void AnOfficialCheckpointImportsAndGivesTheOfficialLogitsAndFeatures(string name)
    {
        var folder = Path.Combine(root, name);
        Directory.CreateDirectory(folder);
        TorchReference.RunScriptOk("london_models_reference.py", "save", name, folder);
        var ckpt = Path.Combine(folder, "imported.ckpt");
        var (code, output, error) = CliHarness.Run("import-weights", Path.Combine(folder, "official.pt"), "--model", name, "--out", ckpt);
        Assert.True(code == 0, error);
        Assert.Contains("100 classes", output, StringComparison.Ordinal);

        var shapes = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "shapes.json"))).RootElement;
        var (model, _) = Checkpoint.LoadModel(ckpt);
        using (model)
        {
            model.eval();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var x = TorchReference.ReadFloats(Path.Combine(folder, "input.bin"), 2, 3, 32, 32);
            var result = model.call(x);
            AssertClose(Read(folder, "logits.bin", shapes.GetProperty("logits")), result.Logits, $"{name} logits");
            for (int i = 0; i < 3; i++)
            {
                AssertClose(Read(folder, $"feat{i + 1}.bin", shapes.GetProperty("feat")[i]), result.Features[i + 1], $"{name} feature {i + 1}");
                AssertClose(Read(folder, $"pre{i + 1}.bin", shapes.GetProperty("pre")[i]), result.PreActFeatures[i + 1], $"{name} preReLU feature {i + 1}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(OfficialModels))]
    public void ParameterCountsWidthsAndBatchNormsAreTheOfficialOnes(string name)
    {
        var golden = GoldenModels.Value.GetProperty(name);
        using var model = ModelZoo.Create(name, 100);
        long closedForm = golden.GetProperty("params_closed_form").GetInt64();
        Assert.Equal(closedForm, model.parameters().Sum(p => p.numel()));
        var published = golden.GetProperty("published").GetDouble();
        Assert.True(Math.Abs(closedForm / 1e6 - published) <= 0.05 * published, $"{name}: {closedForm} parameters, published {published}M");

        var channelNum = golden.GetProperty("official_channel_num").Longs();
        Assert.Equal(channelNum, model.PreActFeatureChannels.Skip(1).Take(3).Select(c => (long)c));
        var paths = model.named_modules().ToList();
        var norms = model.BatchNormsBeforeRelu();
        var actual = norms.Select(bn => paths.Single(p => ReferenceEquals(p.module, bn)).name).ToArray();
        // Each batch norm makes the pre-activation feature of its stage: its width is that feature's.
        Assert.Equal(channelNum, norms.Select(bn => bn.weight!.shape[0]));
        var official = golden.GetProperty("official_bn_before_relu").EnumerateArray().Select(e => e.GetString()!).ToArray();
        if (name == "pyramidnet110_a84")
        {
            // The official list names bn2 of stage 2's and 3's first blocks, whose widths (the blocks' planes) are not
            // those of the features the official extract_feature returns (the blocks' inputs): the bn1 before them.
            Assert.Equal(["layer2.0.bn1", "layer3.0.bn1", "bn_final"], actual);
            Assert.Equal(["layer2.0.bn2", "layer3.0.bn2", "bn_final"], official);
            Assert.NotEqual(channelNum, golden.GetProperty("official_bn_before_relu_channels").Longs());
        }
        else
        {
            Assert.Equal(official, actual);
        }
    }

    [Theory]
    [InlineData("pyramidnet200_a240")]
    [InlineData("pyramidnet110_a84")]
    public void PyramidWidthsGrowAsTheOfficialPlan(string name)
    {
        var golden = GoldenModels.Value.GetProperty(name);
        using var model = ModelZoo.Create(name, 100);
        var state = model.OrderedStateDict().ToDictionary(e => e.Key, e => e.Value.shape);
        int blocks = golden.GetProperty("blocks_per_stage").GetInt32();
        var widths = golden.GetProperty("stage_widths").EnumerateArray().Select(w => w.Longs()).ToArray();
        for (int s = 0; s < 3; s++)
        {
            Assert.Equal(widths[s][0], state[$"layer{s + 1}.0.conv1.weight"][0]);
            Assert.Equal(widths[s][1], state[$"layer{s + 1}.{blocks - 1}.conv1.weight"][0]);
            Assert.False(state.ContainsKey($"layer{s + 1}.{blocks}.conv1.weight"));
        }
        // Stage outputs are the last block's width, times four with bottlenecks.
        long ratio = name == "pyramidnet200_a240" ? 4 : 1;
        Assert.Equal(widths.Select(w => w[1] * ratio), model.FeatureChannels.Skip(1).Take(3).Select(c => (long)c));
    }

    private static Tensor Read(string folder, string file, JsonElement shape) =>
        TorchReference.ReadFloats(Path.Combine(folder, file), shape.Longs());

    /// <summary>Equal to 1e-4 of the tensor's scale (its largest magnitude, at least 1), element by element.</summary>
    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double scale = Math.Max(1, expected.abs().max().item<float>());
        double diff = (actual.contiguous() - expected).abs().max().item<float>();
        Assert.True(diff <= 1e-4 * scale, $"{what}: largest difference {diff:E2} (scale {scale:E2})");
    }
}
