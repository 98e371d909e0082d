using DistillSharp.Training;

namespace DistillSharp.Tests.Training;

public sealed class LearningRateScheduleTests
{
    [Theory]
    // RepDistiller: lr 0.05, x0.1 at 150/180/210 of 240, applied when epoch > milestone (epochs 1-based).
    [InlineData(1, 0.05)]
    [InlineData(150, 0.05)]
    [InlineData(151, 0.005)]
    [InlineData(180, 0.005)]
    [InlineData(181, 0.0005)]
    [InlineData(210, 0.0005)]
    [InlineData(211, 0.00005)]
    [InlineData(240, 0.00005)]
    public void MultiStepMatchesRepDistillerAtTheMilestones(int epoch, double expected)
    {
        var s = LearningRateSchedule.Create("multistep", 0.05, 240, [150, 180, 210], 0.1, 0);
        Assert.Equal(expected, s.At(epoch), 12);
    }

    [Fact]
    public void CosineStartsAtBaseAndEndsNearZero()
    {
        var s = LearningRateSchedule.Create("cosine", 0.1, 10, [], 0.1, 0);
        Assert.Equal(0.1, s.At(1, 0, 100), 12);
        // Half-way: t = 500 of 1000 steps → 0.1 · ½ (1 + cos(π/2)) = 0.05.
        Assert.Equal(0.05, s.At(6, 0, 100), 12);
        Assert.Equal(0.1 * 0.5 * (1 + Math.Cos(Math.PI * 999 / 1000)), s.At(10, 99, 100), 12);
    }

    [Fact]
    public void WarmupRisesLinearlyToTheSchedule()
    {
        var s = LearningRateSchedule.Create("constant", 0.2, 10, [], 0.1, 2);
        Assert.Equal(0.2 * 1 / 20.0, s.At(1, 0, 10), 12);
        Assert.Equal(0.2 * 15 / 20.0, s.At(2, 4, 10), 12);
        Assert.Equal(0.2, s.At(2, 9, 10), 12);
        Assert.Equal(0.2, s.At(3, 0, 10), 12);
    }

    /// <summary>
    /// LONDON's CIFAR scripts (settings c, d, f) build a new optimizer at 0-based epochs 100, 150 and 175 of 200 with
    /// η/10, η/100 and η/500: the rate of every epoch, transcribed from that loop, against milestones 100,150,175 with
    /// factors 0.1, 0.01, 0.002 (powers of one γ cannot give the last step).
    /// </summary>
    [Fact]
    public void MilestoneFactorsGiveTheOfficialLondonRatesAtEveryEpoch()
    {
        var s = LearningRateSchedule.Create("multistep", 0.1, 200, [100, 150, 175], 0.1, 0, [0.1, 0.01, 0.002]);
        double official = 0;
        for (int e0 = 0; e0 < 200; e0++)
        {
            if (e0 == 0) official = 0.1;
            else if (e0 == 200 * 1 / 2) official = 0.1 / 10;
            else if (e0 == 200 * 3 / 4) official = 0.1 / 100;
            else if (e0 == 200 * 7 / 8) official = 0.1 / 500;
            Assert.Equal(official, s.At(e0 + 1, 3, 10), 15);
        }
        var powers = LearningRateSchedule.Create("multistep", 0.1, 200, [100, 150, 175], 0.1, 0);
        Assert.NotEqual(s.At(200), powers.At(200), 6);   // 2e-4 against 1e-4
    }

    [Fact]
    public void MilestoneFactorsNeedOnePerMilestoneInRangeAndTheMultistepSchedule()
    {
        Assert.Equal("--milestone-factors needs one factor per milestone: 2 factors (0.1,0.01) for 3 milestones (100,150,175).",
            Assert.Throws<DistillSharpException>(() => LearningRateSchedule.Create("multistep", 0.1, 200, [100, 150, 175], 0.1, 0, [0.1, 0.01])).Message);
        Assert.Equal("--milestone-factors must be a number in (0, 1]; got 0.",
            Assert.Throws<DistillSharpException>(() => LearningRateSchedule.Create("multistep", 0.1, 200, [100, 150], 0.1, 0, [0.1, 0])).Message);
        Assert.Equal("--milestone-factors sets the rate at each multistep milestone; the schedule is 'cosine'.",
            Assert.Throws<DistillSharpException>(() => LearningRateSchedule.Create("cosine", 0.1, 200, [], 0.1, 0, [0.1])).Message);
        Assert.Equal(0.1 * 0.1 * 0.1, LearningRateSchedule.Create("multistep", 0.1, 200, [100, 150], 0.1, 0, []).At(151), 15);
    }

    [Fact]
    public void BadValuesAreErrorsNamingTheOption()
    {
        Assert.Contains("multistep, cosine, constant", Assert.Throws<DistillSharpException>(() => LearningRateSchedule.Create("step", 0.1, 10, [], 0.1, 0)).Message);
        Assert.Contains("--lr", Assert.Throws<DistillSharpException>(() => LearningRateSchedule.Create("cosine", -1, 10, [], 0.1, 0)).Message);
        Assert.Contains("--milestones", Assert.Throws<DistillSharpException>(() => LearningRateSchedule.Create("multistep", 0.1, 10, [5, 3], 0.1, 0)).Message);
    }
}
