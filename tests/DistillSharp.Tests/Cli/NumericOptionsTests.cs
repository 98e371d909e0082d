using DistillSharp.Cli;
using DistillSharp.Distillers;
using DistillSharp.Tests.Support;
using DistillSharp.Training;

namespace DistillSharp.Tests.Cli;

/// <summary>
/// Numbers the options cannot take: before, "--lr 1e308" aborted inside libtorch's optimizer (exit 134) and "--lr inf"
/// got System.CommandLine's message with "System.Nullable`1[System.Double]". Each is now the project's one line,
/// naming the option and its range, exit code 2, with nothing written.
/// </summary>
public sealed class NumericOptionsTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-numbers-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Theory]
    [InlineData("--lr must be a number in (0, 10]; got '1e308'.", "train", "--lr", "1e308")]
    [InlineData("--lr must be a number in (0, 10]; got 'inf'.", "train", "--lr", "inf")]
    [InlineData("--lr must be a number in (0, 10]; got 'Infinity'.", "train", "--lr", "Infinity")]
    [InlineData("--lr must be a number in (0, 10]; got 'NaN'.", "train", "--lr", "NaN")]
    [InlineData("--lr must be a number in (0, 10]; got 'fast'.", "train", "--lr", "fast")]
    [InlineData("--lr must be a number in (0, 10]; got '0'.", "train", "--lr", "0")]
    [InlineData("--momentum must be a number in [0, 1); got '1'.", "train", "--momentum", "1")]
    [InlineData("--weight-decay must be a number in [0, 1]; got '1e39'.", "train", "--weight-decay", "1e39")]
    [InlineData("--lr-decay must be a number in (0, 1]; got '-0.1'.", "train", "--lr-decay", "-0.1")]
    [InlineData("--warmup-epochs must be a whole number in [0, 100000]; got '2.5'.", "train", "--warmup-epochs", "2.5")]
    [InlineData("--epochs must be a whole number in [1, 100000]; got '99999999999'.", "train", "--epochs", "99999999999")]
    [InlineData("--epochs must be a whole number in [1, 100000]; got '0'.", "train", "--epochs", "0")]
    [InlineData("--batch-size must be a whole number in [1, 65536]; got '1e3'.", "train", "--batch-size", "1e3")]
    [InlineData("--subset must be a whole number in [1, 2147483647]; got '3000000000'.", "train", "--subset", "3000000000")]
    [InlineData("--test-subset must be a whole number in [1, 2147483647]; got '-5'.", "train", "--test-subset", "-5")]
    [InlineData("--seed must be a whole number in [0, 4294967295]; got '99999999999999999999999'.", "train", "--seed", "99999999999999999999999")]
    [InlineData("--milestones '5,1e400' is not a comma-separated list of epochs, each a whole number in [1, 100000], e.g. 150,180,210.", "train", "--milestones", "5,1e400")]
    [InlineData("--milestone-factors '0.1,2' is not a comma-separated list of factors, each a number in (0, 1], e.g. 0.1,0.01,0.002.", "train", "--milestone-factors", "0.1,2")]
    [InlineData("--milestone-factors needs one factor per milestone: 2 factors (0.1,0.01) for 3 milestones (5,8,9).", "train", "--schedule", "multistep", "--milestones", "5,8,9", "--milestone-factors", "0.1,0.01")]
    [InlineData("--lr must be a number in (0, 10]; got '1e308'.", "distill", "--method", "kd", "--teacher", "x", "--lr", "1e308")]
    [InlineData("--alpha must be a finite float32 number (at most ±3.4028235E+38); got 'inf'.", "distill", "--method", "kd", "--teacher", "x", "--alpha", "inf")]
    [InlineData("--temperature must be a finite float32 number (at most ±3.4028235E+38); got 'NaN'.", "distill", "--method", "kd", "--teacher", "x", "--temperature", "NaN")]
    [InlineData("--param alpha must be a finite float32 number (at most ±3.4028235E+38); got '1e39'.", "distill", "--method", "kd", "--teacher", "x", "-P", "alpha=1e39")]
    [InlineData("kd: parameter 'alpha' must be >= 0 and at most 3.4028235E+38 (float32); got -1. (α, weight of the soft-target KL term)", "distill", "--method", "kd", "--teacher", "x", "-P", "alpha=-1")]
    [InlineData("--batch-size must be a whole number in [1, 65536]; got 'all'.", "eval", "--checkpoint", "x", "--batch-size", "all")]
    [InlineData("--threads must be a whole number in [1, 1024]; got '0'.", "bench", "--threads", "0")]
    [InlineData("--steps must be a whole number in [1, 100000]; got '1e6'.", "bench", "--steps", "1e6")]
    [InlineData("--subset must be a whole number in [1, 2147483647]; got 'NaN'.", "bench", "--leak-check", "--subset", "NaN")]
    [InlineData("--classes must be a whole number in [1, 100000]; got 'x'.", "zoo", "--classes", "x")]
    [InlineData("--image-size must be a whole number in [32, 4096]; got '8'.", "zoo", "--image-size", "8")]
    [InlineData("--jobs must be a whole number in [1, 256]; got '0'.", "sweep", "never.ipynb", "-j", "0")]
    public void AValueOutsideTheOptionsRangeIsOneLineNamingTheOptionAndTheRange(string expected, params string[] args)
    {
        string never = Path.Combine(root, "never");
        var (code, output, err) = CliHarness.Run([.. args, .. args[0] is "train" or "distill" ? new[] { "--profile", "smoke", "--out", never } : []]);
        Assert.Equal(CliApp.UsageError, code);
        Assert.Equal("error: " + expected, err.Trim());
        Assert.DoesNotContain("System.", err);
        Assert.Equal("", output);
        Assert.False(Directory.Exists(never));
    }

    [Fact]
    public void AnImageSizeACifarModelCannotTakeIsOneLine()
    {
        var (code, _, err) = CliHarness.Run("zoo", "--image-size", "64");
        Assert.Equal(CliApp.UsageError, code);
        Assert.StartsWith("error: Model 'resnet8' cannot take a 3x64x64 image (it is built for 32x32): ", err);
        Assert.Single(err.Trim().Split('\n'));                                            // libtorch's message, not its stack
    }

    [Fact]
    public void TheHelpStatesEachRange()
    {
        var (code, output, _) = CliHarness.Run("train", "--help");
        Assert.Equal(0, code);
        Assert.Contains("Base learning rate: a number in (0, 10].", output);
        Assert.Contains("SGD momentum (0.9): a number in [0, 1).", output);
        Assert.Contains("Epochs to train: a whole number in [1, 100000].", output);
    }

    [Fact]
    public void TheLibraryRefusesTheSameValuesForNotebookCalls()
    {
        // A notebook builds its RunSpec in code: the same ranges hold before anything reaches libtorch.
        var spec = RunSpec.FromProfile("smoke", "none", "resnet8");
        var e = Assert.Throws<DistillSharpException>(() => Experiment.Run(spec with { Options = spec.Options with { LearningRate = 1e308 } }, null));
        Assert.Equal("--lr must be a number in (0, 10]; got 1E+308.", e.Message);
        e = Assert.Throws<DistillSharpException>(() => Experiment.Run(spec with { Options = spec.Options with { WeightDecay = double.NaN } }, null));
        Assert.Equal("--weight-decay must be a number in [0, 1]; got NaN.", e.Message);

        var kd = DistillerRegistry.Get("kd");
        e = Assert.Throws<DistillSharpException>(() => new MethodSettings("kd", kd.Parameters, new Dictionary<string, double> { ["alpha"] = 1e308 }));
        Assert.Equal("kd: parameter 'alpha' must be >= 0 and at most 3.4028235E+38 (float32); got 1E+308. (α, weight of the soft-target KL term)", e.Message);
    }
}
