using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Data;

/// <summary>
/// A labelled image classification set, read in batches by index. It fits both sets held in memory
/// (<see cref="InMemoryImageDataset"/>) and sets streamed from disk (<see cref="ImageFolderDataset"/>): a streamed set
/// decodes only the images asked for, and offers a <see cref="Reader"/> that the <see cref="DataLoader"/> decodes
/// through on background threads. Images are uint8 in [C,H,W] layout, all of one size.
/// </summary>
public interface IImageDataset : IDisposable
{
    /// <summary>The dataset's name, e.g. <c>cifar100</c> or <c>fashion-mnist/train</c>.</summary>
    string Name { get; }

    /// <summary>The number of samples.</summary>
    int Count { get; }

    /// <summary>The number of classes; every label is in [0, NumClasses).</summary>
    int NumClasses { get; }

    /// <summary>Channels per image (1 for MNIST-like sets, 3 for colour).</summary>
    int Channels { get; }

    /// <summary>Image height in pixels.</summary>
    int Height { get; }

    /// <summary>Image width in pixels.</summary>
    int Width { get; }

    /// <summary>All labels: int64 [Count] on the CPU. Owned by the dataset: do not dispose.</summary>
    Tensor Labels { get; }

    /// <summary>
    /// The images at <paramref name="indices"/> (int64 [B] on the CPU, each in [0, Count)), as a new uint8
    /// tensor [B,C,H,W] on the CPU that the caller owns and disposes.
    /// </summary>
    Tensor GetImages(Tensor indices);

    /// <summary>
    /// For a set streamed from files, the reader that decodes its samples into managed memory on any thread (the
    /// <see cref="DataLoader"/> then reads ahead through it and skips unreadable images); null, the default, for a set
    /// held in tensors, which is read with <see cref="GetImages"/>.
    /// </summary>
    ISampleReader? Reader => null;
}
