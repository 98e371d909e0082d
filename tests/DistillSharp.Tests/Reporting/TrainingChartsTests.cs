using DistillSharp.Reporting;
using DistillSharp.Training;
using static DistillSharp.Tests.Reporting.ChartJson;

namespace DistillSharp.Tests.Reporting;

public sealed class TrainingChartsTests
{
    private static EpochMetrics Epoch(int epoch, double lr, double top1, params (string Term, double Value)[] losses) =>
        new(epoch, lr, losses.ToDictionary(l => l.Term, l => l.Value), 0, 0, 0, top1, 0, 1);

    private static readonly LabelledRun Teacher = new("teacher", [Epoch(1, 0.05, 50.0, ("ce", 1.25)), Epoch(2, 0.025, 60.5, ("ce", 0.75)), Epoch(3, 0.0, 70.25, ("ce", 0.5))]);
    private static readonly LabelledRun Kd = new("KD", [Epoch(1, 0.05, 40.0, ("ce", 0.125), ("kd", 2.5)), Epoch(2, 0.0, 45.0, ("ce", 0.0625), ("kd", 1.5))]);

    [Fact]
    public void TestTop1HasOneTitledLinePerRunWithItsEpochsAndAccuracies()
    {
        var chart = TrainingCharts.TestTop1([Teacher, Kd]);
        var traces = Traces(chart);
        Assert.Equal(new[] { "teacher", "KD" }, traces.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(new double[] { 1, 2, 3 }, traces[0].GetProperty("x").Doubles());
        Assert.Equal(new[] { 50.0, 60.5, 70.25 }, traces[0].GetProperty("y").Doubles());
        Assert.Equal(new double[] { 1, 2 }, traces[1].GetProperty("x").Doubles());
        Assert.Equal(new[] { 40.0, 45.0 }, traces[1].GetProperty("y").Doubles());
        Assert.All(traces, t => Assert.Equal("lines+markers", t.GetProperty("mode").GetString()));
        Assert.Equal("Test top-1 accuracy after each epoch", Title(chart));
        Assert.Equal("epoch (passes over the training set)", AxisTitle(chart, "xaxis"));
        Assert.Equal("test top-1 accuracy (%)", AxisTitle(chart, "yaxis"));
        var layout = Figure(chart).GetProperty("layout");
        Assert.Equal((900, 500), (layout.GetProperty("width").GetInt32(), layout.GetProperty("height").GetInt32()));
    }

    [Fact]
    public void LossTermsHaveOneLinePerRunAndTerm()
    {
        var chart = TrainingCharts.LossTerms([Teacher, Kd], "Losses");
        var traces = Traces(chart);
        Assert.Equal(new[] { "teacher: ce", "KD: ce", "KD: kd" }, traces.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(new[] { 1.25, 0.75, 0.5 }, traces[0].GetProperty("y").Doubles());
        Assert.Equal(new[] { 0.125, 0.0625 }, traces[1].GetProperty("y").Doubles());
        Assert.Equal(new[] { 2.5, 1.5 }, traces[2].GetProperty("y").Doubles());
        Assert.Equal("Losses", Title(chart));
        Assert.Equal("loss term (nats, mean over the epoch's batches, weight included)", AxisTitle(chart, "yaxis"));
        Assert.Equal("epoch (passes over the training set)", AxisTitle(chart, "xaxis"));
    }

    [Fact]
    public void LearningRateHasOneLinePerRunWithTheRecordedRates()
    {
        var chart = TrainingCharts.LearningRate([Teacher, Kd]);
        var traces = Traces(chart);
        Assert.Equal(new[] { 0.05, 0.025, 0.0 }, traces[0].GetProperty("y").Doubles());
        Assert.Equal(new[] { 0.05, 0.0 }, traces[1].GetProperty("y").Doubles());
        Assert.Equal("Learning-rate schedule", Title(chart));
        Assert.Equal("learning rate η (per step, at the epoch's last step)", AxisTitle(chart, "yaxis"));
    }

    [Fact]
    public void AccuracyBarsShowEachValueWithItsErrorBar()
    {
        var chart = TrainingCharts.AccuracyBars([new("teacher", 91.25, 0.5), new("KD", 88.5), new("CRD", 89.0, 1.5)], "Top-1 by method", "method");
        var bar = Assert.Single(Traces(chart));
        Assert.Equal("bar", bar.GetProperty("type").GetString());
        Assert.Equal(new[] { "teacher", "KD", "CRD" }, bar.GetProperty("x").Strings());
        Assert.Equal(new[] { 91.25, 88.5, 89.0 }, bar.GetProperty("y").Doubles());
        Assert.Equal(new[] { "91.25", "88.50", "89.00" }, bar.GetProperty("text").Strings());
        var error = bar.GetProperty("error_y");
        Assert.Equal("data", error.GetProperty("type").GetString());
        Assert.Equal(new[] { 0.5, 0.0, 1.5 }, error.GetProperty("array").Doubles());   // a bar without an error gets 0
        Assert.Equal("Top-1 by method", Title(chart));
        Assert.Equal("method", AxisTitle(chart, "xaxis"));
        Assert.Equal("test top-1 accuracy (%)", AxisTitle(chart, "yaxis"));

        var plain = Assert.Single(Traces(TrainingCharts.AccuracyBars([new("a", 1), new("b", 2)])));
        Assert.False(plain.TryGetProperty("error_y", out _));
    }

    [Fact]
    public void SoftenedDistributionsAreTheSoftmaxOfTheLogitsOverT()
    {
        double[] z = [2.0, 1.0, 0.1];
        double[] temperatures = [1, 4];
        var chart = TrainingCharts.SoftenedDistributions(z, temperatures, ["shirt", "coat", "bag"]);
        var traces = Traces(chart);
        Assert.Equal(new[] { "T = 1", "T = 4" }, traces.Select(t => t.GetProperty("name").GetString()));
        for (int k = 0; k < temperatures.Length; k++)
        {
            // By hand: exp(z_i / T) / sum_j exp(z_j / T).
            var e = z.Select(v => Math.Exp(v / temperatures[k])).ToArray();
            var expected = e.Select(v => v / e.Sum()).ToArray();
            Assert.Equal(new[] { "shirt", "coat", "bag" }, traces[k].GetProperty("x").Strings());
            var y = traces[k].GetProperty("y").Doubles();
            for (int i = 0; i < z.Length; i++) Assert.Equal(expected[i], y[i], 12);
        }
        // The textbook values of softmax([2, 1, 0.1]) at T = 1.
        var p = TrainingCharts.SoftenedDistribution(z, 1);
        Assert.Equal(0.6590011, p[0], 6);
        Assert.Equal(0.2424330, p[1], 6);
        Assert.Equal(0.0985659, p[2], 6);
        Assert.Equal("Softened distributions softmax(z / T) of one logit vector", Title(chart));
        Assert.Equal("class", AxisTitle(chart, "xaxis"));
        Assert.Equal("probability softmax(z / T)ᵢ (0 to 1)", AxisTitle(chart, "yaxis"));
    }

    [Fact]
    public void LinesDrawEachSeriesAtItsPointsWithTheGivenTitles()
    {
        var chart = TrainingCharts.Lines(
            [new("analytic", [0.0, 0.5, 0.9], [0.0, 0.2877, 1.6607]), new("estimate", [0.0, 0.9], [0.01, 1.2])],
            "Estimates", "correlation ρ", "information (nats)");
        var traces = Traces(chart);
        Assert.Equal(new[] { "analytic", "estimate" }, traces.Select(t => t.GetProperty("name").GetString()));
        Assert.Equal(new[] { 0.0, 0.5, 0.9 }, traces[0].GetProperty("x").Doubles());
        Assert.Equal(new[] { 0.0, 0.2877, 1.6607 }, traces[0].GetProperty("y").Doubles());
        Assert.Equal(new[] { 0.0, 0.9 }, traces[1].GetProperty("x").Doubles());
        Assert.Equal(new[] { 0.01, 1.2 }, traces[1].GetProperty("y").Doubles());
        Assert.All(traces, t => Assert.Equal("lines+markers", t.GetProperty("mode").GetString()));
        Assert.Equal("Estimates", Title(chart));
        Assert.Equal("correlation ρ", AxisTitle(chart, "xaxis"));
        Assert.Equal("information (nats)", AxisTitle(chart, "yaxis"));

        var uneven = Assert.Throws<DistillSharpException>(() => TrainingCharts.Lines([new("a", [1.0, 2.0], [1.0])], "t", "x", "y"));
        Assert.Equal("Lines: series 'a' has 2 x values and 1 y values; give it one y per x, at least one point.", uneven.Message);
        Assert.Contains("y-axis title is empty", Assert.Throws<DistillSharpException>(() => TrainingCharts.Lines([new("a", [1.0], [1.0])], "t", "x", " ")).Message);
        Assert.Contains("labelled 'a'", Assert.Throws<DistillSharpException>(() => TrainingCharts.Lines([new("a", [1.0], [1.0]), new("a", [2.0], [2.0])], "t", "x", "y")).Message);
    }

    [Fact]
    public void BadInputsAreErrorsNamingTheFix()
    {
        var repeated = Assert.Throws<DistillSharpException>(() => TrainingCharts.TestTop1([Teacher, Teacher]));
        Assert.Equal("TestTop1: more than one series is labelled 'teacher'; give each its own label so the legend tells them apart.", repeated.Message);
        var none = Assert.Throws<DistillSharpException>(() => TrainingCharts.AccuracyBars([]));
        Assert.Equal("AccuracyBars: give at least one run or bar to plot.", none.Message);
        var names = Assert.Throws<DistillSharpException>(() => TrainingCharts.SoftenedDistributions([1.0, 2.0], [1.0], ["a"]));
        Assert.Equal("SoftenedDistributions: 2 logits but 1 class names; give one name per logit.", names.Message);
        Assert.Throws<DistillSharpException>(() => TrainingCharts.SoftenedDistribution([1.0], 0));
    }
}
