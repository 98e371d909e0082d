using System.Buffers.Binary;
using System.IO.Compression;

namespace DistillSharp.Tests.Data;

/// <summary>A temporary folder deleted at dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "distill-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Writes files in the real on-disk formats, byte by byte, independently of the readers.</summary>
internal static class Formats
{
    /// <summary>The pixel value the tests put at (sample n, channel c, row y, column x).</summary>
    public static byte Pixel(int n, int c, int y, int x) => (byte)((n * 37 + c * 101 + y * 7 + x * 3 + 1) % 256);

    public static byte[] BigEndian(params int[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }

    /// <summary>An IDX image file of <paramref name="count"/> images rows x cols with <see cref="Pixel"/> values.</summary>
    public static byte[] IdxImages(int count, int rows, int cols, int magic = 2051)
    {
        var header = BigEndian(magic, count, rows, cols);
        var body = new byte[count * rows * cols];
        for (int n = 0; n < count; n++)
            for (int y = 0; y < rows; y++)
                for (int x = 0; x < cols; x++)
                    body[(n * rows + y) * cols + x] = Pixel(n, 0, y, x);
        return [.. header, .. body];
    }

    public static byte[] IdxLabels(byte[] labels, int magic = 2049) => [.. BigEndian(magic, labels.Length), .. labels];

    public static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    /// <summary>CIFAR records: label byte(s) then 3072 pixels (R plane, G plane, B plane, row-major).</summary>
    public static byte[] CifarRecords(int count, Func<int, byte[]> labelBytes, int firstSample = 0)
    {
        var result = new List<byte>();
        for (int i = 0; i < count; i++)
        {
            result.AddRange(labelBytes(i));
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++)
                        result.Add(Pixel(firstSample + i, c, y, x));
        }
        return result.ToArray();
    }

    /// <summary>
    /// CIFAR-100's binary version at full size under <paramref name="dataRoot"/> (<c>cifar100/cifar-100-binary/train.bin</c>
    /// with 50000 records, <c>test.bin</c> with 10000), as the loader requires: fine label i mod 100, its coarse label
    /// fine / 5, and every pixel of record i equal to i mod 256. Returns the folder.
    /// </summary>
    public static string WriteCifar100(string dataRoot)
    {
        var folder = Directory.CreateDirectory(System.IO.Path.Combine(dataRoot, "cifar100", "cifar-100-binary")).FullName;
        foreach (var (file, count) in new[] { ("train.bin", 50000), ("test.bin", 10000) })
        {
            const int record = 2 + 3 * 32 * 32;
            var bytes = new byte[count * record];
            for (int i = 0; i < count; i++)
            {
                var r = bytes.AsSpan(i * record, record);
                r[1] = (byte)(i % 100);
                r[0] = (byte)(r[1] / 5);
                r[2..].Fill((byte)(i % 256));
            }
            System.IO.File.WriteAllBytes(System.IO.Path.Combine(folder, file), bytes);
        }
        return folder;
    }
}

/// <summary>A fact skipped when Debian's Fashion-MNIST is not installed.</summary>
public sealed class DebianFashionMnistFactAttribute : FactAttribute
{
    public const string Folder = "/usr/share/datasets/fashion-mnist";

    public DebianFashionMnistFactAttribute()
    {
        if (!System.IO.File.Exists(System.IO.Path.Combine(Folder, "train-images-idx3-ubyte.gz")))
            Skip = $"Debian's dataset-fashion-mnist is not installed ({Folder}); apt-get install dataset-fashion-mnist";
    }
}

/// <summary>A fact skipped when bash or curl is missing (the data-scripts need both).</summary>
public sealed class BashAndCurlFactAttribute : FactAttribute
{
    public BashAndCurlFactAttribute()
    {
        var missing = new[] { "bash", "curl", "md5sum", "tar" }.Where(t => Tools.Find(t) is null).ToArray();
        if (missing.Length > 0) Skip = $"the data-scripts tests need {string.Join(", ", missing)} on PATH";
    }
}

internal static class Tools
{
    public static string? Find(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => System.IO.Path.Combine(d, tool))
            .FirstOrDefault(System.IO.File.Exists);

    /// <summary>The repository root: the first parent folder of the test binary holding data-scripts/.</summary>
    public static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (System.IO.File.Exists(System.IO.Path.Combine(d.FullName, "data-scripts", "common.sh"))) return d.FullName;
        }
        throw new InvalidOperationException("data-scripts/common.sh not found above " + AppContext.BaseDirectory);
    }
}
