using DistillSharp.Distillers;
using DistillSharp.Training;
using TorchSharp.Modules;

namespace DistillSharp.Tests.Support;

/// <summary>What a distiller's optimizer updates, as the trainer builds it (<see cref="OptimizerSetup"/>).</summary>
internal static class OptimizerChecks
{
    /// <summary>The parameters in the optimizer's groups for <paramref name="distiller"/>, compared by reference.</summary>
    public static HashSet<Parameter> Optimized(Distiller distiller, TrainingOptions options)
    {
        using var setup = new OptimizerSetup(distiller, options);
        return setup.Groups.SelectMany(g => g.Parameters).ToHashSet<Parameter>(ReferenceEqualityComparer.Instance);
    }

    /// <summary>
    /// Every parameter of the method (the student's and the method's own parts, all registered children of the
    /// distiller) is in the optimizer, and none of the teacher's is.
    /// </summary>
    public static void HoldsTheMethodAndNotTheTeacher(Distiller distiller, TrainingOptions options)
    {
        var optimized = Optimized(distiller, options);
        Assert.All(distiller.parameters(), p => Assert.Contains(p, optimized));
        Assert.DoesNotContain(distiller.Teacher!.parameters(), p => optimized.Contains(p));
    }
}
