using DistillSharp.Cli;
using DistillSharp.Data;
using DistillSharp.Tests.Data;
using DistillSharp.Tests.Support;
using DistillSharp.Training;

namespace DistillSharp.Tests.Cli;

/// <summary>
/// A data folder the user names (--data-dir or DISTILL_DATA) is the only one read: before, a folder missing one file
/// of Fashion-MNIST silently fell back to /usr/share/datasets while config.json recorded the user's folder.
/// </summary>
[Collection(TrainingCollection.Name)]   // one test sets DISTILL_DATA, which the other collections must not see
public sealed class DataFolderTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-datadir-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>Fashion-MNIST in the real format with 20 training and 8 test images; <paramref name="without"/> left out.</summary>
    private string SmallFashionMnist(string name, string? without = null)
    {
        string data = Path.Combine(root, name);
        string folder = Directory.CreateDirectory(Path.Combine(data, "fashion-mnist")).FullName;
        var files = new Dictionary<string, byte[]>
        {
            ["train-images-idx3-ubyte.gz"] = Formats.Gzip(Formats.IdxImages(20, 28, 28)),
            ["train-labels-idx1-ubyte.gz"] = Formats.Gzip(Formats.IdxLabels(Enumerable.Range(0, 20).Select(i => (byte)(i % 10)).ToArray())),
            ["t10k-images-idx3-ubyte.gz"] = Formats.Gzip(Formats.IdxImages(8, 28, 28)),
            ["t10k-labels-idx1-ubyte.gz"] = Formats.Gzip(Formats.IdxLabels([0, 1, 2, 3, 4, 5, 6, 7])),
        };
        foreach (var (file, bytes) in files.Where(f => f.Key != without)) File.WriteAllBytes(Path.Combine(folder, file), bytes);
        return data;
    }

    [Fact]
    public void AMissingFileInTheDataDirIsNamedAndNothingElseIsRead()
    {
        string data = SmallFashionMnist("data", without: "t10k-labels-idx1-ubyte.gz");
        string run = Path.Combine(root, "run");
        var (code, _, err) = CliHarness.Run("train", "--profile", "smoke", "--model", "resnet8", "--data-dir", data, "--device", "cpu", "--out", run);
        Assert.Equal(CliApp.UsageError, code);
        Assert.Equal(
            $"error: dataset 'fashion-mnist' (Fashion-MNIST) is incomplete in {Path.Combine(data, "fashion-mnist")}: t10k-labels-idx1-ubyte[.gz] is missing, " +
            $"and the folder --data-dir names is the only one read. Fetch it there with: bash data-scripts/fashion-mnist.sh {data} " +
            "(or leave out --data-dir to read Debian's dataset-fashion-mnist from /usr/share/datasets/fashion-mnist).",
            err.Trim());
        Assert.False(Directory.Exists(run));                                                  // no config.json naming a folder that was not read
        Assert.Equal(3, Directory.GetFiles(Path.Combine(data, "fashion-mnist")).Length);      // and nothing fetched into it
    }

    [Fact]
    public void AMissingFileInTheDistillDataFolderIsNamedToo()
    {
        string data = SmallFashionMnist("env-data", without: "train-images-idx3-ubyte.gz");
        var before = Environment.GetEnvironmentVariable(DataLocation.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(DataLocation.EnvironmentVariable, data);
            var (code, _, err) = CliHarness.Run("train", "--profile", "smoke", "--model", "resnet8", "--device", "cpu", "--out", Path.Combine(root, "run"));
            Assert.Equal(CliApp.UsageError, code);
            Assert.Equal(
                $"error: dataset 'fashion-mnist' (Fashion-MNIST) is incomplete in {Path.Combine(data, "fashion-mnist")}: train-images-idx3-ubyte[.gz] is missing, " +
                $"and the folder DISTILL_DATA names is the only one read. Fetch it there with: bash data-scripts/fashion-mnist.sh {data} " +
                "(or unset DISTILL_DATA to read Debian's dataset-fashion-mnist from /usr/share/datasets/fashion-mnist).",
                err.Trim());
        }
        finally
        {
            Environment.SetEnvironmentVariable(DataLocation.EnvironmentVariable, before);
        }
    }

    [Fact]
    public void TheNamedFolderIsWhatTrainAndEvalRead()
    {
        // A complete small set in the named folder: training and evaluation read its 8 test images, not a system copy.
        string data = SmallFashionMnist("data");
        string run = Path.Combine(root, "run");
        var t = CliHarness.Run("train", "--profile", "smoke", "--model", "resnet8", "--data-dir", data, "--subset", "20", "--test-subset", "8",
            "--device", "cpu", "--out", run);
        Assert.True(t.Code == 0, t.Err);
        var e = CliHarness.Run("eval", "--checkpoint", run, "--data-dir", data, "--device", "cpu");
        Assert.True(e.Code == 0, e.Err);
        Assert.Contains("resnet8 on fashion-mnist test (8 images)", e.Out);

        // An empty named folder: eval says where it looked, and Fashion-MNIST is not downloaded into it.
        string empty = Directory.CreateDirectory(Path.Combine(root, "empty")).FullName;
        var missing = CliHarness.Run("eval", "--checkpoint", new RunFolder(run).LastCheckpoint, "--data-dir", empty, "--device", "cpu");
        Assert.Equal(CliApp.UsageError, missing.Code);
        Assert.Equal(
            $"error: dataset 'fashion-mnist' (Fashion-MNIST) was not found in {empty}, the folder --data-dir names and the only one read: " +
            "looked for train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] " +
            $"in {Path.Combine(empty, "fashion-mnist")}. Fetch it there with: bash data-scripts/fashion-mnist.sh {empty} " +
            "(or leave out --data-dir to read Debian's dataset-fashion-mnist from /usr/share/datasets/fashion-mnist).",
            missing.Err.Trim());
        Assert.Empty(Directory.GetFileSystemEntries(empty));
    }
}
