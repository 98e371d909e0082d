using DistillSharp.Models;
using BatchNorm2d = TorchSharp.Modules.BatchNorm2d;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Support;

/// <summary>
/// The reference scripts' teacher calibration (tests/reference/mimkd_reference.py, <c>calibrate</c>): running statistics
/// set to the batch's by one train-mode pass at momentum 1, then eval mode (the formula fill's own statistics make the
/// teacher's features nearly constant across images).
/// </summary>
internal static class TeacherCalibration
{
    public static void Apply(ZooModel teacher, Tensor images)
    {
        var norms = teacher.modules().OfType<BatchNorm2d>().ToArray();
        foreach (var bn in norms) bn.momentum = 1.0;
        teacher.train();
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            teacher.forward(images);
        }
        foreach (var bn in norms) bn.momentum = 0.1;
        teacher.eval();
    }
}
