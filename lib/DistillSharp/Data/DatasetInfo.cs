namespace DistillSharp.Data;

/// <summary>
/// What DistillSharp knows about a dataset: its size and shape, the normalization statistics, where it is
/// stored below a data root, which data-script fetches it, and the Debian package that ships it, if any.
/// </summary>
/// <param name="Name">The catalog name, e.g. <c>cifar100</c>.</param>
/// <param name="Title">The usual name, e.g. <c>CIFAR-100</c>.</param>
/// <param name="NumClasses">The number of classes.</param>
/// <param name="Channels">Channels per image.</param>
/// <param name="Height">Image height as loaded (after the zero padding of 28x28 sets to 32x32).</param>
/// <param name="Width">Image width as loaded.</param>
/// <param name="StoredHeight">Image height in the files on disk; 0 where it varies (ImageNet).</param>
/// <param name="StoredWidth">Image width in the files on disk; 0 where it varies.</param>
/// <param name="Mean">Per-channel mean of the training images scaled to [0,1] (see <see cref="StatsSource"/>).</param>
/// <param name="Std">Per-channel standard deviation of the training images scaled to [0,1].</param>
/// <param name="StatsSource">Where <paramref name="Mean"/> and <paramref name="Std"/> come from.</param>
/// <param name="Folder">The folder below a data root that holds the set, e.g. <c>cifar100</c>.</param>
/// <param name="FetchScript">The script that fetches the set, relative to the repository, e.g. <c>data-scripts/cifar100.sh</c>.</param>
/// <param name="DebianPackage">The Debian package that installs the set under <c>/usr/share/datasets</c>, or null.</param>
/// <param name="TrainCount">Training samples in the official split.</param>
/// <param name="TestCount">Test samples in the official split.</param>
/// <param name="InMemory">True when <see cref="DatasetCatalog.Load"/> reads the set into memory; false for
/// sets streamed from image folders (<see cref="ImageFolderDataset"/>).</param>
/// <param name="HorizontalFlip">Whether the training augmentation flips images horizontally (not for digits).</param>
public sealed record DatasetInfo(
    string Name,
    string Title,
    int NumClasses,
    int Channels,
    int Height,
    int Width,
    int StoredHeight,
    int StoredWidth,
    IReadOnlyList<float> Mean,
    IReadOnlyList<float> Std,
    string StatsSource,
    string Folder,
    string FetchScript,
    string? DebianPackage,
    int TrainCount,
    int TestCount,
    bool InMemory,
    bool HorizontalFlip)
{
    /// <summary>
    /// The zero padding of the training augmentation's random crop (<see cref="Augmentation.Train"/>): 4 for the 32x32
    /// sets (RepDistiller's <c>RandomCrop(32, padding=4)</c>), 0 for ImageNet, whose crop is made when an image is
    /// decoded (<see cref="RandomResizedCrop"/>).
    /// </summary>
    public int TrainCropPadding { get; init; } = 4;
}
