using DistillSharp.Cli;
using DistillSharp.Tests.Data;
using DistillSharp.Tests.Support;
using DistillSharp.Training;

namespace DistillSharp.Tests.Cli;

[Collection(TrainingCollection.Name)]
public sealed class TrainingCommandsTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-cli-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [DebianFashionMnistFact]
    public void TrainThenDistillWithKdAndCrdThenEvaluateAtTheSmokeProfile()
    {
        string teacher = Path.Combine(root, "teacher");
        var t = Run("train", "--profile", "smoke", "--model", "resnet8", "--device", "cpu", "--out", teacher);
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("epoch 1/1", t.Out);
        var folder = new RunFolder(teacher);
        Assert.True(File.Exists(folder.Config) && File.Exists(folder.Summary) && File.Exists(folder.BestCheckpoint));
        var header = Checkpoint.ReadHeader(folder.LastCheckpoint);
        Assert.Equal(("resnet8", 10, 1, "fashion-mnist", 1), (header.Model, header.NumClasses, header.InChannels, header.Dataset, header.Epoch));
        var metrics = EpochMetrics.ReadCsv(folder.Metrics);
        Assert.Single(metrics);
        Assert.Equal(["ce"], metrics[0].Losses.Keys);

        foreach (var (method, terms) in new[] { ("kd", new[] { "ce", "kd" }), ("crd", new[] { "ce", "crd" }) })
        {
            string out_ = Path.Combine(root, method);
            var d = Run("distill", "--method", method, "--teacher", teacher, "--student", "resnet8", "--profile", "smoke", "--device", "cpu", "--out", out_);
            Assert.True(d.Code == 0, d.Err);
            var m = EpochMetrics.ReadCsv(new RunFolder(out_).Metrics).Single();
            Assert.Equal(terms.Order(), m.Losses.Keys.Order());
            Assert.All(m.Losses.Values, v => Assert.True(double.IsFinite(v)));
        }

        var e = Run("eval", "--checkpoint", teacher, "--device", "cpu");
        Assert.True(e.Code == 0, e.Err);
        Assert.Contains("resnet8 on fashion-mnist test (10000 images)", e.Out);

        // A second run into the same folder is refused without --resume; with it, a finished run just reports.
        var again = Run("train", "--profile", "smoke", "--model", "resnet8", "--device", "cpu", "--out", teacher);
        Assert.Equal(CliApp.UsageError, again.Code);
        Assert.Contains("--resume", again.Err);
    }

    [Theory]
    [InlineData("Unknown model 'resnet9'", "train", "--model", "resnet9")]
    [InlineData("unknown method 'fitnet'; choose one of: none, kd, crd", "distill", "--method", "fitnet", "--teacher", "x")]
    [InlineData("--lr must be a number in (0, 10]; got '-1'.", "train", "--lr", "-1")]
    [InlineData("--profile 'fast' is not a profile; choose one of: smoke, cpu, paper", "train", "--profile", "fast")]
    [InlineData("--schedule 'step' is not a schedule", "train", "--schedule", "step")]
    [InlineData("method 'kd' has no parameter 'nce_k'", "distill", "--method", "kd", "--teacher", "x", "-P", "nce_k=5")]
    [InlineData("method 'kd' needs --teacher", "distill", "--method", "kd")]
    [InlineData("--device 'tpu' is not a device", "train", "--device", "tpu")]
    [InlineData("--param 'alpha' is not name=number", "distill", "--method", "kd", "--teacher", "x", "-P", "alpha")]
    public void BadInputIsAOneLineErrorNamingTheChoices(string expected, params string[] args)
    {
        var (code, _, err) = Run([.. args, "--out", Path.Combine(root, "never")]);
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains(expected, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(root, "never", "checkpoints")));
    }

    [Fact]
    public void ZooListsEveryModelWithTheReferenceParameterCounts()
    {
        var (code, output, err) = Run("zoo", "--format", "csv");
        Assert.True(code == 0, err);
        var rows = output.Trim().Split('\n').Skip(1).Select(l => l.Split(',')).ToDictionary(f => f[0], f => long.Parse(f[1]));
        var golden = Golden.Load("zoo.json").GetProperty("models");
        Assert.Equal(golden.EnumerateObject().Select(p => p.Name).Order(), rows.Keys.Order());
        foreach (var model in golden.EnumerateObject())
        {
            Assert.Equal(model.Value.GetProperty("params").GetInt64(), rows[model.Name]);
        }
        var table = Run("zoo");
        Assert.Contains("resnet8x4", table.Out);
        Assert.Contains("1,233,540", table.Out);
    }
}
