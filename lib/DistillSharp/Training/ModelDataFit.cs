using DistillSharp.Data;
using DistillSharp.Models;

namespace DistillSharp.Training;

/// <summary>
/// Whether a network fits a dataset: its number of classes, its input channels and the image sizes it takes
/// (<see cref="ModelZoo.ImageSizes"/>). Checked before any image or label of the data reaches the network, because
/// libtorch answers a mismatch by aborting the process ("Target 10 is out of bounds", "Expected ... channels to
/// Conv2d") instead of with an error the program can report.
/// </summary>
public static class ModelDataFit
{
    /// <summary>
    /// Throws when <paramref name="model"/>, built for <paramref name="numClasses"/> classes and
    /// <paramref name="inChannels"/> input channels, does not fit <paramref name="info"/>; the message reads
    /// "WHAT holds MODEL for 10 classes and 1 channel (TRAINED-ON); DATASET has 100 classes and 3 channels: REMEDY."
    /// </summary>
    /// <param name="what">What holds the network, e.g. <c>checkpoint runs/t/checkpoints/last.ckpt</c>.</param>
    /// <param name="model">The network's zoo name.</param>
    /// <param name="numClasses">The classes its classifier has.</param>
    /// <param name="inChannels">The channels its first layer takes.</param>
    /// <param name="info">The dataset it is about to see.</param>
    /// <param name="trainedOn">The dataset it was trained on, or null.</param>
    /// <param name="remedy">What the user can do, the end of the message.</param>
    /// <exception cref="DistillSharpException">The classes, the channels or the image size differ, or the model is unknown.</exception>
    public static void Check(string what, string model, int numClasses, int inChannels, DatasetInfo info, string? trainedOn = null,
        string remedy = "use it on a dataset of that shape")
    {
        ArgumentNullException.ThrowIfNull(info);
        var (min, max) = ModelZoo.ImageSizes(model);
        bool sizeFits = SizeFits(info, min, max);
        if (numClasses == info.NumClasses && inChannels == info.Channels && sizeFits) return;
        string modelShape = Shape(numClasses, inChannels, sizeFits ? null : Sizes(min, max));
        string dataShape = Shape(info.NumClasses, info.Channels, sizeFits ? null : $"{info.Height}x{info.Width} images");
        throw new DistillSharpException(
            $"{what} holds {model} for {modelShape}{(trainedOn is null ? "" : $" ({trainedOn})")}; {info.Name} has {dataShape}: {remedy}.");
    }

    /// <summary>Checks a checkpoint about to be evaluated on <paramref name="dataset"/> (null: the one it was trained on).</summary>
    /// <exception cref="DistillSharpException">It does not fit, or the dataset is unknown.</exception>
    public static void CheckEvaluation(string checkpointPath, CheckpointHeader header, string? dataset)
    {
        ArgumentNullException.ThrowIfNull(header);
        var info = DatasetCatalog.Info(dataset ?? header.Dataset);
        string remedy = "evaluate it on a dataset of that shape" + (Known(header.Dataset) && header.Dataset != info.Name ? $" (--dataset {header.Dataset})" : "");
        Check($"checkpoint {checkpointPath}", header.Model, header.NumClasses, header.InChannels, info, header.Dataset, remedy);
    }

    /// <summary>Checks a teacher checkpoint against the dataset a student is about to be distilled on.</summary>
    /// <param name="teacher">The teacher as the user named it (a run folder or a checkpoint file).</param>
    /// <param name="header">The teacher checkpoint's header.</param>
    /// <param name="info">The distillation's dataset.</param>
    /// <exception cref="DistillSharpException">It does not fit.</exception>
    public static void CheckTeacher(string teacher, CheckpointHeader header, DatasetInfo info)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(info);
        string sameShape = Known(header.Dataset) && header.Dataset != info.Name ? $" (--dataset {header.Dataset})" : "";
        Check($"teacher {teacher}", header.Model, header.NumClasses, header.InChannels, info, header.Dataset,
            $"distil on a dataset of that shape{sameShape}, or first train a teacher on {info.Name} (distill train --dataset {info.Name})");
    }

    /// <summary>
    /// Checks that the network <paramref name="student"/> takes <paramref name="info"/>'s images (it is built for the
    /// dataset's classes and channels, so only the image size can differ).
    /// </summary>
    /// <exception cref="DistillSharpException">It does not take that size, or the model is unknown.</exception>
    public static void CheckStudent(string student, DatasetInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var (min, max) = ModelZoo.ImageSizes(student);
        if (SizeFits(info, min, max)) return;
        throw new DistillSharpException(
            $"network {student} takes {Sizes(min, max)}; {info.Name} has {info.Height}x{info.Width} images: " +
            "choose a network that takes them ('distill zoo' lists each one's input; the *_imagenet ResNets take 32x32 and larger).");
    }

    /// <summary>
    /// Checks the networks of <paramref name="spec"/> against its dataset without loading any data: the student's
    /// image size, and the teacher checkpoint's classes, channels and image size (from its header).
    /// </summary>
    /// <exception cref="DistillSharpException">A network does not fit, the dataset or a model is unknown, or the teacher cannot be found.</exception>
    public static void CheckRun(RunSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var info = DatasetCatalog.Info(spec.Dataset);
        CheckStudent(spec.Student, info);
        if (spec.Teacher is not null)
        {
            CheckTeacher(spec.Teacher, Checkpoint.ReadHeader(Checkpoint.ResolveTeacher(spec.Teacher)), info);
        }
    }

    private static bool SizeFits(DatasetInfo info, int min, int max) =>
        info.Height >= min && info.Height <= max && info.Width >= min && info.Width <= max;

    private static bool Known(string dataset) => DatasetCatalog.Names.Contains(dataset);

    private static string Sizes(int min, int max) => min == max ? $"{min}x{min} images" : $"images of {min}x{min} or larger";

    private static string Shape(int classes, int channels, string? size)
    {
        string c = $"{classes} {(classes == 1 ? "class" : "classes")}", ch = $"{channels} {(channels == 1 ? "channel" : "channels")}";
        return size is null ? $"{c} and {ch}" : $"{c}, {ch} and {size}";
    }
}
