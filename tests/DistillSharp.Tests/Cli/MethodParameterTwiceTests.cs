using DistillSharp.Cli;
using DistillSharp.Tests.Support;

namespace DistillSharp.Tests.Cli;

/// <summary>
/// A method parameter given twice (a named option and -P, or -P twice): before, one of the two values was used
/// silently; now it is an error naming both, and nothing runs.
/// </summary>
public sealed class MethodParameterTwiceTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-twice-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Theory]
    [InlineData("--alpha 0.2 and -P alpha=0.7 both set method parameter 'alpha': give it once.", "--alpha", "0.2", "-P", "alpha=0.7")]
    [InlineData("--alpha 0.2 and -P alpha=0.7 both set method parameter 'alpha': give it once.", "-P", "alpha=0.7", "--alpha", "0.2")]
    [InlineData("--temperature 4 and -P temperature=2 both set method parameter 'temperature': give it once.", "--temperature", "4", "-P", "temperature=2")]
    [InlineData("-P gamma=0.1 and -P gamma=0.5 both set method parameter 'gamma': give it once.", "-P", "gamma=0.1", "-P", "gamma=0.5")]
    [InlineData("-P alpha=0.9 and -P alpha=0.9 both set method parameter 'alpha': give it once.", "-P", "alpha=0.9", "--param", "alpha=0.9")]
    public void DistillRefusesAParameterGivenTwice(string expected, params string[] twice)
    {
        string teacher = Path.Combine(root, "teacher");
        string never = Path.Combine(root, "never");
        var (code, _, err) = CliHarness.Run(["distill", "--method", "kd", "--teacher", teacher, "--profile", "smoke", .. twice, "--out", never]);
        Assert.Equal(CliApp.UsageError, code);
        Assert.Equal("error: " + expected, err.Trim());
        Assert.False(Directory.Exists(never));
    }

    [Fact]
    public void BenchRefusesAParameterGivenTwice()
    {
        var (code, output, err) = CliHarness.Run("bench", "--models", "resnet8:resnet8", "--methods", "crd", "-P", "nce_k=16", "-P", "nce_k=32");
        Assert.Equal(CliApp.UsageError, code);
        Assert.Equal("error: -P nce_k=16 and -P nce_k=32 both set method parameter 'nce_k': give it once.", err.Trim());
        Assert.Equal("", output);
    }
}
