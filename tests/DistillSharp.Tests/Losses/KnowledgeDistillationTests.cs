using DistillSharp.Losses;
using DistillSharp.Tests.Support;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Losses;

public sealed class KnowledgeDistillationTests
{
    [Fact]
    public void TwoClassLossEqualsHandComputation()
    {
        // One sample, two classes: p = softmax([2, 0]/T), q = softmax([0, 1]/T); KL = Σ p log(p/q), times T².
        const double t = 2.0;
        using var s = tensor(new float[] { 0, 1 }, [1, 2]);
        using var te = tensor(new float[] { 2, 0 }, [1, 2]);
        double p0 = 1 / (1 + Math.Exp(-2 / t)), p1 = 1 - p0;
        double q0 = 1 / (1 + Math.Exp(1 / t)), q1 = 1 - q0;
        double expected = (p0 * Math.Log(p0 / q0) + p1 * Math.Log(p1 / q1)) * t * t;
        using var loss = KnowledgeDistillation.SoftTargetLoss(s, te, t);
        Assert.Equal(expected, loss.item<float>(), 5);
    }

    [Fact]
    public void LossIsZeroWhenLogitsAgree()
    {
        using var z = Golden.Fill([4, 10], 0.37, 0.2, 3.0);
        using var loss = KnowledgeDistillation.SoftTargetLoss(z, z.clone(), 4.0);
        Assert.True(Math.Abs(loss.item<float>()) < 1e-6);
    }

    [Fact]
    public void LossAndGradientMatchPyTorch()
    {
        foreach (var c in Golden.Load("losses.json").GetProperty("kd").EnumerateArray())
        {
            double t = c.GetProperty("temperature").GetDouble();
            using var s = Golden.Fill([3, 5], 0.7, 0.1, 2.0).requires_grad_(true);
            using var te = Golden.Fill([3, 5], 0.3, 0.5, 3.0);
            using var loss = KnowledgeDistillation.SoftTargetLoss(s, te, t);
            loss.backward();
            Golden.AssertClose([(float)c.GetProperty("loss").GetDouble()], [loss.item<float>()], 1e-5);
            Golden.AssertClose(c.GetProperty("grad").Floats(), s.grad!.data<float>().ToArray(), 1e-4, 1e-7);
        }
    }

    [Fact]
    public void TeacherReceivesNoGradient()
    {
        using var s = Golden.Fill([2, 3], 0.5, 0.0).requires_grad_(true);
        using var te = Golden.Fill([2, 3], 0.9, 1.0).requires_grad_(true);
        using var loss = KnowledgeDistillation.SoftTargetLoss(s, te, 4.0);
        loss.backward();
        Assert.Null(te.grad);
        Assert.NotNull(s.grad);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void BadTemperatureIsAnError(double t)
    {
        using var z = zeros(2, 3);
        var e = Assert.Throws<DistillSharpException>(() => KnowledgeDistillation.SoftTargetLoss(z, z, t));
        Assert.Contains("temperature", e.Message);
    }

    [Fact]
    public void MismatchedShapesAreAnError()
    {
        using var s = zeros(2, 3);
        using var t = zeros(2, 4);
        var e = Assert.Throws<DistillSharpException>(() => KnowledgeDistillation.SoftTargetLoss(s, t, 4));
        Assert.Contains("[2, 3]", e.Message);
    }
}
