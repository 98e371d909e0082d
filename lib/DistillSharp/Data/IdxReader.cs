using System.Buffers.Binary;
using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Data;

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), raw or gzipped
/// (a gzip stream is recognised by its magic bytes, whatever the file name). Image files have magic number
/// 2051 (0x00000803: unsigned bytes, 3 dimensions) followed by big-endian int32 count, rows and columns,
/// then count*rows*columns pixel bytes; label files have magic 2049 (0x00000801) and a count, then one
/// byte per label. Each file is read whole into a byte array and turned into one tensor.
/// </summary>
public static class IdxReader
{
    /// <summary>The magic number of an IDX file of unsigned-byte images [N, rows, cols].</summary>
    public const int ImagesMagic = 2051;

    /// <summary>The magic number of an IDX file of unsigned-byte labels [N].</summary>
    public const int LabelsMagic = 2049;

    /// <summary>Reads an IDX image file into one uint8 tensor [N,1,rows,cols] on the CPU.</summary>
    /// <exception cref="DistillSharpException">The file is missing, truncated, corrupt or not an image file.</exception>
    public static Tensor ReadImages(string path)
    {
        var data = ReadMaybeGzipped(path);
        int magic = data.Length >= 4 ? BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(0, 4)) : ImagesMagic;
        if (magic != ImagesMagic)
            throw Corrupt(path, $"wrong magic number {magic} (0x{magic:X8}); an IDX image file starts with {ImagesMagic} (0x{ImagesMagic:X8})" +
                                (magic == LabelsMagic ? " - this is a label file" : ""));
        if (data.Length < 16)
            throw Corrupt(path, $"truncated: {data.Length} bytes, shorter than the 16-byte IDX image header");
        int count = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4, 4));
        int rows = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(8, 4));
        int cols = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(12, 4));
        if (count < 0 || rows <= 0 || cols <= 0)
            throw Corrupt(path, $"impossible dimensions in the header: {count} images of {rows}x{cols}");
        long expected = 16 + (long)count * rows * cols;
        if (data.Length < expected)
            throw Corrupt(path, $"truncated: the header declares {count} images of {rows}x{cols} ({expected} bytes) but the file has {data.Length} bytes");
        if (data.Length > expected)
            throw Corrupt(path, $"{data.Length - expected} unexpected bytes after the {count} images of {rows}x{cols} that the header declares");

        var pixels = data.AsSpan(16).ToArray();
        return torch.tensor(pixels, [count, 1, rows, cols], dtype: ScalarType.Byte);
    }

    /// <summary>
    /// Reads an IDX label file into an int64 tensor [N] on the CPU; every label must be in
    /// [0, <paramref name="numClasses"/>).
    /// </summary>
    /// <exception cref="DistillSharpException">The file is missing, truncated, corrupt, not a label file, or has a label out of range.</exception>
    public static Tensor ReadLabels(string path, int numClasses)
    {
        var data = ReadMaybeGzipped(path);
        int magic = data.Length >= 4 ? BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(0, 4)) : LabelsMagic;
        if (magic != LabelsMagic)
            throw Corrupt(path, $"wrong magic number {magic} (0x{magic:X8}); an IDX label file starts with {LabelsMagic} (0x{LabelsMagic:X8})" +
                                (magic == ImagesMagic ? " - this is an image file" : ""));
        if (data.Length < 8)
            throw Corrupt(path, $"truncated: {data.Length} bytes, shorter than the 8-byte IDX label header");
        int count = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4, 4));
        if (count < 0)
            throw Corrupt(path, $"impossible label count {count} in the header");
        long expected = 8 + (long)count;
        if (data.Length < expected)
            throw Corrupt(path, $"truncated: the header declares {count} labels ({expected} bytes) but the file has {data.Length} bytes");
        if (data.Length > expected)
            throw Corrupt(path, $"{data.Length - expected} unexpected bytes after the {count} labels that the header declares");

        var labels = new long[count];
        for (int i = 0; i < count; i++)
        {
            byte v = data[8 + i];
            if (v >= numClasses)
                throw Corrupt(path, $"label {v} of sample {i} is out of range: labels must be in [0, {numClasses})");
            labels[i] = v;
        }
        return torch.tensor(labels, dtype: ScalarType.Int64);
    }

    /// <summary>
    /// Reads an image file and its label file into an <see cref="InMemoryImageDataset"/>. With
    /// <paramref name="padTo"/> greater than the stored size the images are zero-padded equally on each side
    /// (28x28 to 32x32: 2 pixels each side), once, at load time.
    /// </summary>
    /// <exception cref="DistillSharpException">A file is bad, or the image and label counts differ.</exception>
    public static InMemoryImageDataset Load(string name, string imagesPath, string labelsPath, int numClasses, int padTo = 0)
    {
        var images = ReadImages(imagesPath);
        Tensor? labels = null;
        try
        {
            labels = ReadLabels(labelsPath, numClasses);
            if (images.shape[0] != labels.shape[0])
            {
                throw new DistillSharpException(
                    $"{imagesPath} has {images.shape[0]} images but {labelsPath} has {labels.shape[0]} labels: " +
                    "the counts must match; one of the files is from another set or damaged. Fetch both again.");
            }
            long h = images.shape[2], w = images.shape[3];
            if (padTo > 0 && (padTo > h || padTo > w))
            {
                long top = (padTo - h) / 2, left = (padTo - w) / 2;
                long bottom = padTo - h - top, right = padTo - w - left;
                var padded = torch.nn.functional.pad(images, [left, right, top, bottom], PaddingModes.Constant, 0);
                images.Dispose();
                images = padded;
            }
            return new InMemoryImageDataset(name, images, labels, numClasses);
        }
        catch
        {
            images.Dispose();
            labels?.Dispose();
            throw;
        }
    }

    /// <summary>Reads a whole file, un-gzipping it when it starts with the gzip magic bytes 1F 8B.</summary>
    internal static byte[] ReadMaybeGzipped(string path)
    {
        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DistillSharpException($"{path}: the file does not exist.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DistillSharpException($"{path}: cannot be read: {e.Message}", e);
        }
        if (raw.Length < 2 || raw[0] != 0x1F || raw[1] != 0x8B) return raw;

        try
        {
            // The gzip trailer's last 4 bytes hold the uncompressed size mod 2^32: a good first capacity.
            int hint = raw.Length >= 18 ? BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(raw.Length - 4)) : 0;
            using var output = new MemoryStream(hint > 0 && hint < 1 << 30 ? hint : raw.Length * 4);
            using (var gzip = new GZipStream(new MemoryStream(raw, writable: false), CompressionMode.Decompress))
            {
                gzip.CopyTo(output);
            }
            return output.Length == output.Capacity ? output.GetBuffer() : output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw Corrupt(path, $"broken gzip stream ({e.Message}); the download is damaged or incomplete", e);
        }
    }

    internal static DistillSharpException Corrupt(string path, string problem, Exception? inner = null) =>
        inner is null
            ? new DistillSharpException($"{path}: {problem}.")
            : new DistillSharpException($"{path}: {problem}.", inner);
}
