using System.IO.Compression;
using System.Security.Cryptography;
using DistillSharp.Data;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Data;

public sealed class DatasetCatalogTests
{
    [Fact]
    public void NamesAndInfo()
    {
        Assert.Equal(["fashion-mnist", "mnist", "cifar10", "cifar100", "cinic10", "imagenet"], DatasetCatalog.Names);

        var c100 = DatasetCatalog.Info("CIFAR100");
        Assert.Equal(100, c100.NumClasses);
        Assert.Equal([0.5071f, 0.4867f, 0.4408f], c100.Mean);
        Assert.Equal([0.2675f, 0.2565f, 0.2761f], c100.Std);
        Assert.Equal("data-scripts/cifar100.sh", c100.FetchScript);

        var c10 = DatasetCatalog.Info("cifar10");
        Assert.Equal([0.4914f, 0.4822f, 0.4465f], c10.Mean);
        Assert.Equal([0.2470f, 0.2435f, 0.2616f], c10.Std);

        var mnist = DatasetCatalog.Info("mnist");
        Assert.Equal([0.1307f], mnist.Mean);
        Assert.Equal([0.3081f], mnist.Std);
        Assert.Equal((1, 32, 32, 28, 28), (mnist.Channels, mnist.Height, mnist.Width, mnist.StoredHeight, mnist.StoredWidth));
        Assert.False(mnist.HorizontalFlip);
        Assert.Null(mnist.DebianPackage);

        var fashion = DatasetCatalog.Info("fashion-mnist");
        Assert.Equal([0.2860f], fashion.Mean);
        Assert.Equal([0.3530f], fashion.Std);
        Assert.Equal("dataset-fashion-mnist", fashion.DebianPackage);
        Assert.Equal(DatasetCatalog.DefaultName, fashion.Name);

        Assert.False(DatasetCatalog.Info("cinic10").InMemory);
        Assert.False(DatasetCatalog.Info("imagenet").InMemory);
    }

    [Fact]
    public void UnknownNameListsTheNames()
    {
        var e = Assert.Throws<DistillSharpException>(() => DatasetCatalog.Info("cifar1000"));
        Assert.Contains("'cifar1000'", e.Message);
        Assert.Contains("fashion-mnist, mnist, cifar10, cifar100, cinic10, imagenet", e.Message);
    }

    [Theory]
    [InlineData("cinic10", "test", "*.png", "bash data-scripts/cinic10.sh {0}")]
    [InlineData("imagenet", "val", "*.JPEG", "bash data-scripts/imagenet.sh {0} --train ILSVRC2012_img_train.tar --val ILSVRC2012_img_val.tar --devkit ILSVRC2012_devkit_t12.tar.gz (the archives come from https://image-net.org)")]
    public void MissingImageFoldersNameThePathsAndTheDataScript(string name, string test, string files, string command)
    {
        using var dir = new TempDir();
        var root = dir.File("data");
        string fetch = string.Format(System.Globalization.CultureInfo.InvariantCulture, command, root);

        // The data root itself is missing (a named folder: the only one read).
        var named = new DataLocation(root, DataLocationSource.Argument, dir.File("sys"));
        var e = Assert.Throws<DistillSharpException>(() => DatasetCatalog.Load(name, named));
        Assert.Equal($"dataset '{name}' ({DatasetCatalog.Info(name).Title}) was not found in {root}, the folder --data-dir names and the only one read: " +
            $"looked for train/<class>/{files} and {test}/<class>/{files} in {Path.Combine(root, name)}. Fetch it there with: {fetch}.", e.Message);
        Assert.Equal(e.Message, Assert.Throws<DistillSharpException>(() => DatasetCatalog.Check(name, named)).Message);

        // One split folder is missing.
        Directory.CreateDirectory(Path.Combine(root, name, "train"));
        e = Assert.Throws<DistillSharpException>(() => DatasetCatalog.Check(name, named));
        Assert.Equal($"dataset '{name}' ({DatasetCatalog.Info(name).Title}) is incomplete in {Path.Combine(root, name)}: {test}/ is missing, " +
            $"and the folder --data-dir names is the only one read. Fetch it there with: {fetch}.", e.Message);

        // The default location searches ./data, then the system folder, and names both.
        var searched = new DataLocation(dir.File("other"), DataLocationSource.Default, dir.File("sys"));
        e = Assert.Throws<DistillSharpException>(() => DatasetCatalog.Load(name, searched));
        Assert.Contains($"looked for train/<class>/{files} and {test}/<class>/{files} in {dir.File("other", name)} and {dir.File("sys", name)}", e.Message);

        // Both split folders exist but the training split holds no class folder.
        Directory.CreateDirectory(Path.Combine(root, name, test, "c1"));
        e = Assert.Throws<DistillSharpException>(() => DatasetCatalog.Load(name, named));
        Assert.StartsWith($"{Path.Combine(root, name, "train")} holds no class folders", e.Message);
        Assert.EndsWith($"To lay the set out again: {fetch}.", e.Message);
        DatasetCatalog.Check(name, named);   // Check looks at the split folders only

        // A class folder without images.
        Directory.CreateDirectory(Path.Combine(root, name, "train", "c1"));
        e = Assert.Throws<DistillSharpException>(() => DatasetCatalog.Load(name, named));
        Assert.StartsWith($"class folder {Path.Combine(root, name, "train", "c1")} holds no images", e.Message);
        Assert.EndsWith(fetch + ".", e.Message);
    }

