using System.Globalization;
using DistillSharp.Tests.Data;
using DistillSharp.Tests.Support;
using DistillSharp.Training;

namespace DistillSharp.Tests.Training;

/// <summary>
/// The image-folder datasets end to end, on tiny generated folders in their real layouts: the command line and the
/// experiment load them, the trainer trains through the streamed loader, evaluates and writes the run's files.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class ImageFolderTrainingTests
{
    private static readonly string[] CinicClasses = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>
    /// <c>distill train --dataset cinic10 --data-dir DIR</c>: resnet8, one epoch over 60 PNG images (one of them
    /// truncated), 20 test images. The run completes, its metrics have one epoch, and its log warns about the damaged
    /// file by name and gives the epoch's count of skipped images.
    /// </summary>
    [Fact]
    public void ACinicFolderTrainsResnet8ThroughTheCommandLine()
    {
        using var dir = new TempDir();
        ImageFiles.Cinic10(dir.Path, CinicClasses, train: 6, test: 2);
        var bad = dir.File("cinic10", "train", "dog", "train-004.png");
        ImageFiles.Truncate(bad, 0.4);
        var run = dir.File("run");
        var (code, output, err) = CliHarness.Run("train", "--dataset", "cinic10", "--data-dir", dir.Path, "--model", "resnet8", "--full-data",
            "--epochs", "1", "--batch-size", "16", "--lr", "0.05", "--device", "cpu", "--decode-threads", "2", "--out", run);
        Assert.True(code == 0, err + output);
        Assert.Contains($"warning: skipped image {bad}, which is truncated", output);
        Assert.Contains("epoch 1: skipped 1 unreadable training image and 0 test images", output);
        var metrics = File.ReadAllLines(new RunFolder(run).Metrics);
        Assert.Equal(2, metrics.Length);
        var header = metrics[0].Split(',');
        var row = metrics[1].Split(',');
        double top1 = double.Parse(row[Array.IndexOf(header, "test_top1")], CultureInfo.InvariantCulture);
        Assert.InRange(top1, 0, 100);
        Assert.Contains("\"Dataset\": \"cinic10\"", File.ReadAllText(new RunFolder(run).Summary));

        // A class-balanced subset of the folder trains too.
        var subset = CliHarness.Run("train", "--dataset", "cinic10", "--data-dir", dir.Path, "--model", "resnet8", "--subset", "20", "--test-subset", "10",
            "--epochs", "1", "--batch-size", "8", "--device", "cpu", "--out", dir.File("subset"));
        Assert.True(subset.Code == 0, subset.Err + subset.Out);
        Assert.Contains("\"TrainImages\": 20", File.ReadAllText(new RunFolder(dir.File("subset")).Summary));
    }

    /// <summary>
    /// An ImageNet layout (3 classes of 4 JPEGs of 64x80 in train/, 2 per class in val/) trains resnet18_imagenet for
    /// three steps of batch 4 at 224x224 (RandomResizedCrop, flip) and reports test top-1 and top-5 over the 1000-way
    /// classifier (Resize 256, CenterCrop 224); evaluating the saved network again gives the same numbers.
    /// </summary>
    [Fact]
    public void AnImageNetFolderTrainsResnet18ImagenetAndReportsTop1AndTop5()
    {
        using var dir = new TempDir();
        ImageFiles.ImageNet(dir.Path, ["n01440764", "n01443537", "n01484850"], train: 4, val: 2, width: 64, height: 80);
        var spec = new RunSpec
        {
            Method = "none", Student = "resnet18_imagenet", Dataset = "imagenet", DataDir = dir.Path, Device = "cpu", DecodeThreads = 2,
            Options = new TrainingOptions { Epochs = 1, BatchSize = 4, LearningRate = 0.01, Schedule = "cosine", Milestones = [], Seed = 1 },
        };
        var run = dir.File("run");
        var result = Experiment.Run(spec, run);
        var last = result.Last;
        Assert.Equal(1, last.Epoch);
        Assert.InRange(last.TestTop1, 0, 100);
        Assert.InRange(last.TestTop5, last.TestTop1, 100);
        // Six validation images: every accuracy is a whole number of them.
        Assert.Equal(0, Math.Round(last.TestTop1 * 6 / 100, 6) % 1);
        Assert.Equal(0, Math.Round(last.TestTop5 * 6 / 100, 6) % 1);
        Assert.True(double.IsFinite(last.TestLoss));

        var again = Experiment.Evaluate(new RunFolder(run).LastCheckpoint, null, dir.Path, 256, "cpu");
        Assert.Equal(("imagenet", 6L), (again.Dataset, again.Images));
        Assert.Equal(last.TestTop1, again.Top1, 6);
        Assert.Equal(last.TestTop5, again.Top5, 6);
        Assert.Empty(again.Skipped);
    }
}
