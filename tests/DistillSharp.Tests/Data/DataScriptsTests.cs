using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace DistillSharp.Tests.Data;

/// <summary>
/// The data-scripts, run with bash against local files through DISTILL_MIRROR=file://... (no network).
/// The published checksums cannot be matched by test files, so the scripts' good path is tested through
/// common.sh's functions with the test's own checksum, and the scripts themselves on corrupted archives
/// (which must fail) and on data already in place (which must be skipped).
/// </summary>
public sealed class DataScriptsTests
{
    private static readonly string Scripts = Path.Combine(Tools.RepositoryRoot(), "data-scripts");

    private static (int Exit, string Out, string Err) Bash(string[] args, Dictionary<string, string>? env = null)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment.Remove("DISTILL_DATA");
        info.Environment.Remove("DISTILL_MIRROR");
        info.Environment.Remove("DISTILL_KEEP_ARCHIVES");
        foreach (var (k, v) in env ?? []) info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("bash " + string.Join(' ', args));
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string Md5(string path) => Convert.ToHexStringLower(MD5.HashData(File.ReadAllBytes(path)));

    /// <summary>A .tar.gz (or .tar) of <paramref name="folder"/>, the folder itself at the top.</summary>
    private static void Archive(string folder, string archive, bool gzip = true)
    {
        using var file = File.Create(archive);
        using Stream stream = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        TarFile.CreateFromDirectory(folder, stream, includeBaseDirectory: true);
    }

    [BashAndCurlFact]
    public void CommonFunctionsFetchVerifySkipAndExtract()
    {
        using var dir = new TempDir();
        var content = Directory.CreateDirectory(dir.File("src", "cifar-10-batches-bin")).FullName;
        File.WriteAllText(Path.Combine(content, "test_batch.bin"), "pixels");
        Directory.CreateDirectory(dir.File("mirror"));
        Archive(content, dir.File("mirror", "set.tar.gz"));
        var md5 = Md5(dir.File("mirror", "set.tar.gz"));
        var dest = dir.File("data", "cifar10", "set.tar.gz");
        var url = "file://" + dir.File("mirror", "set.tar.gz");
        var script = $". '{Scripts}/common.sh'; distill_fetch '{dest}' {md5} '{url}'; distill_fetch '{dest}' {md5} '{url}'; " +
                     $"distill_extract '{dest}' '{dir.File("data", "cifar10")}' cifar-10-batches-bin";

        var (exit, stdout, stderr) = Bash(["-c", script]);
        Assert.True(exit == 0, stderr);
        Assert.Contains($"{dest}: fetched, md5 {md5} verified", stdout);
        Assert.Contains($"{dest}: already there, md5 verified", stdout);
        Assert.Equal("pixels", File.ReadAllText(dir.File("data", "cifar10", "cifar-10-batches-bin", "test_batch.bin")));
        Assert.Equal(["set.tar.gz"], Directory.GetFiles(dir.File("data", "cifar10")).Select(Path.GetFileName));
        Assert.Equal(["cifar-10-batches-bin"], Directory.GetDirectories(dir.File("data", "cifar10")).Select(Path.GetFileName));

        // The same fetch against a corrupted archive fails and keeps nothing.
        var bytes = File.ReadAllBytes(dir.File("mirror", "set.tar.gz"));
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(dir.File("mirror", "bad.tar.gz"), bytes);
        var badDest = dir.File("data", "other", "bad.tar.gz");
        (exit, _, stderr) = Bash(["-c", $". '{Scripts}/common.sh'; distill_fetch '{badDest}' {md5} 'file://{dir.File("mirror", "bad.tar.gz")}'"]);
        Assert.Equal(1, exit);
        Assert.Contains("checksum mismatch", stderr);
        Assert.Contains(md5, stderr);
        Assert.Contains(Md5(dir.File("mirror", "bad.tar.gz")), stderr);
        Assert.Empty(Directory.GetFiles(dir.File("data", "other")));
    }

    [BashAndCurlFact]
    public void Cifar10ScriptRejectsAnArchiveThatIsNotThePublishedOne()
    {
        using var dir = new TempDir();
        var content = Directory.CreateDirectory(dir.File("src", "cifar-10-batches-bin")).FullName;
        File.WriteAllText(Path.Combine(content, "data_batch_1.bin"), "not cifar");
        Directory.CreateDirectory(dir.File("mirror"));
        Archive(content, dir.File("mirror", "cifar-10-binary.tar.gz"));

        var (exit, stdout, stderr) = Bash([Path.Combine(Scripts, "cifar10.sh"), dir.File("data")],
            new() { ["DISTILL_MIRROR"] = "file://" + dir.File("mirror") });
        Assert.NotEqual(0, exit);
        Assert.Contains("file://" + dir.File("mirror", "cifar-10-binary.tar.gz"), stdout);
        Assert.Contains("checksum mismatch", stderr);
        Assert.Contains("expected md5 c32a1d4ab5d03f1284b67883e8d87530", stderr);
        Assert.Empty(Directory.GetFileSystemEntries(dir.File("data", "cifar10")));
    }

