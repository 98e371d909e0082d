using DistillSharp.Models;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>What a method may need to build itself: the networks, the training set's size and labels, and a seed.</summary>
/// <param name="Student">The network being trained.</param>
/// <param name="Teacher">The pre-trained teacher, or null for methods that train without one (baselines, online KD).</param>
/// <param name="TrainCount">N, the number of training samples (memory banks have one slot per sample).</param>
/// <param name="TrainLabels">All training labels, int64 [N] (CRD draws negatives from other classes).</param>
/// <param name="NumClasses">The number of classes.</param>
/// <param name="Channels">Input channels.</param>
/// <param name="ImageSize">Input height and width.</param>
/// <param name="Seed">The run's seed; methods derive their own generators from it.</param>
public sealed record DistillerContext(
    ZooModel Student, ZooModel? Teacher, long TrainCount, Tensor TrainLabels, int NumClasses, int Channels, int ImageSize, long Seed)
{
    /// <summary>The teacher, or an error naming the method that needs one.</summary>
    public ZooModel RequireTeacher(string method) => Teacher
        ?? throw new DistillSharpException($"method '{method}' needs a teacher: pass --teacher RUN_FOLDER_OR_CHECKPOINT.");

    /// <summary>
    /// The width of the pooled penultimate feature of <paramref name="model"/>, found by one forward pass on a
    /// zero input in eval mode (so batch statistics are not touched).
    /// </summary>
    public int PooledWidth(ZooModel model)
    {
        using var scope = NewDisposeScope();
        using var guard = no_grad();
        bool wasTraining = model.training;
        model.eval();
        var device = model.parameters().First().device;
        var output = model.forward(zeros(new long[] { 1, Channels, ImageSize, ImageSize }, device: device));
        if (wasTraining) model.train();
        return (int)output.Pooled.shape[1];
    }
}
