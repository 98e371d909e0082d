using DistillSharp.Cli;
using DistillSharp.Data;
using DistillSharp.Tests.Data;
using DistillSharp.Tests.Support;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Cli;

/// <summary>
/// A subset larger than its split: the message names the option that was given and the size of the split it cuts
/// (before, "--test-subset 20000" was reported as "--subset 20000 ... the training set's size (10000)").
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class SubsetOptionsTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-subset-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [DebianFashionMnistFact]
    public void ATestSubsetLargerThanTheTestSplitNamesTestSubsetAndTheTestSplit()
    {
        var (code, _, err) = CliHarness.Run("train", "--profile", "smoke", "--model", "resnet8", "--test-subset", "20000",
            "--device", "cpu", "--out", Path.Combine(root, "run"));
        Assert.Equal(CliApp.UsageError, code);
        Assert.Equal("error: --test-subset 20000: the test split (fashion-mnist/test) has 10000 images; " +
            "choose a size from 1 to 10000, or leave --test-subset out to use the whole split.", err.Trim());
    }

    [DebianFashionMnistFact]
    public void ATrainingSubsetLargerThanTheTrainingSplitNamesSubsetAndTheTrainingSplit()
    {
        var (code, _, err) = CliHarness.Run("train", "--profile", "smoke", "--model", "resnet8", "--subset", "70000",
            "--device", "cpu", "--out", Path.Combine(root, "run"));
        Assert.Equal(CliApp.UsageError, code);
        Assert.Equal("error: --subset 70000: the training split (fashion-mnist/train) has 60000 images; " +
            "choose a size from 1 to 60000, or leave --subset out to use the whole split.", err.Trim());
    }

    [Fact]
    public void EachSplitOfASmallDataFolderIsNamedWithItsOwnSize()
    {
        // Fashion-MNIST files in the real format with 20 training and 8 test images, in the folder --data-dir names.
        string data = Path.Combine(root, "data");
        string folder = Directory.CreateDirectory(Path.Combine(data, "fashion-mnist")).FullName;
        File.WriteAllBytes(Path.Combine(folder, "train-images-idx3-ubyte.gz"), Formats.Gzip(Formats.IdxImages(20, 28, 28)));
        File.WriteAllBytes(Path.Combine(folder, "train-labels-idx1-ubyte.gz"), Formats.Gzip(Formats.IdxLabels(Enumerable.Range(0, 20).Select(i => (byte)(i % 10)).ToArray())));
        File.WriteAllBytes(Path.Combine(folder, "t10k-images-idx3-ubyte.gz"), Formats.Gzip(Formats.IdxImages(8, 28, 28)));
        File.WriteAllBytes(Path.Combine(folder, "t10k-labels-idx1-ubyte.gz"), Formats.Gzip(Formats.IdxLabels([0, 1, 2, 3, 4, 5, 6, 7])));
        string[] common = ["train", "--profile", "smoke", "--model", "resnet8", "--data-dir", data, "--device", "cpu"];

        // The smoke profile's 512 training images are more than the folder's 20.
        var train = CliHarness.Run([.. common, "--out", Path.Combine(root, "a")]);
        Assert.Equal(CliApp.UsageError, train.Code);
        Assert.Equal("error: --subset 512: the training split (fashion-mnist/train) has 20 images; " +
            "choose a size from 1 to 20, or leave --subset out to use the whole split.", train.Err.Trim());

        var test = CliHarness.Run([.. common, "--subset", "20", "--test-subset", "9", "--out", Path.Combine(root, "b")]);
        Assert.Equal(CliApp.UsageError, test.Code);
        Assert.Equal("error: --test-subset 9: the test split (fashion-mnist/test) has 8 images; " +
            "choose a size from 1 to 8, or leave --test-subset out to use the whole split.", test.Err.Trim());
    }

    [Fact]
    public void TheSplitCanBeGivenWhereTheDatasetsNameDoesNotSayIt()
    {
        using var labels = tensor(new long[] { 0, 1, 0, 1 });
        using var set = new InMemoryImageDataset("held-out", zeros(new long[] { 4, 1, 32, 32 }, ScalarType.Byte), labels.clone(), 2);
        var e = Assert.Throws<DistillSharpException>(() => ClassBalancedSubset.Create(set, 5, 1, split: SubsetSplit.Test));
        Assert.Equal("--test-subset 5: the test split (held-out) has 4 images; choose a size from 1 to 4, or leave --test-subset out to use the whole split.", e.Message);
        e = Assert.Throws<DistillSharpException>(() => ClassBalancedSubset.Create(set, 5, 1));
        Assert.StartsWith("--subset 5: the training split (held-out) has 4 images;", e.Message);
    }
}
