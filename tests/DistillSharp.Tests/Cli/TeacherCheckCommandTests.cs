using System.Globalization;
using DistillSharp.Cli;
using DistillSharp.Models;
using DistillSharp.Tests.Data;
using DistillSharp.Tests.Models;
using DistillSharp.Tests.Support;
using DistillSharp.Training;
using TorchSharp;

namespace DistillSharp.Tests.Cli;

/// <summary>
/// <c>distill teacher-check</c> and <c>--fold-teacher-bn</c> at a tiny scale, training nothing for the check: a teacher
/// checkpoint with formula weights (batch norms with statistics of their own, so that folding changes every folded
/// weight), a Fashion-MNIST folder of 20 training and 10 test images in the real format.
/// </summary>
[Collection(TrainingCollection.Name)]   // the fresh student is seeded from the global generator
public sealed class TeacherCheckCommandTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-teacher-check-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string Data()
    {
        string data = Path.Combine(root, "data");
        string folder = Directory.CreateDirectory(Path.Combine(data, "fashion-mnist")).FullName;
        var files = new Dictionary<string, byte[]>
        {
            ["train-images-idx3-ubyte.gz"] = Formats.Gzip(Formats.IdxImages(20, 28, 28)),
            ["train-labels-idx1-ubyte.gz"] = Formats.Gzip(Formats.IdxLabels(Enumerable.Range(0, 20).Select(i => (byte)(i % 10)).ToArray())),
            ["t10k-images-idx3-ubyte.gz"] = Formats.Gzip(Formats.IdxImages(10, 28, 28)),
            ["t10k-labels-idx1-ubyte.gz"] = Formats.Gzip(Formats.IdxLabels([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])),
        };
        foreach (var (file, bytes) in files) File.WriteAllBytes(Path.Combine(folder, file), bytes);
        return data;
    }

    /// <summary>A checkpoint of <paramref name="model"/> for Fashion-MNIST, with formula weights or (seeded) random ones.</summary>
    private string Network(string model, string file, bool formula)
    {
        torch.random.manual_seed(9);
        using var net = ModelZoo.Create(model, 10, 1);
        if (formula) FormulaFill.Apply(net);
        string path = Path.Combine(root, file);
        Checkpoint.SaveModel(path, new CheckpointHeader(model, 10, 1, "fashion-mnist", "none", 1, 9, double.NaN), net);
        return path;
    }

    private static string[] Row(string output, string variant) =>
        output.Split('\n').Single(l => l.StartsWith(variant + "  ", StringComparison.Ordinal))[variant.Length..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public void TheCheckReportsEachVariantAgainstFp32()
    {
        string data = Data();
        string teacher = Network("resnet8", "teacher.ckpt", formula: true);
        var (code, output, err) = CliHarness.Run("teacher-check", "--teacher", teacher, "--data-dir", data, "--device", "cpu", "--batch-size", "4");
        Assert.True(code == 0, err);
        Assert.Contains($"teacher-check: resnet8 from {teacher} on fashion-mnist test (10 images), KD temperature 4", output);
        Assert.Contains("student: a freshly initialised resnet8 (the cpu profile's default student, seed 1)", output);
        Assert.Contains("batch norms folded: 9 of 9", output);

        var fp32 = Row(output, "fp32");
        var folded = Row(output, "fp32 folded");
        var bf16 = Row(output, "bf16 folded");
        // fp32 against itself: nothing differs.
        Assert.Equal(["0", "0", "100.00"], fp32[..3]);
        Assert.Equal("0", fp32[5]);
        // Folded fp32: float32 rounding only (the logits are O(1)); bf16: visibly more, yet the same function.
        Assert.InRange(D(folded[0]), 1e-9, 1e-4);
        Assert.InRange(D(folded[1]), 1e-10, D(folded[0]));
        Assert.InRange(Math.Abs(D(folded[5])), 0, 1e-4);
        Assert.True(D(bf16[0]) > 10 * D(folded[0]), output);
        Assert.InRange(D(bf16[0]), 1e-4, 1.0);
        Assert.InRange(Math.Abs(D(bf16[5])), 0, 0.2);
        // The KD losses of the three rows are of one size, and the fp32 row's top-1 is what 'distill eval' reports.
        Assert.All(new[] { fp32, folded, bf16 }, r => Assert.True(D(r[4]) > 0));
        var eval = Experiment.Evaluate(teacher, null, data, 4, "cpu");
        Assert.Equal(eval.Top1, D(fp32[3]), 0.005);
        Assert.Equal(fp32[3], folded[3]);
    }

    [Fact]
    public void AGivenStudentIsNamedAndTheLibraryAgreesWithThePrintedRows()
    {
        string data = Data();
        string teacher = Network("resnet8", "teacher.ckpt", formula: true);
        string student = Network("resnet8", "student.ckpt", formula: false);
        var (code, output, err) = CliHarness.Run("teacher-check", "--teacher", teacher, "--student", student, "--data-dir", data,
            "--subset", "5", "--temperature", "2", "--device", "cpu");
        Assert.True(code == 0, err);
        Assert.Contains($"student: resnet8 from {student}", output);
        Assert.Contains("(5 images), KD temperature 2", output);
        var result = TeacherCheck.Run(new TeacherCheckSpec { Teacher = teacher, Student = student, DataDir = data, Subset = 5, Temperature = 2, Device = "cpu" });
        Assert.Equal(TeacherCheck.VariantNames, result.Variants.Select(v => v.Name));
        Assert.Equal(5, result.Images);
        foreach (var v in result.Variants)
        {
            var row = Row(output, v.Name);
            Assert.Equal(v.Comparison.KdLoss.ToString("G6", CultureInfo.InvariantCulture), row[4]);   // the same numbers, run again
            Assert.Equal(5, v.Comparison.Images);
        }
    }

    [Theory]
    [InlineData("--temperature must be a number in [0.001, 1000]; got '0'.", "--temperature", "0")]
    [InlineData("--subset must be a whole number", "--subset", "0")]
    [InlineData("is neither a checkpoint file nor a run folder", "--student", "nowhere")]
    public void BadInputIsAOneLineError(string expected, params string[] args)
    {
        string teacher = Network("resnet8", "teacher.ckpt", formula: false);
        var (code, _, err) = CliHarness.Run(["teacher-check", "--teacher", teacher, "--device", "cpu", .. args]);
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains(expected, err);
    }

    [Fact]
    public void AStudentOfAnotherShapeIsRefusedBeforeAnyImageIsRead()
    {
        string teacher = Network("resnet8", "teacher.ckpt", formula: false);
        torch.random.manual_seed(1);
        using var rgb = ModelZoo.Create("resnet8", 100, 3);
        string student = Path.Combine(root, "rgb.ckpt");
        Checkpoint.SaveModel(student, new CheckpointHeader("resnet8", 100, 3, "cifar100", "none", 1, 1, double.NaN), rgb);
        var (code, _, err) = CliHarness.Run("teacher-check", "--teacher", teacher, "--student", student, "--data-dir", Path.Combine(root, "empty"), "--device", "cpu");
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains($"student {student} holds resnet8 for 100 classes and 3 channels (cifar100); fashion-mnist has 10 classes and 1 channel", err);
    }

    [Fact]
    public void FoldTeacherBnIsRecordedForKdAndRefusedForATrainModeTeacher()
    {
        string data = Data();
        string teacher = Network("resnet8", "teacher.ckpt", formula: false);
        string[] common = ["--teacher", teacher, "--student", "resnet8", "--profile", "smoke", "--data-dir", data, "--subset", "20", "--test-subset", "10", "--device", "cpu"];
        string kd = Path.Combine(root, "kd");
        var (code, _, err) = CliHarness.Run(["distill", "--method", "kd", .. common, "--fold-teacher-bn", "--out", kd]);
        Assert.True(code == 0, err);
        var spec = RunRecord.Read(new RunFolder(kd).Config).Current;
        Assert.True(spec.FoldTeacherBatchNorms);
        Assert.Equal("fp32", spec.TeacherPrecision);
        // A resume without the option keeps the run's value; one from the profile without it is a change, refused without --amend.
        string[] resume = ["distill", "--method", "kd", "--teacher", teacher, "--student", "resnet8", "--data-dir", data, "--device", "cpu", "--out", kd, "--resume"];
        (code, var output, err) = CliHarness.Run(resume);
        Assert.True(code == 0, err);
        Assert.Contains("has finished all 1 epochs", output + err);
        (code, _, err) = CliHarness.Run([.. resume, "--profile", "smoke", "--subset", "20", "--test-subset", "10"]);
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains("fold-teacher-bn: true -> false", err);

        (code, _, err) = CliHarness.Run(["distill", "--method", "ofd", .. common, "--fold-teacher-bn", "--out", Path.Combine(root, "ofd")]);
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains("method 'ofd' runs its teacher 'resnet8' in train mode", err);
        Assert.Contains("leave out --fold-teacher-bn", err);
    }
}
