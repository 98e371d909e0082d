using DistillSharp.Tests.Support;
using DistillSharp.Training;

namespace DistillSharp.Tests.Weights;

/// <summary>A teacher imported from a PyTorch file drives a real distillation run (the smoke profile on Fashion-MNIST).</summary>
[Collection(TrainingCollection.Name)]
public sealed class ImportedTeacherDistillationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("distill-imported-").FullName;

    [Fact]
    public void AnImportedTeacherIsUsableAsTeacher()
    {
        var folder = Path.Combine(_root, "torch");
        Directory.CreateDirectory(folder);
        TorchReference.RunOk("save", "resnet8", "10", "32", folder, "zip", "1");
        var teacher = Path.Combine(_root, "teacher");
        var (code, output, error) = CliHarness.Run("import-weights", Path.Combine(folder, "zip.pt"), "--model", "resnet8", "--dataset", "fashion-mnist", "--out", teacher);
        Assert.True(code == 0, error);
        Assert.Contains("10 classes (fashion-mnist)", output, StringComparison.Ordinal);
        var run = Path.Combine(_root, "kd");
        (code, _, error) = CliHarness.Run("distill", "--method", "kd", "--teacher", teacher, "--student", "resnet8", "--profile", "smoke", "--device", "cpu", "--out", run);
        Assert.True(code == 0, error);
        Assert.True(File.Exists(new RunFolder(run).LastCheckpoint));
        // An imported 3-channel CIFAR teacher does not fit Fashion-MNIST: refused before any data loads.
        Directory.CreateDirectory(Path.Combine(_root, "rgb"));
        TorchReference.RunOk("save", "resnet8", "10", "32", Path.Combine(_root, "rgb"), "zip");
        (code, _, error) = CliHarness.Run("import-weights", Path.Combine(_root, "rgb", "zip.pt"), "--model", "resnet8", "--dataset", "fashion-mnist", "--out", Path.Combine(_root, "x"));
        Assert.Equal(2, code);
        Assert.Contains("'conv1.weight' is [16, 3, 3, 3] in the file, [16, 1, 3, 3] in resnet8", error, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