    [Fact]
    public void SplitsWithDifferentClassesAreRefused()
    {
        using var dir = new TempDir();
        foreach (var (split, c) in new[] { ("train", "cat"), ("train", "dog"), ("test", "cat"), ("test", "cow") })
            ImageFiles.Png(dir.File("cinic10", split, c, "a.png"), 32, 32, ImageFiles.Numbered(0));
        var e = Assert.Throws<DistillSharpException>(() => DatasetCatalog.Load("cinic10", new DataLocation(dir.Path, DataLocationSource.Argument, null)));
        Assert.StartsWith($"the class folders of {dir.File("cinic10", "train")} and {dir.File("cinic10", "test")} differ; only in train/: dog; only in test/: cow, " +
            "so their labels would not agree.", e.Message);
    }

    [Fact]
    public void MissingCifarNamesPathsAndScript()
    {
        using var dir = new TempDir();
        var location = new DataLocation(dir.File("data"), DataLocationSource.Default, dir.File("sys"));
        var e = Assert.Throws<DistillSharpException>(() => DatasetCatalog.Load("cifar10", location));
        Assert.Contains(Path.Combine(dir.File("data"), "cifar10", "cifar-10-batches-bin"), e.Message);
        Assert.Contains(Path.Combine(dir.File("sys"), "cifar10", "cifar-10-batches-bin"), e.Message);
        Assert.Contains("data_batch_1.bin", e.Message);
        Assert.Contains($"bash data-scripts/cifar10.sh {dir.File("data")}", e.Message);
        Assert.DoesNotContain("apt-get", e.Message);

        e = Assert.Throws<DistillSharpException>(() => DatasetCatalog.Load("cifar100", location, new DatasetLoadOptions { Cifar100Coarse = true }));
        Assert.Contains("cifar-100-binary", e.Message);
        Assert.Contains("bash data-scripts/cifar100.sh", e.Message);
    }

