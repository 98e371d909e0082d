using DistillSharp.Models;
using DistillSharp.Tests.Support;
using DistillSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Weights;

/// <summary>PyTorch's files for one network, written once per test class by weights_reference.py save.</summary>
public sealed class SavedByPyTorch : IDisposable
{
    private readonly Dictionary<string, Lazy<string>> _folders = [];

    public string Root { get; } = Directory.CreateTempSubdirectory("distill-weights-").FullName;

    /// <summary>The folder holding MODEL's files (zip.pt, legacy.pt, ..., input.bin, logits.bin).</summary>
    public string For(string model, int classes, int size, string formats = "all")
    {
        Lazy<string> lazy;
        lock (_folders)
        {
            if (!_folders.TryGetValue(model, out lazy!))
            {
                lazy = new Lazy<string>(() =>
                {
                    var folder = Path.Combine(Root, model);
                    Directory.CreateDirectory(folder);
                    if (model == "malicious")
                    {
                        TorchReference.RunOk("malicious", folder, Path.Combine(folder, "MARKER"));
                        return folder;
                    }
                    TorchReference.RunOk("save", model, classes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        size.ToString(System.Globalization.CultureInfo.InvariantCulture), folder, formats);
                    return folder;
                });
                _folders[model] = lazy;
            }
        }
        return lazy.Value;
    }

