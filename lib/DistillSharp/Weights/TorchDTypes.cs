using static TorchSharp.torch;

namespace DistillSharp.Weights;

/// <summary>PyTorch's typed storage names (<c>torch.FloatStorage</c> ...) and the element types they hold.</summary>
internal static class TorchDTypes
{
    private static readonly Dictionary<string, (ScalarType Type, int Size)> ByStorage = new()
    {
        ["DoubleStorage"] = (ScalarType.Float64, 8),
        ["FloatStorage"] = (ScalarType.Float32, 4),
        ["HalfStorage"] = (ScalarType.Float16, 2),
        ["BFloat16Storage"] = (ScalarType.BFloat16, 2),
        ["LongStorage"] = (ScalarType.Int64, 8),
        ["IntStorage"] = (ScalarType.Int32, 4),
        ["ShortStorage"] = (ScalarType.Int16, 2),
        ["CharStorage"] = (ScalarType.Int8, 1),
        ["ByteStorage"] = (ScalarType.Byte, 1),
        ["BoolStorage"] = (ScalarType.Bool, 1),
    };

    /// <summary>The storage class names a pickle may name.</summary>
    public static IReadOnlySet<string> StorageNames { get; } = ByStorage.Keys.ToHashSet();

    /// <summary>The element type of storage class <paramref name="name"/>.</summary>
    public static ScalarType Of(string name) => ByStorage[name].Type;

    /// <summary>
    /// The <c>.safetensors</c> dtype names of the same element types: the ones this importer reads from either format
    /// (TorchSharp.PyBridge reads exactly these; it has no unsigned type wider than 8 bits and no float8).
    /// </summary>
    public static IReadOnlySet<string> SafetensorsNames { get; } = new HashSet<string> { "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL" };

    /// <summary>Bytes per element of <paramref name="type"/>.</summary>
    public static int SizeOf(ScalarType type) => ByStorage.Values.First(v => v.Type == type).Size;
}
