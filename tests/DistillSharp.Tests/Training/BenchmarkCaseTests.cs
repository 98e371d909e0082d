using DistillSharp.Training.Benchmarks;

namespace DistillSharp.Tests.Training;

/// <summary>Which rows <c>distill bench</c> measures for networks alone, pairs and methods with or without a teacher.</summary>
public sealed class BenchmarkCaseTests
{
    [Fact]
    public void ANetworkAloneIsMeasuredAloneAndWithEachListedMethodThatNeedsNoTeacher()
    {
        var cases = BenchmarkCase.Defaults(["resnet32", "resnet32x4:resnet8x4"], ["none", "kd", "one", "ffm-cd"]);
        var train = cases.Where(c => c.Kind == BenchmarkKind.Train).Select(c => (c.Model, c.Method, c.Teacher)).ToArray();
        Assert.Equal(
        [
            ("resnet32", "none", null), ("resnet32", "one", null), ("resnet32", "ffm-cd", null),
            ("resnet8x4", "none", null), ("resnet8x4", "kd", "resnet32x4"), ("resnet8x4", "one", null), ("resnet8x4", "ffm-cd", null),
        ], train);
        var leaks = BenchmarkCase.LeakChecks(["resnet32"], ["one", "ffm-cd"]).Select(c => (c.Kind, c.Model, c.Method)).ToArray();
        Assert.Equal([(BenchmarkKind.Leak, "resnet32", "none"), (BenchmarkKind.Leak, "resnet32", "one"), (BenchmarkKind.Leak, "resnet32", "ffm-cd")], leaks);
        // Without a teacher-free method in the list, a network alone is one row, as before.
        Assert.Single(BenchmarkCase.Defaults(["resnet20"], ["none", "kd", "crd"]), c => c.Kind == BenchmarkKind.Train);
    }
}
