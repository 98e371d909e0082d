using DistillSharp.Notebooks;
using DistillSharp.Reporting;
using DistillSharp.Training;
using static DistillSharp.Tests.Notebooks.NotebookFixtures;

namespace DistillSharp.Tests.Reporting;

public sealed class NotebookProgressTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static StepProgress Step(int step) => new(1, 5, step, 157, 0.41234, 85.2, 1234.4, TimeSpan.FromSeconds(65));

    [Fact]
    public void TheLinesSayWhereTheRunIs()
    {
        Assert.Equal("teacher: epoch 1/5  step 10/157  loss 0.4123  train top-1 85.20%  1234 img/s  ETA 1m05s",
            NotebookProgress.StatusLine("teacher", Step(10)));
        var metrics = new EpochMetrics(2, 0.0345, new Dictionary<string, double> { ["ce"] = 0.30123, ["kd"] = 0.10199 }, 88.1, 99.9, 0.35, 87.45, 99.6, 61.23);
        Assert.Equal("KD: epoch 2/5  lr 0.0345  ce 0.3012  kd 0.1020  train top-1 88.10%  test top-1 87.45%  top-5 99.60%  (61.2 s)",
            NotebookProgress.EpochLine("KD", metrics, 5));
        Assert.Equal("0m09s", NotebookProgress.Duration(TimeSpan.FromSeconds(9)));
        Assert.Equal("1h01m", NotebookProgress.Duration(TimeSpan.FromSeconds(3700)));
        Assert.Equal("KD: epoch 2/5 done, 2m03s so far: test top-1 87.45%", NotebookProgress.EpochStatus("KD", metrics, 5, 123.4, 88));
        Assert.Equal("KD: done, 2 epochs in 2m03s: test top-1 87.45% (best epoch 88.00%)", NotebookProgress.EpochStatus("KD", metrics, 2, 123.4, 88));
    }

    [Fact]
    public void TheStatusIsShownOnceThenUpdatedAtMostEveryIntervalAndAtEachEpochEnd()
    {
        var clock = new ManualClock();
        var shown = new List<string>();
        var events = new List<string>();
        var lines = new StringWriter();
        var progress = new NotebookProgress("t", value =>
        {
            events.Add("show");
            shown.Add((string)value!);
            return update => { events.Add("update"); shown.Add((string)update!); };
        }, lines, clock, TimeSpan.FromSeconds(2));

        // Steps at 0, 0.5, 1.9, 2.0, 3.0 and 4.1 s: drawn at 0 (shown), 2.0 and 4.1 (updated).
        double[] at = [0, 0.5, 1.9, 2.0, 3.0, 4.1];
        var start = clock.Now;
        for (int i = 0; i < at.Length; i++)
        {
            clock.Now = start.AddSeconds(at[i]);
            progress.OnStep(Step(i + 1));
        }
        Assert.Equal(new[] { "show", "update", "update" }, events);
        Assert.Equal(new[] { 1, 4, 6 }, shown.Select(s => int.Parse(s.Split("step ")[1].Split('/')[0], System.Globalization.CultureInfo.InvariantCulture)));

        // An epoch's end is drawn at once (0.1 s after the last draw) and printed as a line.
        clock.Now = start.AddSeconds(4.2);
        var metrics = new EpochMetrics(1, 0.05, new Dictionary<string, double> { ["ce"] = 0.5 }, 80, 99, 0.4, 85, 99.5, 4.2);
        progress.OnEpoch(metrics, 5);
        Assert.Equal("t: epoch 1/5 done, 0m04s so far: test top-1 85.00%", shown[^1]);
        Assert.Equal(4, events.Count);
        Assert.Equal(NotebookProgress.EpochLine("t", metrics, 5) + Environment.NewLine, lines.ToString());

        // The next epoch's time adds to the first's, and its best is the better of the two.
        clock.Now = start.AddSeconds(9);
        progress.OnEpoch(metrics with { Epoch = 5, TestTop1 = 84, Seconds = 70 }, 5);
        Assert.Equal("t: done, 5 epochs in 1m14s: test top-1 84.00% (best epoch 85.00%)", shown[^1]);

        progress.OnMessage("resumed after epoch 1");
        Assert.EndsWith("t: resumed after epoch 1" + Environment.NewLine, lines.ToString());
    }

    [Fact]
    public async Task InANotebookTheStatusIsOneDisplayUpdatedInPlaceBesideTheEpochLines()
    {
        var notebook = Create(Code("""
            using DistillSharp.Reporting;
            using DistillSharp.Training;
            var progress = new NotebookProgress("run", interval: TimeSpan.Zero);
            progress.OnStep(new StepProgress(1, 1, 1, 2, 1.0, 50, 10, TimeSpan.FromSeconds(3)));
            progress.OnStep(new StepProgress(1, 1, 2, 2, 0.5, 75, 20, TimeSpan.Zero));
            progress.OnEpoch(new EpochMetrics(1, 0.05, new Dictionary<string, double> { ["ce"] = 0.5 }, 75, 100, 0.4, 80, 100, 1.5), 1);
            """));
        var run = await RunAsync(notebook);
        Assert.True(run.Succeeded, run.Failure?.ToString());
        var outputs = run.Notebook.Cells[0].Outputs;
        Assert.Equal(new[] { "display_data", "stream" }, outputs.Select(o => o.OutputType));
        const string line = "run: epoch 1/1  lr 0.05  ce 0.5000  train top-1 75.00%  test top-1 80.00%  top-5 100.00%  (1.5 s)";
        Assert.Equal("run: done, 1 epoch in 0m01s: test top-1 80.00% (best epoch 80.00%)", ((RichOutput)outputs[0]).GetText(DisplayFormatters.PlainText));
        Assert.Equal(line + "\n", Stdout(run.Notebook.Cells[0]));
    }
}
