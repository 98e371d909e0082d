using System.IO.Compression;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Weights;

/// <summary>The file formats <see cref="PyTorchCheckpoint"/> reads.</summary>
public enum PyTorchFormat
{
    /// <summary><c>torch.save</c> since PyTorch 1.6: a zip of <c>data.pkl</c> and one file per storage.</summary>
    Zip,

    /// <summary><c>torch.save</c> before 1.6 (or with <c>_use_new_zipfile_serialization=False</c>): pickles then raw storages.</summary>
    Legacy,

    /// <summary>Hugging Face's <c>.safetensors</c>: a JSON index then raw tensors (no pickle).</summary>
    Safetensors,
}

/// <summary>
/// Reads a state dict from a PyTorch checkpoint: a state dict saved by <c>torch.save</c> (zip or legacy format), a dict
/// holding one under <c>model</c>, <c>state_dict</c> or <c>net</c> (as RepDistiller and mdistiller save their
/// teachers), or a <c>.safetensors</c> file. Pickles go through <see cref="RestrictedUnpickler"/>: a file that names
/// any global other than PyTorch's tensor and storage rebuilders and <c>collections.OrderedDict</c> is refused,
/// naming it; nothing in the file is ever executed.
/// </summary>
public static class PyTorchCheckpoint
{
    /// <summary>The keys under which a training checkpoint holds its state dict, in the order they are tried.</summary>
    public static IReadOnlyList<string> StateDictKeys { get; } = ["model", "state_dict", "net"];

    /// <summary>The format of <paramref name="path"/>, from its first bytes (and the .safetensors extension).</summary>
    /// <exception cref="DistillSharpException">The file does not exist or is in none of the formats.</exception>
    public static PyTorchFormat DetectFormat(string path)
    {
        if (!File.Exists(path)) throw new DistillSharpException($"checkpoint {path} does not exist.");
        Span<byte> head = stackalloc byte[8];
        int n;
        using (var stream = File.OpenRead(path)) n = stream.ReadAtLeast(head, 8, throwOnEndOfStream: false);
        if (n >= 4 && head[0] == 0x50 && head[1] == 0x4b && head[2] == 0x03 && head[3] == 0x04) return PyTorchFormat.Zip;
        if (n >= 2 && head[0] == 0x80 && head[1] <= 5) return PyTorchFormat.Legacy;
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return PyTorchFormat.Safetensors;
        throw new DistillSharpException(
            $"{path} is not a PyTorch checkpoint: neither a torch.save file (zip or legacy pickle) nor a .safetensors file.");
    }

    /// <summary>
    /// The state dict in <paramref name="path"/>, keys in the file's order, each tensor a fresh CPU tensor of the
    /// file's element type (the caller disposes them).
    /// </summary>
    /// <exception cref="DistillSharpException">The file is unreadable, not a state dict (the message says what it
    /// holds), or names a global that is refused (<see cref="UnsafePickleException"/> as the inner exception).</exception>
    public static IReadOnlyDictionary<string, Tensor> ReadStateDict(string path)
    {
        var format = DetectFormat(path);
        try
        {
            return format switch
            {
                PyTorchFormat.Zip => ReadZip(path),
                PyTorchFormat.Legacy => ReadLegacy(path),
                _ => ReadSafetensors(path),
            };
        }
        catch (Exception e) when (e is UnsafePickleException or InvalidDataException or EndOfStreamException or IOException or FormatException or OverflowException
                                       or System.Text.Json.JsonException or ArgumentException or InvalidCastException)
        {
            throw new DistillSharpException($"checkpoint {path} ({Describe(format)}) cannot be read: {e.Message}.", e);
        }
    }

    private static string Describe(PyTorchFormat format) => format switch
    {
        PyTorchFormat.Zip => "torch.save zip format",
        PyTorchFormat.Legacy => "torch.save legacy format",
        _ => "safetensors",
    };

    private static Dictionary<string, Tensor> ReadZip(string path)
    {
        using var archive = ZipFile.OpenRead(path);
        var pkl = archive.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
            ?? throw new InvalidDataException("the zip holds no data.pkl, so it is not a torch.save file");
        string prefix = pkl.FullName[..^"data.pkl".Length];
        object? root;
        using (var pickle = new MemoryStream())
        {
            using (var s = pkl.Open()) s.CopyTo(pickle);
            pickle.Position = 0;
            using var reader = new BinaryReader(pickle, Encoding.UTF8);
            root = new RestrictedUnpickler(reader, pid => ZipStorage(pid)).Load();
        }
        return Materialize(StateDictOf(root), storage =>
        {
            var entry = archive.GetEntry($"{prefix}data/{storage.Key}")
                ?? throw new InvalidDataException($"storage '{storage.Key}' is missing from the zip");
            long bytes = storage.Count * TorchDTypes.SizeOf(storage.DType);
            if (entry.Length != bytes) throw new InvalidDataException($"storage '{storage.Key}' holds {entry.Length} bytes, the pickle says {bytes}");
            var data = new byte[bytes];
            using var s = entry.Open();
            s.ReadExactly(data);
            return data;
        });
    }

