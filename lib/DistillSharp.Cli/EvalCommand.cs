using System.CommandLine;
using System.Globalization;
using DistillSharp.Training;

namespace DistillSharp.Cli;

/// <summary><c>distill eval --checkpoint PATH</c>: test loss and top-1 / top-5 of a saved network.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint file or a run folder (its last checkpoint).", Required = true };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset (default: the one it was trained on)." };
        var dataDir = new Option<string?>("--data-dir") { Description = "Data folder, the only one read when given (else $DISTILL_DATA, likewise; else ./data, then /usr/share/datasets)." };
        var batch = new NumberOption("--batch-size", "Batch size", TrainingOptions.BatchSizeRange, 256);
        var device = CommonOptions.Device();
        var decodeThreads = new NumberOption("--decode-threads", "Threads that decode a batch of an image-folder dataset (default: one per processor)", RunSpec.DecodeThreadsRange);
        var command = new Command("eval", "Evaluate a saved network on a test set.") { checkpoint, dataset, dataDir, batch.Option, device, decodeThreads.Option };
        command.SetAction(parse =>
        {
            int batchSize = batch.IntValue(parse)!.Value;
            var path = Checkpoint.ResolveTeacher(parse.GetRequiredValue(checkpoint));
            var result = Experiment.Evaluate(path, parse.GetValue(dataset), parse.GetValue(dataDir), batchSize, parse.GetRequiredValue(device),
                decodeThreads.IntValue(parse));
            var output = parse.InvocationConfiguration.Output;
            foreach (var skipped in result.Skipped) output.WriteLine(skipped.ToString());
            string left = result.Skipped.Count == 0 ? "" : $", {result.Skipped.Count} unreadable skipped";
            output.WriteLine(
                $"{result.Model} on {result.Dataset} test ({result.Images} images{left}): loss {result.Loss:F4}  top-1 {result.Top1:F2}%  top-5 {result.Top5:F2}%");
            foreach (var (column, value) in result.Accuracies)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {column} {value:F2}%"));
            }
            return 0;
        });
        return command;
    }
}