    /// <summary>The folder of the crafted pickles (weights_reference.py malicious), whose payload would create MARKER.</summary>
    public string Malicious() => For("malicious", 0, 0);

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// Teachers from PyTorch and back, checked against PyTorch itself (Debian's 1.13 running the independent transcriptions
/// of tests/reference/zoo_reference.py): files saved by torch.save in every form are imported with <c>distill
/// import-weights</c> and give PyTorch's logits to 1e-4; files written by <c>distill export-weights</c> load into the
/// reference definitions with strict=True and give DistillSharp's logits; malicious pickles are refused.
/// </summary>
public sealed class PyTorchWeightsTests(SavedByPyTorch saved) : IClassFixture<SavedByPyTorch>
{
    public static TheoryData<string, string> ImportCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in new[] { "resnet8x4", "wrn_40_2" })
        {
            foreach (var file in new[] { "zip.pt", "legacy.pt", "model-dict.pt", "dataparallel.pt", "weights.safetensors" }) data.Add(model, file);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ImportCases))]
    public void ImportedCifarTeacherGivesPyTorchsLogits(string model, string file)
    {
        var folder = saved.For(model, 100, 32);
        var ckpt = Path.Combine(saved.Root, $"{model}-{file}.ckpt");
        var (code, output, error) = CliHarness.Run("import-weights", Path.Combine(folder, file), "--model", model, "--out", ckpt);
        Assert.True(code == 0, error);
        Assert.Contains("100 classes (cifar100)", output, StringComparison.Ordinal);
        AssertLogits(ckpt, folder, 32);
    }

    [Fact]
    public void ImportIntoARunFolderServesAsTeacher()
    {
        var folder = saved.For("resnet8x4", 100, 32);
        var run = Path.Combine(saved.Root, "run-resnet8x4");
        var (code, _, error) = CliHarness.Run("import-weights", Path.Combine(folder, "legacy.pt"), "--model", "resnet8x4", "--classes", "100", "--out", run);
        Assert.True(code == 0, error);
        var ckpt = Checkpoint.ResolveTeacher(run);
        Assert.Equal(new RunFolder(run).LastCheckpoint, ckpt);
        var header = Checkpoint.ReadHeader(ckpt);
        Assert.Equal(("resnet8x4", 100, 3, "cifar100"), (header.Model, header.NumClasses, header.InChannels, header.Dataset));
        AssertLogits(ckpt, folder, 32);
    }

    [Theory]
    [InlineData("resnet8x4")]
    [InlineData("wrn_40_2")]
    public void ExportedWeightsLoadIntoTheReferenceDefinitionWithTheSameLogits(string model)
    {
        var dir = Path.Combine(saved.Root, "export-" + model);
        Directory.CreateDirectory(dir);
        using (var net = ModelZoo.Create(model, 100))
        {
            Perturb(net);
            net.eval();
            var ckpt = Path.Combine(dir, "net.ckpt");
            Checkpoint.SaveModel(ckpt, new CheckpointHeader(model, 100, 3, "cifar100", "student", 1, 1, 50.0), net);
            var (code, _, error) = CliHarness.Run("export-weights", ckpt, "--out", Path.Combine(dir, "net.pt"));
            Assert.True(code == 0, error);
            using var x = torch.randn(2, 3, 32, 32, generator: new Generator(5));
            using var _ = torch.no_grad();
            var output = net.call(x);
            TorchReference.WriteFloats(Path.Combine(dir, "input.bin"), x);
            TorchReference.WriteFloats(Path.Combine(dir, "logits.bin"), output.Logits);
        }
        var said = TorchReference.RunOk("check", model, "100", Path.Combine(dir, "net.pt"), Path.Combine(dir, "input.bin"), Path.Combine(dir, "logits.bin"));
        Assert.Contains("max |logits difference|", said, StringComparison.Ordinal);
    }

    [Fact]
    public void TorchvisionLayoutResNet18RoundTrips()
    {
        var folder = saved.For("resnet18_imagenet", 100, 32, "zip");
        var ckpt = Path.Combine(saved.Root, "resnet18.ckpt");
        var (code, output, error) = CliHarness.Run("import-weights", Path.Combine(folder, "zip.pt"), "--model", "resnet18_imagenet", "--out", ckpt,
            "--dataset", "cifar100");
        Assert.True(code == 0, error);
        Assert.Contains("122 tensors", output, StringComparison.Ordinal);
        AssertLogits(ckpt, folder, 32);
        var back = Path.Combine(saved.Root, "resnet18-back.pt");
        (code, _, error) = CliHarness.Run("export-weights", ckpt, "--out", back);
        Assert.True(code == 0, error);
        TorchReference.RunOk("check", "resnet18_imagenet", "100", back, Path.Combine(folder, "input.bin"), Path.Combine(folder, "logits.bin"));
    }

    [Theory]
    [InlineData("os-system.pt", "posix.system")]
    [InlineData("builtins-eval.pt", "__builtin__.eval")] // protocol 2 spells builtins as Python 2 did
    [InlineData("own-class.pt", "__main__.OwnClass")]
    [InlineData("stack-global.pt", "posix.system")]
    public void APickleNamingAnyOtherGlobalIsRefusedAndNothingRuns(string file, string global)
    {
        var folder = saved.Malicious();
        var (code, _, error) = CliHarness.Run("import-weights", Path.Combine(folder, file), "--model", "resnet8x4", "--out", Path.Combine(folder, file + ".ckpt"));
        Assert.Equal(2, code);
        Assert.Contains($"'{global}'", error, StringComparison.Ordinal);
        Assert.Contains("refused", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder, "MARKER")), "the pickle's payload ran");
        Assert.False(File.Exists(Path.Combine(folder, file + ".ckpt")));
    }

    [Fact]
    public void AMissingUnexpectedOrMisshapedTensorIsAnErrorNamingIt()
    {
        var folder = saved.For("wrn_40_2", 100, 32);
        var source = Path.Combine(folder, "zip.pt");
        // wrn_40_1 has the same keys with half the channels: every shape is named with both sizes.
        var (code, _, error) = CliHarness.Run("import-weights", source, "--model", "wrn_40_1", "--out", Path.Combine(saved.Root, "x.ckpt"));
        Assert.Equal(2, code);
        Assert.Contains("'block1.layer.0.conv1.weight' is [32, 16, 3, 3] in the file, [16, 16, 3, 3] in wrn_40_1", error, StringComparison.Ordinal);
        // wrn_16_2 has fewer blocks: the file's extra blocks are unexpected.
        (code, _, error) = CliHarness.Run("import-weights", source, "--model", "wrn_16_2", "--out", Path.Combine(saved.Root, "x.ckpt"));
        Assert.Equal(2, code);
        Assert.Contains("unexpected 'block1.layer.2.bn1.weight'", error, StringComparison.Ordinal);
        // The resnet8x4 file lacks nothing of resnet8x4 but has no wrn key: missing ones are named.
        (code, _, error) = CliHarness.Run("import-weights", Path.Combine(saved.For("resnet8x4", 100, 32), "zip.pt"), "--model", "resnet32x4", "--out", Path.Combine(saved.Root, "x.ckpt"));
        Assert.Equal(2, code);
        Assert.Contains("missing 'layer1.1.conv1.weight'", error, StringComparison.Ordinal);
        (code, _, error) = CliHarness.Run("import-weights", source, "--model", "wrn_40_2", "--classes", "10", "--out", Path.Combine(saved.Root, "x.ckpt"));
        Assert.Equal(2, code);
        Assert.Contains("--classes 10, but", error, StringComparison.Ordinal);
        Assert.Contains("100 outputs", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(saved.Root, "x.ckpt")));
    }

    /// <summary>
    /// A .safetensors file (written here in the format's layout: an 8-byte little-endian header length, the JSON index,
    /// the raw bytes) holding a U16 tensor beside an F32 one: refused naming the tensor and its dtype, nothing written.
    /// </summary>
    [Fact]
    public void ASafetensorsTensorOfADtypeTheImporterDoesNotReadIsRefusedByName()
    {
        string file = Path.Combine(saved.Root, "u16.safetensors");
        var index = System.Text.Encoding.UTF8.GetBytes(
            "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"counts\":{\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[8,12]}}");
        using (var stream = File.Create(file))
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write((ulong)index.Length);
            writer.Write(index);
            writer.Write(new byte[12]);
        }
        var (code, _, error) = CliHarness.Run("import-weights", file, "--model", "resnet8", "--out", Path.Combine(saved.Root, "u16.ckpt"));
        Assert.Equal(2, code);
        Assert.Contains("'counts' is of dtype U16, which this importer does not read (it reads F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(saved.Root, "u16.ckpt")));
    }

    private static void AssertLogits(string ckpt, string folder, int size)
    {
        var (net, _) = Checkpoint.LoadModel(ckpt);
        using (net)
        {
            net.eval();
            using var x = TorchReference.ReadFloats(Path.Combine(folder, "input.bin"), 2, 3, size, size);
            using var expected = TorchReference.ReadFloats(Path.Combine(folder, "logits.bin"), 2, net.NumClasses);
            using var _ = torch.no_grad();
            var output = net.call(x);
            double diff = (output.Logits - expected).abs().max().item<float>();
            Assert.True(diff <= 1e-4, $"largest logit difference {diff} (scale {expected.abs().max().item<float>()})");
        }
    }

    /// <summary>Random weights and batch-norm statistics, so that a swapped or skipped tensor changes the logits.</summary>
    private static void Perturb(ZooModel net)
    {
        using var _ = torch.no_grad();
        var g = new Generator(11);
        foreach (var (key, t) in net.OrderedStateDict())
        {
            if (t.dtype != ScalarType.Float32) continue;
            if (key.EndsWith("running_var", StringComparison.Ordinal)) t.copy_(torch.rand(t.shape, generator: g) + 0.5);
            else if (key.Contains("bn", StringComparison.Ordinal) && key.EndsWith("weight", StringComparison.Ordinal))
            {
                t.copy_(torch.rand(t.shape, generator: g) * 0.5 + 0.25);
            }
            else
            {
                t.add_(torch.randn(t.shape, generator: g) * 0.05);
            }
        }
    }
}