    [Fact]
    public void ANamedFolderIsTheOnlyOneReadAndItsMissingFilesAreNamed()
    {
        using var dir = new TempDir();
        // The system location holds a complete CIFAR-10 (empty files are enough to be found), the named folder part of it.
        var sys = Directory.CreateDirectory(dir.File("sys", "cifar10", "cifar-10-batches-bin")).FullName;
        foreach (var f in new[] { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin" })
            File.WriteAllBytes(Path.Combine(sys, f), []);
        var named = Directory.CreateDirectory(dir.File("data", "cifar10", "cifar-10-batches-bin")).FullName;
        foreach (var f in new[] { "data_batch_1.bin", "data_batch_2.bin", "data_batch_4.bin", "data_batch_5.bin" })
            File.WriteAllBytes(Path.Combine(named, f), []);

        foreach (var (source, by) in new[] { (DataLocationSource.Argument, "--data-dir"), (DataLocationSource.Environment, "DISTILL_DATA") })
        {
            var location = new DataLocation(dir.File("data"), source, dir.File("sys"));
            Assert.Equal([dir.File("data")], location.SearchRoots);
            var e = Assert.Throws<DistillSharpException>(() => DatasetCatalog.Load("cifar10", location));
            Assert.Equal($"dataset 'cifar10' (CIFAR-10) is incomplete in {named}: data_batch_3.bin, test_batch.bin are missing, " +
                $"and the folder {by} names is the only one read. Fetch it there with: bash data-scripts/cifar10.sh {dir.File("data")}.", e.Message);

            e = Assert.Throws<DistillSharpException>(() => DatasetCatalog.Load("cifar100", location));
            Assert.StartsWith($"dataset 'cifar100' (CIFAR-100) was not found in {dir.File("data")}, the folder {by} names and the only one read: " +
                $"looked for train.bin, test.bin in {dir.File("data", "cifar100", "cifar-100-binary")} and {dir.File("data", "cifar-100-binary")}.", e.Message);
            Assert.DoesNotContain(dir.File("sys"), e.Message);
        }
    }

    [Fact]
    public void DamagedCifarFileNamesTheFileAndTheFetchCommand()
    {
        using var dir = new TempDir();
        var folder = Directory.CreateDirectory(dir.File("data", "cifar10", "cifar-10-batches-bin")).FullName;
        foreach (var f in new[] { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin" })
            File.WriteAllBytes(Path.Combine(folder, f), Formats.CifarRecords(1, _ => [1]));
        var e = Assert.Throws<DistillSharpException>(() =>
            DatasetCatalog.Load("cifar10", new DataLocation(dir.File("data"), DataLocationSource.Argument, null)));
        Assert.Contains(Path.Combine(folder, "data_batch_1.bin"), e.Message);
        Assert.Contains("1 records where 10000 are expected", e.Message);
        Assert.Contains("bash data-scripts/cifar10.sh", e.Message);
    }

    [Fact]
    public void MissingFashionMnistWithoutDownloadNamesScriptAndDebianPackage()
    {
        using var dir = new TempDir();
        var location = new DataLocation(dir.File("data"), DataLocationSource.Default, dir.File("sys"));
        var e = Assert.Throws<DistillSharpException>(() =>
            DatasetCatalog.Load("fashion-mnist", location, new DatasetLoadOptions { Download = false }));
        Assert.Contains(Path.Combine(dir.File("data"), "fashion-mnist"), e.Message);
        Assert.Contains(Path.Combine(dir.File("sys"), "fashion-mnist"), e.Message);
        Assert.Contains("train-images-idx3-ubyte", e.Message);
        Assert.Contains("bash data-scripts/fashion-mnist.sh", e.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
        Assert.False(Directory.Exists(dir.File("data")));
    }

    [Fact]
    public void FailedAutomaticDownloadNamesScriptPackageAndCause()
    {
        using var dir = new TempDir();
        var location = new DataLocation(dir.File("data"), DataLocationSource.Default, dir.File("sys"));
        var unreachable = new Uri($"http://127.0.0.1:{LocalHttpServer.FreePort()}/");
        var e = Assert.Throws<DistillSharpException>(() =>
            DatasetCatalog.Load("fashion-mnist", location, new DatasetLoadOptions { DownloadBaseUri = unreachable }));
        Assert.Contains("bash data-scripts/fashion-mnist.sh", e.Message);
        Assert.Contains("dataset-fashion-mnist", e.Message);
        Assert.Contains("automatic download failed", e.Message);
        Assert.Contains("127.0.0.1", e.Message);
        var folder = dir.File("data", "fashion-mnist");
        Assert.True(!Directory.Exists(folder) || Directory.GetFiles(folder).Length == 0);
    }

    [Fact]
    public void MissingFashionMnistIsFetchedVerifiedAndLoaded()
    {
        // Small IDX files in the real format, served over HTTP on the loopback interface.
        var files = new Dictionary<string, byte[]>
        {
            ["train-images-idx3-ubyte.gz"] = Formats.Gzip(Formats.IdxImages(6, 28, 28)),
            ["train-labels-idx1-ubyte.gz"] = Formats.Gzip(Formats.IdxLabels([0, 1, 2, 3, 4, 9])),
            ["t10k-images-idx3-ubyte.gz"] = Formats.Gzip(Formats.IdxImages(2, 28, 28)),
            ["t10k-labels-idx1-ubyte.gz"] = Formats.Gzip(Formats.IdxLabels([5, 6])),
        };
        var remote = files.Select(kv => new RemoteFile(kv.Key, Checksum.Sha256(Convert.ToHexStringLower(SHA256.HashData(kv.Value))))).ToArray();
        using var server = new LocalHttpServer(files);
        using var dir = new TempDir();
        var location = new DataLocation(dir.File("data"), DataLocationSource.Default, dir.File("sys"));
        var log = new StringWriter();

        using var splits = DatasetCatalog.Load("fashion-mnist", location,
            new DatasetLoadOptions { DownloadBaseUri = server.BaseUri, RemoteFilesOverride = remote, Log = log });
        Assert.Equal((6, 2), (splits.Train.Count, splits.Test.Count));
        Assert.Equal((1, 32, 32), (splits.Train.Channels, splits.Train.Height, splits.Train.Width));
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 9 }, splits.Train.Labels.data<long>().ToArray());
        foreach (var name in files.Keys) Assert.True(File.Exists(dir.File("data", "fashion-mnist", name)), name);
        Assert.Contains("fetching it from", log.ToString());

        // A second load finds the files and fetches nothing.
        int before = server.Requests;
        using var again = DatasetCatalog.Load("fashion-mnist", location, new DatasetLoadOptions { DownloadBaseUri = server.BaseUri });
        Assert.Equal(before, server.Requests);
    }

    [Fact]
    public void RawIdxFilesFromTheSystemLocationArePaddedAndLoaded()
    {
        using var dir = new TempDir();
        var sys = Directory.CreateDirectory(dir.File("sys", "mnist")).FullName;
        File.WriteAllBytes(Path.Combine(sys, "train-images-idx3-ubyte"), Formats.IdxImages(4, 28, 28));
        File.WriteAllBytes(Path.Combine(sys, "train-labels-idx1-ubyte"), Formats.IdxLabels([1, 1, 2, 2]));
        File.WriteAllBytes(Path.Combine(sys, "t10k-images-idx3-ubyte.gz"), Formats.Gzip(Formats.IdxImages(1, 28, 28)));
        File.WriteAllBytes(Path.Combine(sys, "t10k-labels-idx1-ubyte.gz"), Formats.Gzip(Formats.IdxLabels([7])));
        using var splits = DatasetCatalog.Load("mnist", new DataLocation(dir.File("data"), DataLocationSource.Default, dir.File("sys")));
        Assert.Equal("mnist", splits.Info.Name);
        Assert.Equal(4, splits.Train.Count);
        var img = ((InMemoryImageDataset)splits.Train).Images;
        Assert.Equal(new long[] { 4, 1, 32, 32 }, img.shape);
        Assert.Equal(Formats.Pixel(2, 0, 5, 6), img[2, 0, 5 + 2, 6 + 2].item<byte>());
        Assert.Equal(0, img[2, 0, 1, 10].item<byte>());
    }

    [DebianFashionMnistFact]
    public void DebianFashionMnistLoadsPaddedAndBalanced()
    {
        using var dir = new TempDir();
        using var splits = DatasetCatalog.Load("fashion-mnist",
            new DataLocation(dir.File("empty"), DataLocationSource.Default, DataLocation.SystemFolder),
            new DatasetLoadOptions { Download = false });
        var train = (InMemoryImageDataset)splits.Train;
        var test = (InMemoryImageDataset)splits.Test;
        Assert.Equal((60000, 10000), (train.Count, test.Count));
        Assert.Equal(new long[] { 60000, 1, 32, 32 }, train.Images.shape);
        Assert.Equal(new long[] { 10000, 1, 32, 32 }, test.Images.shape);
        Assert.Equal(Enumerable.Repeat(6000, 10), train.Labels.data<long>().ToArray().CountBy(l => l).OrderBy(kv => kv.Key).Select(kv => kv.Value));
        Assert.Equal(Enumerable.Repeat(1000, 10), test.Labels.data<long>().ToArray().CountBy(l => l).OrderBy(kv => kv.Key).Select(kv => kv.Value));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), train.Labels.data<long>().ToArray().Distinct().Order());

        // Every image equals the raw file's bytes (read here independently) in the middle 28x28 and is
        // zero in the 2-pixel border; the catalog's normalization statistics are the raw training set's.
        byte[] raw;
        using (var gz = new GZipStream(File.OpenRead(Path.Combine(DebianFashionMnistFactAttribute.Folder, "train-images-idx3-ubyte.gz")), CompressionMode.Decompress))
        using (var ms = new MemoryStream())
        {
            gz.CopyTo(ms);
            raw = ms.ToArray();
        }
        var loaded = train.Images.data<byte>().ToArray();
        long mismatches = 0, sum = 0, sumSquares = 0;
        for (int n = 0; n < 60000; n++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                {
                    byte v = loaded[(n * 32 + y) * 32 + x];
                    bool inside = y >= 2 && y < 30 && x >= 2 && x < 30;
                    byte expected = inside ? raw[16 + (n * 28 + y - 2) * 28 + x - 2] : (byte)0;
                    if (v != expected) mismatches++;
                    if (inside) { sum += v; sumSquares += v * v; }
                }
        Assert.Equal(0, mismatches);
        double count = 60000.0 * 28 * 28, mean = sum / count / 255, variance = sumSquares / count / (255.0 * 255) - mean * mean;
        Assert.Equal(DatasetCatalog.Info("fashion-mnist").Mean[0], mean, 3);
        Assert.Equal(DatasetCatalog.Info("fashion-mnist").Std[0], Math.Sqrt(variance), 3);
    }
}
