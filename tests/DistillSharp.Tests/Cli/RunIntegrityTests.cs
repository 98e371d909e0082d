using System.Text.Json;
using DistillSharp.Cli;
using DistillSharp.Tests.Data;
using DistillSharp.Tests.Support;
using DistillSharp.Training;

namespace DistillSharp.Tests.Cli;

/// <summary>
/// Runs are continued or refused, never silently restarted or misrecorded, and a damaged checkpoint is an error, not a
/// number: each case as a user meets it, through <c>distill</c> at the smoke profile in a temporary folder.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class RunIntegrityTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("distill-integrity-").FullName;

    public RunIntegrityTests() => TestMethods.Register();

    public void Dispose() => Directory.Delete(root, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private static readonly string[] Base = ["--profile", "smoke", "--device", "cpu"];

    private static readonly string[] Smoke = [.. Base, "--subset", "128", "--test-subset", "128"];

    private string Train(string name, int epochs, params string[] extra)
    {
        string folder = Path.Combine(root, name);
        var r = Run(["train", "--model", "resnet8", .. Smoke, "--epochs", epochs.ToString(), "--out", folder, .. extra]);
        Assert.True(r.Code == 0, r.Err);
        return folder;
    }

    private static Dictionary<string, byte[]> Snapshot(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes);

    private static void AssertUnchanged(Dictionary<string, byte[]> before, string folder)
    {
        var after = Snapshot(folder);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (file, bytes) in before) Assert.True(bytes.SequenceEqual(after[file]), $"{file} was changed");
    }

    [DebianFashionMnistFact]
    public void ResumeWithoutACheckpointOrFolderIsRefusedAndNothingIsDeleted()
    {
        var a = Train("a", 2);
        File.Delete(new RunFolder(a).LastCheckpoint);
        var before = Snapshot(a);
        var r = Run(["train", "--model", "resnet8", .. Smoke, "--epochs", "1", "--out", a, "--resume"]);
        Assert.Equal(CliApp.UsageError, r.Code);
        Assert.Contains("has no checkpoint to continue from", r.Err);
        Assert.Contains("last.ckpt is missing", r.Err);
        AssertUnchanged(before, a);

        // Without --resume the folder is not taken over either.
        var fresh = Run(["train", "--model", "resnet8", .. Smoke, "--epochs", "1", "--out", a]);
        Assert.Equal(CliApp.UsageError, fresh.Code);
        Assert.Contains("already holds a run", fresh.Err);
        AssertUnchanged(before, a);

        var missing = Path.Combine(root, "never");
        var none = Run(["train", "--model", "resnet8", .. Smoke, "--out", missing, "--resume"]);
        Assert.Equal(CliApp.UsageError, none.Code);
        Assert.Contains("does not exist, so there is nothing to continue", none.Err);
        Assert.False(Directory.Exists(missing));
    }

    [DebianFashionMnistFact]
    public void ResumeRefusesChangedOptionsListsThemAndRecordsEpochsAndAmendmentsAsSegments()
    {
        var teacher = Train("teacher", 1);
        var other = Train("other-teacher", 1, "--seed", "2");
        string kd = Path.Combine(root, "kd");
        string[] kdArgs = ["distill", "--method", "kd", "--student", "resnet8", .. Smoke, "--out", kd];
        Assert.Equal(0, Run([.. kdArgs, "--teacher", teacher, "--epochs", "2"]).Code);
        var before = Snapshot(kd);

        var changed = Run(["distill", "--method", "kd", "--student", "resnet8", .. Base, "--out", kd, "--subset", "100", "--test-subset", "128",
            "--teacher", other, "-P", "temperature=1", "--lr", "0.5", "--epochs", "2", "--resume"]);
        Assert.Equal(CliApp.UsageError, changed.Code);
        foreach (var difference in new[] { "subset: 128 -> 100", "-P temperature: 4 -> 1", "lr: 0.05 -> 0.5", "teacher: " })
        {
            Assert.Contains(difference, changed.Err);
        }
        Assert.Contains("--amend", changed.Err);
        AssertUnchanged(before, kd);

        var fewer = Run([.. kdArgs, "--teacher", teacher, "--epochs", "1", "--resume"]);
        Assert.Equal(CliApp.UsageError, fewer.Code);
        Assert.Contains("already finished 2 epochs", fewer.Err);
        AssertUnchanged(before, kd);

        // More epochs extend the run, recorded as a segment from epoch 3.
        var more = Run([.. kdArgs, "--teacher", teacher, "--epochs", "3", "--resume"]);
        Assert.True(more.Code == 0, more.Err);
        var record = RunRecord.Read(new RunFolder(kd).Config);
        Assert.Equal([1, 3], record.Segments.Select(s => s.FromEpoch));
        Assert.Equal(["epochs: 2 -> 3"], record.Segments[1].Changes);
        using (var summary = JsonDocument.Parse(File.ReadAllText(new RunFolder(kd).Summary)))
        {
            Assert.Equal(3, summary.RootElement.GetProperty("Epochs").GetInt32());
        }

        // A deliberate change is accepted with --amend and recorded from the next epoch.
        var amended = Run([.. kdArgs, "--teacher", teacher, "--epochs", "4", "--lr", "0.01", "--resume", "--amend"]);
        Assert.True(amended.Code == 0, amended.Err);
        record = RunRecord.Read(new RunFolder(kd).Config);
        Assert.Equal([1, 3, 4], record.Segments.Select(s => s.FromEpoch));
        Assert.Contains("lr: 0.05 -> 0.01", record.Segments[2].Changes);
        Assert.Equal(0.01, record.Current.Options.LearningRate);
        Assert.Equal(0.05, record.Segments[0].Spec.Options.LearningRate);
        Assert.Equal([1, 2, 3, 4], EpochMetrics.ReadCsv(new RunFolder(kd).Metrics).Select(m => m.Epoch));
    }

    [DebianFashionMnistFact]
    public void ResumeKeepsTheRunsOwnOptionsForThoseNotGiven()
    {
        var a = Train("a", 1, "--lr", "0.1", "--seed", "5");
        // Only the folder and the new epoch count: lr, seed, subsets and the model come from the run's record.
        var r = Run("train", "--device", "cpu", "--out", a, "--resume", "--epochs", "2");
        Assert.True(r.Code == 0, r.Err);
        var record = RunRecord.Read(new RunFolder(a).Config);
        Assert.Equal(["epochs: 1 -> 2"], record.Segments[^1].Changes);
        Assert.Equal((0.1, 5L, 128), (record.Current.Options.LearningRate, record.Current.Options.Seed, record.Current.TrainSubset!.Value));
        Assert.Equal([1, 2], EpochMetrics.ReadCsv(new RunFolder(a).Metrics).Select(m => m.Epoch));

        // A kd run resumed without naming its teacher again continues with the recorded one.
        var teacher = Train("teacher", 1);
        string kd = Path.Combine(root, "kd");
        Assert.Equal(0, Run(["distill", "--method", "kd", "--teacher", teacher, "--student", "resnet8", .. Smoke, "--out", kd]).Code);
        var k = Run("distill", "--method", "kd", "--device", "cpu", "--out", kd, "--resume", "--epochs", "2");
        Assert.True(k.Code == 0, k.Err);
        Assert.Equal(teacher, RunRecord.Read(new RunFolder(kd).Config).Current.Teacher);
    }

    /// <summary>
    /// --milestone-factors: each epoch's logged rate is η times the factor of the milestones passed (0.1, then 0.1 · 0.5,
    /// then 0.1 · 0.002), the factors are part of the run's record, a resume keeps them, and a resume with other
    /// factors is refused naming the change.
    /// </summary>
    [DebianFashionMnistFact]
    public void MilestoneFactorsSetEachEpochsRateAndAreKeptAndCheckedOnResume()
    {
        string[] schedule = ["--lr", "0.1", "--schedule", "multistep", "--milestones", "1,2"];
        var a = Train("factors", 3, [.. schedule, "--milestone-factors", "0.5,0.002"]);
        Assert.Equal([0.1, 0.05, 0.0002], EpochMetrics.ReadCsv(new RunFolder(a).Metrics).Select(m => Math.Round(m.LearningRate, 12)));
        Assert.Equal([0.5, 0.002], RunRecord.Read(new RunFolder(a).Config).Current.Options.MilestoneFactors);

        var before = Snapshot(a);
        var other = Run(["train", "--model", "resnet8", .. Smoke, .. schedule, "--milestone-factors", "0.5,0.001", "--epochs", "4", "--out", a, "--resume"]);
        Assert.Equal(CliApp.UsageError, other.Code);
        Assert.Contains("milestone-factors: 0.5,0.002 -> 0.5,0.001", other.Err);
        AssertUnchanged(before, a);

        var kept = Run("train", "--device", "cpu", "--out", a, "--resume", "--epochs", "4");
        Assert.True(kept.Code == 0, kept.Err);
        Assert.Equal(0.0002, EpochMetrics.ReadCsv(new RunFolder(a).Metrics)[^1].LearningRate, 12);
    }

    [DebianFashionMnistFact]
    public void ADamagedCheckpointIsAnErrorNamingTheFileNeverANumber()
    {
        var a = Train("a", 1);
        var path = new RunFolder(a).LastCheckpoint;
        var bytes = File.ReadAllBytes(path);
        for (int i = bytes.Length / 2; i < bytes.Length / 2 + 400; i++) bytes[i] ^= 0x5A;
        File.WriteAllBytes(path, bytes);

        var eval = Run("eval", "--checkpoint", path, "--device", "cpu");
        Assert.Equal(CliApp.UsageError, eval.Code);
        Assert.Contains(path, eval.Err);
        Assert.Contains("checksum does not match", eval.Err);
        Assert.DoesNotContain("top-1", eval.Out);

        var asTeacher = Run(["distill", "--method", "kd", "--teacher", path, "--student", "resnet8", .. Smoke, "--out", Path.Combine(root, "kd")]);
        Assert.Equal(CliApp.UsageError, asTeacher.Code);
        Assert.Contains("checksum does not match", asTeacher.Err);

        // A file cut short is caught the same way.
        File.WriteAllBytes(path, bytes[..(bytes.Length / 3)]);
        Assert.Contains("checksum does not match", Run("eval", "--checkpoint", path, "--device", "cpu").Err);
    }

    [DebianFashionMnistFact]
    public void AnEmptyConfigIsAClearErrorAndAGarbageMetricsFileIsRewrittenWithAWarning()
    {
        var a = Train("a", 1);
        var folder = new RunFolder(a);
        var config = File.ReadAllText(folder.Config);
        File.WriteAllText(folder.Config, "");
        var empty = Run(["train", "--model", "resnet8", .. Smoke, "--epochs", "2", "--out", a, "--resume"]);
        Assert.Equal(CliApp.UsageError, empty.Code);
        Assert.Contains("config.json is not a run configuration (the file is empty)", empty.Err);
        Assert.DoesNotContain("JsonException", empty.Err);

        File.WriteAllText(folder.Config, config);
        var expected = File.ReadAllText(folder.Metrics);
        File.WriteAllText(folder.Metrics, "this is not a table\n1,2,3\n");
        var resumed = Run(["train", "--model", "resnet8", .. Smoke, "--epochs", "2", "--out", a, "--resume"]);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Contains("metrics.csv did not match the record in last.ckpt", resumed.Out);
        var rows = File.ReadAllLines(folder.Metrics);
        Assert.Equal(3, rows.Length);
        Assert.StartsWith(expected, string.Join('\n', rows) + "\n");
    }

    [DebianFashionMnistFact]
    public void AnOnlineMethodTrainsLogsEachPredictionAndIsEvaluatedWhole()
    {
        string peers = Path.Combine(root, "peers");
        // The whole test split (a class-balanced "subset" of all 10,000 is the split itself), so eval sees the same images.
        var r = Run(["distill", "--method", "test-peers", "--student", "resnet8", .. Base, "--subset", "128", "--test-subset", "10000", "--out", peers]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("[peer1 ", r.Out);
        var row = EpochMetrics.ReadCsv(new RunFolder(peers).Metrics).Single();

        var e = Run("eval", "--checkpoint", peers, "--device", "cpu", "--batch-size", "64");
        Assert.True(e.Code == 0, e.Err);
        Assert.Contains(FormattableString.Invariant($"top-1 {row.TestTop1:F2}%"), e.Out);
        foreach (var column in new[] { "test_top1/peer1", "test_top1/peer2", "test_top1/peer_mean", "test_top5/peer2" })
        {
            Assert.Contains(FormattableString.Invariant($"{column} {row.Accuracies[column]:F2}%"), e.Out);
        }
        var result = Experiment.Evaluate(new RunFolder(peers).LastCheckpoint, null, null, 64, "cpu");
        Assert.Equal(["peer1", "peer2"], result.Predictions);
        Assert.Equal(row.Accuracies["test_top1/peer2"], result.Accuracies["test_top1/peer2"], 9);
        Assert.Equal(result.Top1, result.Accuracies["test_top1/peer1"]);
        Assert.Equal((result.Accuracies["test_top1/peer1"] + result.Accuracies["test_top1/peer2"]) / 2, result.Accuracies["test_top1/peer_mean"], 10);
    }
}
