using System.Globalization;
using System.Text.Json;
using DistillSharp.Cli;
using DistillSharp.Tests.Support;

namespace DistillSharp.Tests.Training;

/// <summary>
/// <c>distill bench</c> on tiny settings: it runs, its table, CSV and JSON are well formed, and the leak check reports
/// a row per epoch. No timing is asserted: speed belongs to the command's output, not to tests.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class BenchCommandTests
{
    private static readonly string[] Tiny = ["bench", "--models", "resnet8", "--batch-size", "8", "--warmup", "1", "--windows", "2", "--steps", "2"];

    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [Fact]
    public void TablePrintsTheMachineAndOneRowPerTrainingEvaluationAndDataMeasurement()
    {
        var (code, output, err) = Run(Tiny);
        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var key in new[] { "machine:", "backend:", "allocator:", "load:", "setting:", "memory:" })
        {
            Assert.Contains(lines, l => l.StartsWith(key, StringComparison.Ordinal));
        }
        int header = Array.FindIndex(lines, l => l.StartsWith("kind", StringComparison.Ordinal));
        Assert.True(header > 0, output);
        var columns = lines[header].Split("  ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["kind", "network", "method", "batch", "images/s", "spread", "ms/step", "peak MB", "base MB", "vs kd", "vs alone", "decode threads"], columns);
        var rows = lines.Skip(header + 1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(["train", "eval", "data", "data", "data"], rows.Select(r => r[0]));
        Assert.Equal(["crop+flip+normalize", "cinic10-png:decode+crop+flip+normalize", "imagenet-jpeg:decode+rrc224+flip+normalize"], rows.Skip(2).Select(r => r[1]));
        // The image-folder rows end with their decoding thread count (one per processor by default).
        Assert.All(rows.Skip(3), r => Assert.Equal(Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), r[^1]));
        Assert.Equal("resnet8", rows[0][1]);
        Assert.Equal("8", rows[0][3]);
        Assert.Equal("256", rows[1][3]);   // evaluation batches are at least 256
        foreach (var r in rows)
        {
            // images/s, ms/step, peak and base memory are positive numbers; the spread is a percentage.
            var numbers = r[0] == "data" ? r[3..] : r[4..];
            Assert.True(double.Parse(numbers[0], CultureInfo.InvariantCulture) > 0, string.Join(' ', r));
            Assert.EndsWith("%", numbers[1]);
            Assert.All(numbers.Skip(2).Take(3), n => Assert.True(double.Parse(n, CultureInfo.InvariantCulture) > 0, string.Join(' ', r)));
        }
    }

    [Fact]
    public void CsvAndJsonParseWithTheSameRows()
    {
        var csv = Run([.. Tiny, "--format", "csv", "--in-process", "--decode-threads", "1"]);
        Assert.True(csv.Code == 0, csv.Err);
        var lines = csv.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        Assert.Equal("kind,model,teacher,method,batch,threads,images_per_s,min_images_per_s,max_images_per_s,spread_pct,step_ms,peak_mb,base_mb,vs_kd_pct,vs_alone_pct,decode_threads", lines[0]);
        Assert.Equal(5, lines.Length - 1);
        Assert.Equal(["", "", "", "1", "1"], lines.Skip(1).Select(l => l.Split(',')[^1]));
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            Assert.Equal(header.Length, cells.Length);
            foreach (var name in new[] { "images_per_s", "min_images_per_s", "max_images_per_s", "step_ms", "peak_mb" })
            {
                Assert.True(double.Parse(cells[Array.IndexOf(header, name)], CultureInfo.InvariantCulture) > 0, line);
            }
            var ips = double.Parse(cells[Array.IndexOf(header, "images_per_s")], CultureInfo.InvariantCulture);
            Assert.InRange(ips, double.Parse(cells[Array.IndexOf(header, "min_images_per_s")], CultureInfo.InvariantCulture),
                double.Parse(cells[Array.IndexOf(header, "max_images_per_s")], CultureInfo.InvariantCulture));
        }

        var json = Run([.. Tiny, "--format", "json", "--in-process"]);
        Assert.True(json.Code == 0, json.Err);
        using var doc = JsonDocument.Parse(json.Out);
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(["train", "eval", "data", "data", "data"], rows.Select(r => r.GetProperty("kind").GetString()));
        Assert.Equal(["", "cinic10-png", "imagenet-jpeg"], rows.Skip(2).Select(r => r.GetProperty("model").GetString()));
        Assert.All(rows, r => Assert.Equal(2, r.GetProperty("windowImagesPerSecond").GetArrayLength()));
        Assert.Equal(8, doc.RootElement.GetProperty("settings").GetProperty("batchSize").GetInt32());
        Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("machine").GetProperty("Cpu").GetString()));
    }

    [Fact]
    public void KdRowsCarryTheOverheadOfEveryMethodOfTheSameStudent()
    {
        var (code, output, err) = Run("bench", "--models", "resnet8:resnet8", "--methods", "none,kd,crd", "-P", "nce_k=16",
            "--batch-size", "8", "--warmup", "0", "--windows", "1", "--steps", "1", "--format", "json", "--in-process");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var train = doc.RootElement.GetProperty("rows").EnumerateArray().Where(r => r.GetProperty("kind").GetString() == "train").ToList();
        Assert.Equal(["none", "kd", "crd"], train.Select(r => r.GetProperty("method").GetString()));
        Assert.All(train, r => Assert.Equal(JsonValueKind.Number, r.GetProperty("vsKdPercent").ValueKind));
        Assert.Equal(0.0, train[1].GetProperty("vsKdPercent").GetDouble());
    }

    [Fact]
    public void FoldedTeachersAreNamedInTheSettingAndTrainModeTeachersStayUnfolded()
    {
        string[] pair = ["bench", "--models", "resnet8:resnet8", "--methods", "kd,ofd", "--batch-size", "8", "--warmup", "0", "--windows", "1", "--steps", "1", "--in-process"];
        var (code, output, err) = Run([.. pair, "--fold-teacher-bn"]);
        Assert.True(code == 0, err);
        var setting = output.Split('\n').Single(l => l.StartsWith("setting:", StringComparison.Ordinal));
        Assert.EndsWith("teacher fp32, batch norms folded into convolutions (teachers in train mode: fp32, unfolded)", setting.TrimEnd());
        Assert.Contains(output.Split('\n'), l => l.StartsWith("train", StringComparison.Ordinal) && l.Contains(" ofd ", StringComparison.Ordinal));
        (code, output, err) = Run(pair);
        Assert.True(code == 0, err);
        Assert.EndsWith("teacher fp32", output.Split('\n').Single(l => l.StartsWith("setting:", StringComparison.Ordinal)).TrimEnd());
    }

    [Fact]
    public void LeakCheckReportsARowPerEpochAndAVerdict()
    {
        var (code, output, err) = Run("bench", "--leak-check", "--epochs", "3", "--models", "resnet8", "--batch-size", "16", "--subset", "64");
        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int header = Array.FindIndex(lines, l => l.StartsWith("kind", StringComparison.Ordinal));
        Assert.Equal(["kind", "network", "method", "epoch", "RSS MB", "in use MB", "live tensors", "managed MB", "seconds"],
            lines[header].Split("  ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var rows = lines.Skip(header + 1).TakeWhile(l => l.StartsWith("leak ", StringComparison.Ordinal) && !l.StartsWith("leak check", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        Assert.Equal(["1", "2", "3"], rows.Select(r => r[3]));
        Assert.All(rows, r => Assert.True(double.Parse(r[4], CultureInfo.InvariantCulture) > 0));
        Assert.All(rows, r => Assert.True(double.Parse(r[5], CultureInfo.InvariantCulture) > 0));
        Assert.Contains(lines, l => l.StartsWith("leak check resnet8 none: in use after epoch 3", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--models entry 'a:b:c'", "--models", "a:b:c")]
    [InlineData("Unknown model 'resnet9'", "--models", "resnet9")]
    [InlineData("unknown method 'fitnet'", "--methods", "fitnet")]
    [InlineData("--param 'nce_k' belongs to none of the methods kd", "--methods", "kd", "-P", "nce_k=8")]
    [InlineData("--windows must be a whole number in [1, 1000]; got '0'.", "--windows", "0")]
    [InlineData("--batch-size must be a whole number in [1, 65536]; got '1e9'.", "--batch-size", "1e9")]
    [InlineData("--param nce_k must be a finite float32 number (at most ±3.4028235E+38); got 'inf'.", "--methods", "crd", "-P", "nce_k=inf")]
    public void BadInputIsAOneLineError(string expected, params string[] args)
    {
        var (code, _, err) = Run(["bench", .. args]);
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains(expected, err);
    }
}
