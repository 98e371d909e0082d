using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Data;

/// <summary>
/// The image pipeline a <see cref="DataLoader"/> applies to each batch, as batched tensor ops (no loop over
/// samples): for training, RepDistiller's <c>RandomCrop(32, padding=4)</c> and <c>RandomHorizontalFlip()</c>
/// with the crop offset and the flip drawn per sample; then, always, normalization
/// <c>(x/255 - mean)/std</c> per channel, giving float32.
/// </summary>
/// <remarks>
/// The crop pads the batch once with zeros (<see cref="CropPadding"/> pixels each side), then reads each
/// output pixel (y, x) of sample b from padded row <c>dy[b] + y</c> and column <c>dx[b] + x</c>, or
/// <c>dx[b] + W-1-x</c> when the sample is flipped: the flip is folded into the column index, and all
/// samples are gathered in one <c>gather</c>. Offsets are uniform in [0, 2*padding].
/// </remarks>
public sealed class Augmentation
{
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <summary>
    /// Creates a pipeline: random crop with <paramref name="cropPadding"/> zero pixels each side (0 for
    /// none), optional random horizontal flip, then normalization with <paramref name="mean"/> and
    /// <paramref name="std"/> (one value per channel, for pixels scaled to [0,1]).
    /// </summary>
    public Augmentation(IReadOnlyList<float> mean, IReadOnlyList<float> std, int cropPadding = 0, bool horizontalFlip = false)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ArgumentException($"mean ({mean.Count} values) and std ({std.Count} values) need one value per channel each.");
        if (std.Any(s => !(s > 0)))
            throw new ArgumentException("every std value must be positive.", nameof(std));
        ArgumentOutOfRangeException.ThrowIfNegative(cropPadding);
        _mean = mean.ToArray();
        _std = std.ToArray();
        CropPadding = cropPadding;
        HorizontalFlip = horizontalFlip;
    }

    /// <summary>
    /// The training pipeline of a dataset: random crop with <see cref="DatasetInfo.TrainCropPadding"/> pixels of
    /// zero padding (4; none for ImageNet, cropped as it is decoded), horizontal flip when
    /// <see cref="DatasetInfo.HorizontalFlip"/> (not for MNIST digits), and normalization.
    /// </summary>
    public static Augmentation Train(DatasetInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return new Augmentation(info.Mean, info.Std, cropPadding: info.TrainCropPadding, horizontalFlip: info.HorizontalFlip);
    }

    /// <summary>The evaluation pipeline of a dataset: normalization only.</summary>
    public static Augmentation Eval(DatasetInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        return new Augmentation(info.Mean, info.Std);
    }

    /// <summary>Per-channel mean used by the normalization.</summary>
    public IReadOnlyList<float> Mean => _mean;

    /// <summary>Per-channel standard deviation used by the normalization.</summary>
    public IReadOnlyList<float> Std => _std;

    /// <summary>Zero padding each side for the random crop; 0 for no crop.</summary>
    public int CropPadding { get; }

    /// <summary>Whether samples are flipped horizontally with probability 1/2.</summary>
    public bool HorizontalFlip { get; }

    /// <summary>True when the pipeline draws random numbers (crop or flip).</summary>
    public bool IsRandom => CropPadding > 0 || HorizontalFlip;

    /// <summary>
    /// Applies the whole pipeline to uint8 images [B,C,H,W] (any device), drawing the per-sample offsets
    /// and flips from a generator seeded with <paramref name="seed"/>; returns float32 [B,C,H,W] on the
    /// same device.
    /// </summary>
    public Tensor Apply(Tensor images, long seed) => Apply(images, SeededRandom.Derive(seed, Streams.Augment));

    internal Tensor Apply(Tensor images, SeededRandom random)
    {
        if (!IsRandom) return Normalize(images);
        int batch = checked((int)images.shape[0]);
        var offsetY = new long[batch];
        var offsetX = new long[batch];
        var flip = new bool[batch];
        long span = 2L * CropPadding + 1;
        for (int i = 0; i < batch; i++)
        {
            offsetY[i] = CropPadding > 0 ? random.NextBelow(span) : 0;
            offsetX[i] = CropPadding > 0 ? random.NextBelow(span) : 0;
            flip[i] = HorizontalFlip && random.NextBelow(2) == 1;
        }
        using var cropped = CropFlip(images, CropPadding, offsetY, offsetX, flip);
        return Normalize(cropped);
    }

    /// <summary>
    /// Normalizes uint8 images [B,C,H,W]: <c>(x/255 - mean[c]) / std[c]</c>, as float32 on the images' device.
    /// </summary>
    public Tensor Normalize(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        int channels = checked((int)images.shape[1]);
        if (channels != _mean.Length)
            throw new ArgumentException($"the images have {channels} channels but the normalization has {_mean.Length} mean values.", nameof(images));
        var scale = new float[channels];
        var shift = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = 1f / (255f * _std[c]);
            shift[c] = -_mean[c] / _std[c];
        }
        using var scaleT = torch.tensor(scale, [1, channels, 1, 1], device: images.device);
        using var shiftT = torch.tensor(shift, [1, channels, 1, 1], device: images.device);
        var result = images.to_type(ScalarType.Float32);
        result.mul_(scaleT).add_(shiftT);
        return result;
    }

    /// <summary>
    /// Crops and flips each sample of <paramref name="images"/> ([B,C,H,W], any dtype and device) with its
    /// own offset and flip: output pixel (y, x) of sample b is the zero-padded input at row
    /// <c>offsetY[b] + y</c> and column <c>offsetX[b] + x</c> (<c>offsetX[b] + W-1-x</c> when
    /// <c>flip[b]</c>), offsets in [0, 2*padding]. One pad and one gather for the whole batch.
    /// </summary>
    public static Tensor CropFlip(Tensor images, int padding, long[] offsetY, long[] offsetX, bool[] flip)
    {
        ArgumentNullException.ThrowIfNull(images);
        long b = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        if (offsetY.Length != b || offsetX.Length != b || flip.Length != b)
            throw new ArgumentException($"one offset pair and flip per sample are needed ({b} samples).");
        if (offsetY.Concat(offsetX).Any(o => o < 0 || o > 2 * padding))
            throw new ArgumentOutOfRangeException(nameof(offsetY), $"offsets must be in [0, {2 * padding}].");

        using var scope = torch.NewDisposeScope();
        var device = images.device;
        long hp = h + 2 * padding, wp = w + 2 * padding;
        var padded = padding > 0
            ? torch.nn.functional.pad(images, [padding, padding, padding, padding], PaddingModes.Constant, 0)
            : images;
        var dy = torch.tensor(offsetY, device: device).unsqueeze(1);                         // [B,1]
        var dx = torch.tensor(offsetX, device: device).unsqueeze(1);                         // [B,1]
        var fl = torch.tensor(flip.Select(f => f ? 1L : 0L).ToArray(), device: device).unsqueeze(1); // [B,1]
        var ys = torch.arange(h, ScalarType.Int64, device).unsqueeze(0);                    // [1,H]
        var xs = torch.arange(w, ScalarType.Int64, device).unsqueeze(0);                    // [1,W]
        var rows = dy + ys;                                                                  // [B,H]
        var cols = dx + xs + fl * ((w - 1) - 2 * xs);                                        // [B,W]: x or W-1-x
        var linear = (rows.unsqueeze(2) * wp + cols.unsqueeze(1)).view(b, 1, h * w).expand(b, c, h * w);
        var gathered = padded.reshape(b, c, hp * wp).gather(2, linear).view(b, c, h, w);
        return gathered.MoveToOuterDisposeScope();
    }
}
