using System.Security.Cryptography;
using DistillSharp.Data;

namespace DistillSharp.Tests.Data;

public sealed class DownloaderTests
{
    private static byte[] Content(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static string Sha256(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private static string Md5(byte[] b) => Convert.ToHexStringLower(MD5.HashData(b));

    [Fact]
    public void FileUrisWithMatchingChecksumsAreFetchedAtomicallyAndSkippedNextTime()
    {
        using var dir = new TempDir();
        var mirror = Directory.CreateDirectory(dir.File("mirror")).FullName;
        var a = Content(100_000, 1);
        var b = Content(3_000, 2);
        File.WriteAllBytes(Path.Combine(mirror, "a.gz"), a);
        File.WriteAllBytes(Path.Combine(mirror, "b.bin"), b);
        var target = dir.File("out");
        var log = new StringWriter();
        using var downloader = new DatasetDownloader { Log = log };
        RemoteFile[] files = [new("a.gz", Checksum.Sha256(Sha256(a))), new("b.bin", Checksum.Md5(Md5(b).ToUpperInvariant()))];

        downloader.Download(new Uri(mirror), files, target);
        Assert.Equal(a, File.ReadAllBytes(Path.Combine(target, "a.gz")));
        Assert.Equal(b, File.ReadAllBytes(Path.Combine(target, "b.bin")));
        Assert.Equal(2, Directory.GetFiles(target).Length); // no temporary files left

        File.Delete(Path.Combine(mirror, "a.gz"));             // a second run needs no source: both are verified and skipped
        File.Delete(Path.Combine(mirror, "b.bin"));
        downloader.Download(new Uri(mirror + "/"), files, target);
        Assert.Contains("already there", log.ToString());
    }

    [Fact]
    public void ChecksumMismatchLeavesNoFileAndNamesTheProblem()
    {
        using var dir = new TempDir();
        var mirror = Directory.CreateDirectory(dir.File("mirror")).FullName;
        var good = Content(5000, 3);
        var corrupted = (byte[])good.Clone();
        corrupted[1234] ^= 1;
        File.WriteAllBytes(Path.Combine(mirror, "train.bin"), corrupted);
        var target = dir.File("out");
        using var downloader = new DatasetDownloader();

        var e = Assert.Throws<DistillSharpException>(() =>
            downloader.Download(new Uri(mirror), [new RemoteFile("train.bin", Checksum.Md5(Md5(good)))], target));
        Assert.Contains("train.bin", e.Message);
        Assert.Contains("checksum mismatch", e.Message);
        Assert.Contains("md5:" + Md5(good), e.Message);
        Assert.Contains("md5:" + Md5(corrupted), e.Message);
        Assert.Empty(Directory.GetFiles(target));
    }

    [Fact]
    public void HttpServerOnLoopbackGoodMismatchAndMissing()
    {
        var good = Content(200_000, 4);
        var bad = Content(1000, 5);
        using var server = new LocalHttpServer(new() { ["good.gz"] = good, ["bad.gz"] = bad });
        using var dir = new TempDir();
        var target = dir.File("out");
        using var downloader = new DatasetDownloader();

        // A stale, damaged file is replaced by the verified download.
        Directory.CreateDirectory(target);
        File.WriteAllBytes(Path.Combine(target, "good.gz"), [1, 2, 3]);
        downloader.Download(server.BaseUri, [new RemoteFile("good.gz", Checksum.Sha256(Sha256(good)))], target);
        Assert.Equal(good, File.ReadAllBytes(Path.Combine(target, "good.gz")));

        var mismatch = Assert.Throws<DistillSharpException>(() =>
            downloader.Download(server.BaseUri, [new RemoteFile("bad.gz", Checksum.Sha256(Sha256(good)))], target));
        Assert.Contains($"http://127.0.0.1:{server.Port}/data/bad.gz", mismatch.Message);
        Assert.Contains("checksum mismatch", mismatch.Message);
        Assert.False(File.Exists(Path.Combine(target, "bad.gz")));

        var missing = Assert.Throws<DistillSharpException>(() =>
            downloader.Download(server.BaseUri, [new RemoteFile("none.gz", Checksum.Sha256(Sha256(good)))], target));
        Assert.Contains("none.gz", missing.Message);
        Assert.Contains("404", missing.Message);
        Assert.Single(Directory.GetFiles(target));
    }

    [Fact]
    public void UnreachableServerIsADownloadFailure()
    {
        using var dir = new TempDir();
        using var downloader = new DatasetDownloader();
        var uri = new Uri($"http://127.0.0.1:{LocalHttpServer.FreePort()}/");
        var e = Assert.Throws<DistillSharpException>(() =>
            downloader.Download(uri, [new RemoteFile("x.gz", Checksum.Md5("00"))], dir.File("out")));
        Assert.Contains("download failed", e.Message);
        Assert.Contains("x.gz", e.Message);
    }
}
