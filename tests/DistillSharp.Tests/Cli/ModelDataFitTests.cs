using DistillSharp.Cli;
using DistillSharp.Models;
using DistillSharp.Tests.Data;
using DistillSharp.Tests.Support;
using DistillSharp.Training;

namespace DistillSharp.Tests.Cli;

/// <summary>
/// A network meets a dataset of another shape (classes, channels, image size): libtorch would abort the process
/// (exit 134) at the first batch; the command must refuse before that with one line naming both shapes.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class ModelDataFitTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-fit-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private static void AssertOneLineError(string expected, (int Code, string Out, string Err) run)
    {
        Assert.Equal(CliApp.UsageError, run.Code);
        Assert.Equal("error: " + expected, run.Err.Trim());
    }

    [DebianFashionMnistFact]
    public void EvalAndDistillRefuseADatasetOfAnotherShapeBeforeAnyBatch()
    {
        // A 10-class, 1-channel network from Fashion-MNIST, and CIFAR-100 files in the real format in a data folder.
        string fashion = Path.Combine(root, "fashion");
        var t = Run("train", "--profile", "smoke", "--model", "resnet8", "--device", "cpu", "--out", fashion);
        Assert.True(t.Code == 0, t.Err);
        string data = Path.Combine(root, "data");
        Formats.WriteCifar100(data);
        string fashionCheckpoint = new RunFolder(fashion).LastCheckpoint;

        AssertOneLineError(
            $"checkpoint {fashionCheckpoint} holds resnet8 for 10 classes and 1 channel (fashion-mnist); " +
            "cifar100 has 100 classes and 3 channels: evaluate it on a dataset of that shape (--dataset fashion-mnist).",
            Run("eval", "--checkpoint", fashion, "--dataset", "cifar100", "--data-dir", data, "--device", "cpu"));

        AssertOneLineError(
            $"checkpoint {fashionCheckpoint} holds resnet8 for 10 classes, 1 channel and 32x32 images (fashion-mnist); " +
            "imagenet has 1000 classes, 3 channels and 224x224 images: evaluate it on a dataset of that shape (--dataset fashion-mnist).",
            Run("eval", "--checkpoint", fashion, "--dataset", "imagenet", "--device", "cpu"));

        // The same teacher for a distillation on CIFAR-100: refused before a run folder is made.
        string student = Path.Combine(root, "kd");
        AssertOneLineError(
            $"teacher {fashion} holds resnet8 for 10 classes and 1 channel (fashion-mnist); cifar100 has 100 classes and 3 channels: " +
            "distil on a dataset of that shape (--dataset fashion-mnist), or first train a teacher on cifar100 (distill train --dataset cifar100).",
            Run("distill", "--method", "kd", "--teacher", fashion, "--student", "resnet8", "--profile", "smoke",
                "--dataset", "cifar100", "--data-dir", data, "--device", "cpu", "--out", student));
        Assert.False(Directory.Exists(student));

        // A 100-class, 3-channel network trained on those files, evaluated on Fashion-MNIST.
        string cifar = Path.Combine(root, "cifar");
        var c = Run("train", "--profile", "smoke", "--model", "resnet8", "--dataset", "cifar100", "--data-dir", data, "--device", "cpu", "--out", cifar);
        Assert.True(c.Code == 0, c.Err);
        AssertOneLineError(
            $"checkpoint {new RunFolder(cifar).LastCheckpoint} holds resnet8 for 100 classes and 3 channels (cifar100); " +
            "fashion-mnist has 10 classes and 1 channel: evaluate it on a dataset of that shape (--dataset cifar100).",
            Run("eval", "--checkpoint", cifar, "--dataset", "fashion-mnist", "--device", "cpu"));
    }

    [Fact]
    public void AStudentThatCannotTakeTheImageSizeIsRefusedBeforeTheDataIsRead()
    {
        string folder = Path.Combine(root, "never");
        AssertOneLineError(
            "network resnet8 takes 32x32 images; imagenet has 224x224 images: choose a network that takes them " +
            "('distill zoo' lists each one's input; the *_imagenet ResNets take 32x32 and larger).",
            Run("train", "--profile", "smoke", "--model", "resnet8", "--dataset", "imagenet", "--device", "cpu", "--out", folder));
        Assert.False(Directory.Exists(folder));
    }

    [Theory]
    [InlineData("resnet8", 32, 32)]
    [InlineData("wrn_40_2", 32, 32)]
    [InlineData("resnet18_imagenet", 32, int.MaxValue)]
    public void TheZooKnowsEachModelsImageSizesWithoutBuildingIt(string name, int min, int max)
    {
        Assert.Equal((min, max), ModelZoo.ImageSizes(name));
        using var model = ModelZoo.Create(name, 10);
        Assert.InRange(model.ImageSize, min, max);
    }
}