    private static StorageRef ZipStorage(object?[] pid)
    {
        // ('storage', storage_type, key, location, numel)
        if (pid.Length < 5 || pid[0] is not "storage" || pid[1] is not StorageType type || pid[2] is not string key || pid[4] is not long count || count < 0)
            throw new InvalidDataException("a persistent id that is not a storage");
        return new StorageRef(key, TorchDTypes.Of(type.Name), count);
    }

    private static Dictionary<string, Tensor> ReadLegacy(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var magic = new RestrictedUnpickler(reader, _ => throw new InvalidDataException("persistent id in the header")).Load();
        if (magic is not System.Numerics.BigInteger big || big != System.Numerics.BigInteger.Parse("119547037146038801333356", System.Globalization.CultureInfo.InvariantCulture))
            throw new InvalidDataException("the file starts with a pickle but not with torch.save's magic number");
        var protocol = new RestrictedUnpickler(reader, _ => throw new InvalidDataException("persistent id in the header")).Load();
        if (protocol is not 1001L) throw new InvalidDataException($"legacy protocol {protocol}, this reader knows 1001");
        var sysInfo = new RestrictedUnpickler(reader, _ => throw new InvalidDataException("persistent id in the header")).Load() as PickleDict;
        if (sysInfo is not null && sysInfo.TryGet("little_endian", out var little) && little is false)
            throw new InvalidDataException("the file was written on a big-endian machine");
        var types = new Dictionary<string, ScalarType>();
        var root = new RestrictedUnpickler(reader, pid =>
        {
            var storage = LegacyStorage(pid);
            types[storage.Key] = storage.DType;
            return storage;
        }).Load();
        var keys = new RestrictedUnpickler(reader, _ => throw new InvalidDataException("persistent id in the storage list")).Load() as List<object?>
            ?? throw new InvalidDataException("no storage list after the pickle");
        var stateDict = StateDictOf(root);
        // The storages follow in the order of the list, each as an int64 element count and the raw elements; those
        // outside the state dict (an optimizer's buffers) are skipped.
        var wanted = stateDict.Values.OfType<PendingTensor>().Select(t => t.Storage.Key).ToHashSet();
        var data = new Dictionary<string, byte[]>();
        foreach (var keyObject in keys)
        {
            var key = keyObject as string ?? throw new InvalidDataException("a storage key that is not a string");
            long count = reader.ReadInt64();
            if (count < 0) throw new InvalidDataException($"storage '{key}' has {count} elements");
            if (!types.TryGetValue(key, out var type)) throw new InvalidDataException($"storage '{key}' is listed but never used");
            long bytes = count * TorchDTypes.SizeOf(type);
            if (bytes > stream.Length - stream.Position) throw new EndOfStreamException($"storage '{key}' runs past the end of the file");
            if (!wanted.Contains(key))
            {
                stream.Seek(bytes, SeekOrigin.Current);
                continue;
            }
            data[key] = reader.ReadBytes((int)bytes);
        }
        return Materialize(stateDict, storage =>
            data.TryGetValue(storage.Key, out var bytes) ? bytes : throw new InvalidDataException($"storage '{storage.Key}' is missing from the file"));
    }

    private static StorageRef LegacyStorage(object?[] pid)
    {
        // ('storage', storage_type, root_key, location, root_size, view_metadata = None | (view_key, offset, view_size))
        if (pid.Length < 6 || pid[0] is not "storage" || pid[1] is not StorageType type || pid[2] is not string key || pid[4] is not long count || count < 0)
            throw new InvalidDataException("a persistent id that is not a storage");
        long viewOffset = 0;
        if (pid[5] is object?[] { Length: 3 } view && view[1] is long offset && view[2] is long size)
        {
            if (offset < 0 || size < 0 || offset + size > count) throw new InvalidDataException($"storage view outside storage '{key}'");
            viewOffset = offset;
        }
        return new StorageRef(key, TorchDTypes.Of(type.Name), count, viewOffset);
    }