    [BashAndCurlFact]
    public void FashionMnistScriptVerifiesEachFileAndUsesDistillData()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("mirror"));
        foreach (var name in new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" })
            File.WriteAllBytes(dir.File("mirror", name), Formats.Gzip(Formats.IdxLabels([1, 2, 3])));

        var (exit, _, stderr) = Bash([Path.Combine(Scripts, "fashion-mnist.sh")],
            new() { ["DISTILL_MIRROR"] = "file://" + dir.File("mirror") + "/", ["DISTILL_DATA"] = dir.File("fromenv") });
        Assert.NotEqual(0, exit);
        Assert.Contains("train-images-idx3-ubyte.gz", stderr);
        Assert.Contains("expected md5 8d4fb7e6c68d591d4c3dfef9ec88bf0d", stderr);
        Assert.True(Directory.Exists(dir.File("fromenv", "fashion-mnist")));          // DISTILL_DATA chose the folder
        Assert.Empty(Directory.GetFiles(dir.File("fromenv", "fashion-mnist")));       // and nothing unverified was kept
    }

    [BashAndCurlFact]
    public void ScriptsSkipDataAlreadyInPlace()
    {
        using var dir = new TempDir();
        var folder = Directory.CreateDirectory(dir.File("data", "cifar100", "cifar-100-binary")).FullName;
        using (var f = File.Create(Path.Combine(folder, "train.bin"))) f.SetLength(50000L * 3074); // sparse: right size, no disk
        using (var f = File.Create(Path.Combine(folder, "test.bin"))) f.SetLength(10000L * 3074);
        File.WriteAllText(Path.Combine(folder, ".distill-complete"), "verified");
        var unreachable = new Dictionary<string, string> { ["DISTILL_MIRROR"] = "file://" + dir.File("no-such-mirror") };

        var (exit, stdout, stderr) = Bash([Path.Combine(Scripts, "cifar100.sh"), dir.File("data")], unreachable);
        Assert.True(exit == 0, stderr);
        Assert.Contains($"CIFAR-100 is already in {folder}", stdout);

        // A file of the wrong size is not taken for complete: the script tries to fetch, and fails clearly.
        using (var f = File.OpenWrite(Path.Combine(folder, "test.bin"))) f.SetLength(100);
        (exit, _, stderr) = Bash([Path.Combine(Scripts, "cifar100.sh"), dir.File("data")], unreachable);
        Assert.NotEqual(0, exit);
        Assert.Contains("could not fetch cifar-100-binary.tar.gz", stderr);
    }

    [BashAndCurlFact]
    public void ImagenetScriptLaysOutClassFolders()
    {
        using var dir = new TempDir();
        // ILSVRC2012_img_train.tar: one tar per class; ILSVRC2012_img_val.tar: images flat.
        var classes = Directory.CreateDirectory(dir.File("train-src")).FullName;
        foreach (var wnid in new[] { "n01440764", "n01443537" })
        {
            var images = Directory.CreateDirectory(dir.File("class-src", wnid)).FullName;
            File.WriteAllText(Path.Combine(images, $"{wnid}_1.JPEG"), "jpeg");
            File.WriteAllText(Path.Combine(images, $"{wnid}_2.JPEG"), "jpeg");
            using var classTar = File.Create(Path.Combine(classes, wnid + ".tar"));
            TarFile.CreateFromDirectory(images, classTar, includeBaseDirectory: false);
        }
        using (var trainTar = File.Create(dir.File("ILSVRC2012_img_train.tar")))
            TarFile.CreateFromDirectory(classes, trainTar, includeBaseDirectory: false);
        var val = Directory.CreateDirectory(dir.File("val-src")).FullName;
        for (int i = 1; i <= 3; i++) File.WriteAllText(Path.Combine(val, $"ILSVRC2012_val_{i:D8}.JPEG"), "jpeg" + i);
        using (var valTar = File.Create(dir.File("ILSVRC2012_img_val.tar")))
            TarFile.CreateFromDirectory(val, valTar, includeBaseDirectory: false);
        File.WriteAllText(dir.File("LOC_val_solution.csv"),
            "ImageId,PredictionString\nILSVRC2012_val_00000001,n01443537 1 2 3 4\nILSVRC2012_val_00000002,n01440764 5 6 7 8\nILSVRC2012_val_00000003,n01443537 1 1 1 1\n");
        string[] args = [Path.Combine(Scripts, "imagenet.sh"), dir.File("data"), "--train", dir.File("ILSVRC2012_img_train.tar"),
                         "--val", dir.File("ILSVRC2012_img_val.tar"), "--val-labels", dir.File("LOC_val_solution.csv")];

        // Not the published archives: the MD5 check stops it.
        var (exit, _, stderr) = Bash(args);
        Assert.NotEqual(0, exit);
        Assert.Contains("checksum mismatch", stderr);
        Assert.Contains("1d675b47d978889d74fa0da5fadfb00e", stderr);

        (exit, var stdout, stderr) = Bash([.. args, "--no-verify"]);
        Assert.True(exit == 0, stderr);
        var root = dir.File("data", "imagenet");
        Assert.True(File.Exists(Path.Combine(root, "train", "n01440764", "n01440764_2.JPEG")));
        Assert.True(File.Exists(Path.Combine(root, "train", "n01443537", "n01443537_1.JPEG")));
        Assert.Equal("jpeg1", File.ReadAllText(Path.Combine(root, "val", "n01443537", "ILSVRC2012_val_00000001.JPEG")));
        Assert.Equal("jpeg2", File.ReadAllText(Path.Combine(root, "val", "n01440764", "ILSVRC2012_val_00000002.JPEG")));
        Assert.True(File.Exists(Path.Combine(root, "val", "n01443537", "ILSVRC2012_val_00000003.JPEG")));
        Assert.Contains("ImageNet is in", stdout);

        (exit, stdout, stderr) = Bash([.. args, "--no-verify"]);   // idempotent
        Assert.True(exit == 0, stderr);
        Assert.Contains("train/ is already laid out", stdout);
        Assert.Contains("val/ is already laid out", stdout);
    }
}
