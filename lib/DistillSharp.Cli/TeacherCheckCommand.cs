using System.CommandLine;
using System.Globalization;
using DistillSharp.Training;

namespace DistillSharp.Cli;

/// <summary>
/// <c>distill teacher-check --teacher RUN_OR_CKPT</c>: the teacher over a test set in fp32, fp32 with its batch norms
/// folded, and bf16 (folded, as the bf16 path runs it), each against fp32 (<see cref="TeacherCheck"/>).
/// </summary>
internal static class TeacherCheckCommand
{
    public static Command Create()
    {
        var teacher = new Option<string>("--teacher") { Description = "The teacher: a checkpoint file or a run folder (its last checkpoint).", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset of the test set (default: the one the teacher was trained on)." };
        var dataDir = new Option<string?>("--data-dir") { Description = "Data folder, the only one read when given (else $DISTILL_DATA, likewise; else ./data, then /usr/share/datasets)." };
        var subset = new NumberOption("--subset", "Compare on N test images, class-balanced (default: all)", RunSpec.SubsetRange);
        var student = new Option<string?>("--student")
        {
            Description = "The student of the KD loss: a checkpoint file or a run folder (default: a freshly initialised network of the profile's default student, seed --seed).",
        };
        var temperature = new NumberOption("--temperature", "T of the KD loss", TeacherCheckSpec.TemperatureRange, 4);
        var profile = new Option<string>("--profile") { Description = $"Profile whose default student is built without --student: {string.Join(" | ", TrainingProfile.Names)}.", DefaultValueFactory = _ => "cpu" };
        var seed = new NumberOption("--seed", "Seed of the fresh student and of the subset", TrainingOptions.SeedRange, 1);
        var batch = new NumberOption("--batch-size", "Batch size", TrainingOptions.BatchSizeRange, 256);
        var device = CommonOptions.Device();
        var command = new Command("teacher-check", "Compare a teacher in fp32, fp32 with folded batch norms, and bf16 (folded) on a test set: logits, predictions, top-1 and KD loss.")
        {
            teacher, dataset, dataDir, subset.Option, student, temperature.Option, profile, seed.Option, batch.Option, device,
        };
        command.SetAction(parse =>
        {
            var result = TeacherCheck.Run(new TeacherCheckSpec
            {
                Teacher = parse.GetRequiredValue(teacher), Dataset = parse.GetValue(dataset), DataDir = parse.GetValue(dataDir),
                Subset = subset.IntValue(parse), Student = parse.GetValue(student), Temperature = temperature.Value(parse)!.Value,
                Profile = parse.GetRequiredValue(profile), Seed = seed.LongValue(parse)!.Value, BatchSize = batch.IntValue(parse)!.Value,
                Device = parse.GetRequiredValue(device),
            });
            var output = parse.InvocationConfiguration.Output;
            foreach (var line in Lines(result)) output.WriteLine(line);
            return 0;
        });
        return command;
    }

    /// <summary>The report: what was compared, then one row per variant against fp32.</summary>
    internal static IEnumerable<string> Lines(TeacherCheckResult r)
    {
        var c = CultureInfo.InvariantCulture;
        yield return string.Create(c, $"teacher-check: {r.Teacher} from {r.TeacherPath} on {r.Dataset} test ({r.Images} images), KD temperature {r.Temperature:G4}");
        yield return $"student: {r.Student}";
        yield return string.Create(c, $"batch norms folded: {r.Folded} of {r.BatchNorms} (fp32 folded and bf16 folded; bf16 folds first, as --teacher-precision bf16 does)");
        yield return "each variant against fp32: max and mean |logit difference|, top-1 agreement of the predictions, its test top-1, its KD loss and that loss's relative difference";
        string[] header = ["variant", "max |dz|", "mean |dz|", "agree %", "top-1 %", "KD loss", "KD rel. diff"];
        var rows = new List<string[]> { header };
        foreach (var v in r.Variants)
        {
            var m = v.Comparison;
            rows.Add(
            [
                v.Name, m.MaxAbsDifference.ToString("G3", c), m.MeanAbsDifference.ToString("G3", c), m.Top1Agreement.ToString("F2", c),
                m.Top1.ToString("F2", c), m.KdLoss.ToString("G6", c), m.KdLossRelativeDifference.ToString("G3", c),
            ]);
        }
        var widths = Enumerable.Range(0, header.Length).Select(i => rows.Max(row => row[i].Length)).ToArray();
        foreach (var row in rows)
        {
            yield return string.Join("  ", row.Select((cell, i) => i == 0 ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]))).TrimEnd();
        }
    }
}
