using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Data;

/// <summary>
/// Reads the binary versions of CIFAR-10 and CIFAR-100 (https://www.cs.toronto.edu/~kriz/cifar.html).
/// A CIFAR-10 file (<c>cifar-10-batches-bin/data_batch_1..5.bin</c>, <c>test_batch.bin</c>) is a sequence
/// of 3073-byte records: 1 label byte, then 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each 32x32
/// row-major, i.e. already [C,H,W]). A CIFAR-100 file (<c>cifar-100-binary/train.bin</c>, <c>test.bin</c>)
/// has 3074-byte records: coarse label byte, fine label byte, 3072 pixel bytes. Files are read whole and
/// the images of all files become one uint8 tensor [N,3,32,32].
/// </summary>
public static class CifarReader
{
    /// <summary>Pixel bytes per CIFAR image (3 x 32 x 32).</summary>
    public const int ImageBytes = 3 * 32 * 32;

    /// <summary>Bytes per CIFAR-10 record: 1 label byte and the image.</summary>
    public const int Cifar10RecordBytes = 1 + ImageBytes;

    /// <summary>Bytes per CIFAR-100 record: coarse label byte, fine label byte and the image.</summary>
    public const int Cifar100RecordBytes = 2 + ImageBytes;

    /// <summary>
    /// Reads CIFAR-10 binary files (in the given order) into one dataset of 10 classes.
    /// <paramref name="recordsPerFile"/>, when given, is the record count each file must hold (10000 for
    /// the official files).
    /// </summary>
    /// <exception cref="DistillSharpException">A file is missing, truncated, the wrong size or has a label out of range.</exception>
    public static InMemoryImageDataset ReadCifar10(string name, IReadOnlyList<string> files, int? recordsPerFile = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        var chunks = files.Select(f => (Path: f, Data: ReadFile(f, Cifar10RecordBytes, "CIFAR-10", "1 label byte + 3072 pixel bytes", recordsPerFile))).ToList();
        long total = chunks.Sum(c => (long)(c.Data.Length / Cifar10RecordBytes));
        var pixels = new byte[checked(total * ImageBytes)];
        var labels = new long[total];
        long n = 0;
        foreach (var (path, data) in chunks)
        {
            int records = data.Length / Cifar10RecordBytes;
            for (int r = 0; r < records; r++, n++)
            {
                int offset = r * Cifar10RecordBytes;
                byte label = data[offset];
                if (label >= 10)
                    throw IdxReader.Corrupt(path, $"label {label} of record {r} is out of range: CIFAR-10 labels are in [0, 10)");
                labels[n] = label;
                Buffer.BlockCopy(data, offset + 1, pixels, checked((int)(n * ImageBytes)), ImageBytes);
            }
        }
        return Build(name, pixels, labels, total, 10);
    }

    /// <summary>
    /// Reads a CIFAR-100 binary file into a dataset with the 100 fine labels, or the 20 coarse
    /// (superclass) labels when <paramref name="coarse"/> is set. Both label bytes are range-checked.
    /// <paramref name="expectedRecords"/>, when given, is the record count the file must hold.
    /// </summary>
    /// <exception cref="DistillSharpException">The file is missing, truncated, the wrong size or has a label out of range.</exception>
    public static InMemoryImageDataset ReadCifar100(string name, string file, bool coarse = false, int? expectedRecords = null)
    {
        var data = ReadFile(file, Cifar100RecordBytes, "CIFAR-100", "coarse label byte + fine label byte + 3072 pixel bytes", expectedRecords);
        int records = data.Length / Cifar100RecordBytes;
        var pixels = new byte[checked((long)records * ImageBytes)];
        var labels = new long[records];
        for (int r = 0; r < records; r++)
        {
            int offset = r * Cifar100RecordBytes;
            byte coarseLabel = data[offset], fineLabel = data[offset + 1];
            if (coarseLabel >= 20)
                throw IdxReader.Corrupt(file, $"coarse label {coarseLabel} of record {r} is out of range: CIFAR-100 coarse labels are in [0, 20)");
            if (fineLabel >= 100)
                throw IdxReader.Corrupt(file, $"fine label {fineLabel} of record {r} is out of range: CIFAR-100 fine labels are in [0, 100)");
            labels[r] = coarse ? coarseLabel : fineLabel;
            Buffer.BlockCopy(data, offset + 2, pixels, r * ImageBytes, ImageBytes);
        }
        return Build(name, pixels, labels, records, coarse ? 20 : 100);
    }

    private static byte[] ReadFile(string path, int recordBytes, string format, string recordLayout, int? expectedRecords)
    {
        var data = IdxReader.ReadMaybeGzipped(path);
        if (data.Length == 0)
            throw IdxReader.Corrupt(path, $"the file is empty; a {format} binary file holds {recordBytes}-byte records");
        if (data.Length % recordBytes != 0)
            throw IdxReader.Corrupt(path, $"size {data.Length} bytes is not a multiple of the {recordBytes}-byte {format} record ({recordLayout}): the file is truncated or not a {format} binary file");
        int records = data.Length / recordBytes;
        if (expectedRecords is int expected && records != expected)
            throw IdxReader.Corrupt(path, $"{records} records where {expected} are expected: the file is truncated or from another set");
        return data;
    }

    private static InMemoryImageDataset Build(string name, byte[] pixels, long[] labels, long count, int numClasses)
    {
        var images = torch.tensor(pixels, [count, 3, 32, 32], dtype: ScalarType.Byte);
        var labelTensor = torch.tensor(labels, dtype: ScalarType.Int64);
        return new InMemoryImageDataset(name, images, labelTensor, numClasses);
    }
}
