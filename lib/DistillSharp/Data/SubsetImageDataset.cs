using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Data;

/// <summary>
/// A view of another dataset through a list of its indices: sample <c>i</c> of the view is sample
/// <c>indices[i]</c> of the source. Used for <c>--subset N</c> (see <see cref="ClassBalancedSubset"/>).
/// Sample indices reported by a loader over the view are indices into the view (0..Count-1).
/// </summary>
public sealed class SubsetImageDataset : IImageDataset
{
    private readonly IImageDataset _source;
    private readonly bool _ownsSource;
    private readonly Tensor _map;
    private readonly Tensor _labels;
    private bool _disposed;

    /// <summary>
    /// Creates the view. Every index must be in [0, source.Count). With <paramref name="ownsSource"/> the
    /// view disposes the source when it is disposed.
    /// </summary>
    public SubsetImageDataset(IImageDataset source, IReadOnlyList<long> indices, bool ownsSource = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(indices);
        var map = indices.ToArray();
        foreach (var i in map)
        {
            if (i < 0 || i >= source.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), i, $"index outside [0, {source.Count}) of {source.Name}");
        }
        _source = source;
        _ownsSource = ownsSource;
        _map = torch.tensor(map, dtype: ScalarType.Int64);
        _labels = source.Labels.index_select(0, _map);
        Name = $"{source.Name}[subset {map.Length}]";
        Count = map.Length;
        Reader = source.Reader is { } reader ? new MappedReader(reader, map) : null;
    }

    /// <summary>The source dataset's indices of this view's samples, int64 [Count] on the CPU. Do not dispose.</summary>
    public Tensor SourceIndices => _map;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public int NumClasses => _source.NumClasses;

    /// <inheritdoc />
    public int Channels => _source.Channels;

    /// <inheritdoc />
    public int Height => _source.Height;

    /// <inheritdoc />
    public int Width => _source.Width;

    /// <inheritdoc />
    public Tensor Labels => _labels;

    /// <summary>The source's reader seen through the view's indices, or null when the source is held in memory.</summary>
    public ISampleReader? Reader { get; }

    /// <inheritdoc />
    public Tensor GetImages(Tensor indices)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var sourceIndices = _map.index_select(0, indices);
        return _source.GetImages(sourceIndices);
    }

    /// <summary>Frees the view's tensors, and the source if the view owns it.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _map.Dispose();
        _labels.Dispose();
        if (_ownsSource) _source.Dispose();
    }
}

/// <summary>A reader of a view: view index i is read as source index <c>map[i]</c>.</summary>
internal sealed class MappedReader(ISampleReader source, long[] map) : ISampleReader
{
    public int DecodeThreads => source.DecodeThreads;

    public SampleBatch Read(IReadOnlyList<long> indices, long seed, int epoch)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var mapped = new long[indices.Count];
        for (int i = 0; i < mapped.Length; i++)
        {
            long v = indices[i];
            if (v < 0 || v >= map.Length) throw new ArgumentOutOfRangeException(nameof(indices), v, $"index outside [0, {map.Length}) of the view");
            mapped[i] = map[v];
        }
        return source.Read(mapped, seed, epoch);
    }
}
