using System.Globalization;
using DistillSharp.Models;
using DistillSharp.Tests.Data;
using DistillSharp.Tests.Support;
using DistillSharp.Training;
using TorchSharp;

namespace DistillSharp.Tests.Weights;

/// <summary>
/// ImageNet end to end: a torchvision-layout resnet34 written by PyTorch (1000 classes, seeded weights and batch-norm
/// statistics) is imported as a teacher, gives PyTorch's logits at 224×224, and distils resnet18_imagenet with kd for a
/// few steps over an ImageNet-layout folder of JPEGs (train/ and val/ by synset), which reports test top-1 and top-5.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class ImportedImageNetTeacherTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("distill-imagenet-e2e-").FullName;

    [Fact]
    public void AnImportedResnet34TeacherDistilsResnet18OnAnImageNetFolder()
    {
        var torchFolder = Path.Combine(_root, "torch");
        Directory.CreateDirectory(torchFolder);
        TorchReference.RunOk("save", "resnet34_imagenet", "1000", "224", torchFolder, "zip");
        var teacher = Path.Combine(_root, "resnet34.ckpt");
        var (code, output, error) = CliHarness.Run("import-weights", Path.Combine(torchFolder, "zip.pt"), "--model", "resnet34_imagenet",
            "--dataset", "imagenet", "--out", teacher);
        Assert.True(code == 0, error + output);
        Assert.Contains("1000 classes (imagenet)", output, StringComparison.Ordinal);

        // The imported network computes PyTorch's function: its logits on PyTorch's input batch.
        var (net, _) = Checkpoint.LoadModel(teacher);
        using (net)
        {
            net.eval();
            using var x = TorchReference.ReadFloats(Path.Combine(torchFolder, "input.bin"), 2, 3, 224, 224);
            using var expected = TorchReference.ReadFloats(Path.Combine(torchFolder, "logits.bin"), 2, 1000);
            using var _ = torch.no_grad();
            var logits = net.call(x).Logits;
            double scale = expected.abs().max().item<float>();
            double diff = (logits - expected).abs().max().item<float>();
            Assert.True(diff <= 1e-4 * Math.Max(1, scale), $"largest logit difference {diff} at logit scale {scale}");
        }

        // Three classes of 4 JPEGs (64×80) in train/, 2 per class in val/, as data-scripts/imagenet.sh lays them out.
        var data = Path.Combine(_root, "data");
        ImageFiles.ImageNet(data, ["n01440764", "n01443537", "n01484850"], train: 4, val: 2, width: 64, height: 80);
        var run = Path.Combine(_root, "kd");
        (code, output, error) = CliHarness.Run("distill", "--method", "kd", "--teacher", teacher, "--student", "resnet18_imagenet",
            "--dataset", "imagenet", "--data-dir", data, "--full-data", "--epochs", "1", "--batch-size", "4", "--lr", "0.01",
            "--device", "cpu", "--decode-threads", "2", "--out", run);
        Assert.True(code == 0, error + output);
        var metrics = File.ReadAllLines(new RunFolder(run).Metrics);
        Assert.Equal(2, metrics.Length);
        var header = metrics[0].Split(',');
        var row = metrics[1].Split(',');
        double Column(string name) => double.Parse(row[Array.IndexOf(header, name)], CultureInfo.InvariantCulture);
        Assert.True(Column("loss_kd") > 0, "the kd term is in the metrics and positive");
        double top1 = Column("test_top1"), top5 = Column("test_top5");
        Assert.InRange(top5, top1, 100);
        // Six validation images: each accuracy is a whole number of them.
        Assert.Equal(0, Math.Round(top1 * 6 / 100, 6) % 1);
        Assert.Equal(0, Math.Round(top5 * 6 / 100, 6) % 1);

        // Evaluating the distilled student again gives the run's own numbers.
        var again = Experiment.Evaluate(new RunFolder(run).LastCheckpoint, null, data, 256, "cpu");
        Assert.Equal(("imagenet", 6L), (again.Dataset, again.Images));
        Assert.Equal(top1, again.Top1, 2);
        Assert.Equal(top5, again.Top5, 2);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