    private static Dictionary<string, Tensor> ReadSafetensors(string path)
    {
        var length = new FileInfo(path).Length;
        byte[] index;
        using (var stream = File.OpenRead(path))
        {
            using var reader = new BinaryReader(stream);
            if (length < 8) throw new EndOfStreamException("file cut short");
            ulong header = reader.ReadUInt64();
            if (header > (ulong)(length - 8)) throw new InvalidDataException($"a header of {header} bytes in a file of {length}");
            index = reader.ReadBytes((int)header);
        }
        // Every element type is checked here, naming the tensor, before TorchSharp.PyBridge reads the index and the
        // tensors (the key order is the index's).
        var entries = System.Text.Json.JsonDocument.Parse(index).RootElement;
        foreach (var entry in entries.EnumerateObject().Where(e => e.Name != "__metadata__"))
        {
            string dtype = entry.Value.GetProperty("dtype").GetString() ?? "";
            if (!TorchDTypes.SafetensorsNames.Contains(dtype))
            {
                throw new InvalidDataException(
                    $"'{entry.Name}' is of dtype {dtype}, which this importer does not read (it reads {string.Join(", ", TorchDTypes.SafetensorsNames)})");
            }
        }
        return TorchSharp.PyBridge.Safetensors.LoadStateDict(path);
    }

    /// <summary>The state dict inside the unpickled root: the root itself, or the dict under a <see cref="StateDictKeys"/> key.</summary>
    private static PickleDict StateDictOf(object? root)
    {
        if (root is not PickleDict dict) throw new InvalidDataException($"the file holds a {Kind(root)}, not a dict of tensors");
        if (dict.Keys.Count > 0 && dict.Keys.All(k => k is string s && dict[s] is PendingTensor)) return dict;
        foreach (var key in StateDictKeys)
        {
            if (dict.TryGet(key, out var inner) && inner is PickleDict sd) return sd;
        }
        var keys = string.Join(", ", dict.Keys.Take(8).Select(k => $"'{k}'"));
        throw new InvalidDataException(
            $"the file holds a dict with keys {keys}{(dict.Keys.Count > 8 ? ", ..." : "")}: neither a state dict nor a dict " +
            $"with one under {string.Join(", ", StateDictKeys.Select(k => $"'{k}'"))}");
    }

    private static string Kind(object? value) => value switch
    {
        null => "None",
        PendingTensor => "single tensor",
        List<object?> => "list",
        object?[] => "tuple",
        _ => value.GetType().Name,
    };

    private static Dictionary<string, Tensor> Materialize(PickleDict stateDict, Func<StorageRef, byte[]> storageBytes)
    {
        var result = new Dictionary<string, Tensor>();
        var cache = new Dictionary<string, Tensor>();
        try
        {
            foreach (var keyObject in stateDict.Keys)
            {
                if (keyObject is not string key) throw new InvalidDataException($"a state-dict key that is not a string ({keyObject})");
                if (stateDict[key] is not PendingTensor pending) throw new InvalidDataException($"'{key}' holds a {Kind(stateDict[key])}, not a tensor");
                if (!cache.TryGetValue(pending.Storage.Key, out var flat))
                {
                    var bytes = storageBytes(pending.Storage);
                    flat = torch.empty([bytes.Length / TorchDTypes.SizeOf(pending.Storage.DType)], pending.Storage.DType);
                    flat.bytes = bytes;
                    cache[pending.Storage.Key] = flat;
                }
                result[key] = Build(key, pending, flat);
            }
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in cache.Values) t.Dispose();
        }
    }

    private static Tensor Build(string key, PendingTensor t, Tensor flat)
    {
        long offset = t.Storage.ViewOffset + t.Offset;
        if (offset < 0 || t.Shape.Any(s => s < 0) || t.Stride.Any(s => s < 0)) throw new InvalidDataException($"'{key}' has a negative offset, size or stride");
        long numel = t.Shape.Aggregate(1L, (a, b) => a * b);
        long last = offset + t.Shape.Zip(t.Stride, (s, st) => (s - 1) * st).Sum();
        if (numel > 0 && last >= flat.shape[0]) throw new InvalidDataException($"'{key}' reaches past the end of its storage");
        // Every intermediate is held until the clone returns: an unreferenced TorchSharp temporary can be finalized,
        // freeing its native tensor, while libtorch still reads it (seen once: "tensor does not have a device").
        using var view = flat.as_strided(t.Shape, t.Stride, offset);
        using var dense = view.contiguous();
        return dense.clone();
    }
}
