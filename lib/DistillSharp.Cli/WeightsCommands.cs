using System.CommandLine;
using DistillSharp.Weights;

namespace DistillSharp.Cli;

/// <summary><c>distill import-weights</c> and <c>distill export-weights</c>: teachers from and to PyTorch.</summary>
internal static class WeightsCommands
{
    public static Command Import()
    {
        var source = new Argument<string>("SOURCE") { Description = "A PyTorch checkpoint: torch.save (zip or legacy), a dict holding it under model/state_dict/net, or .safetensors." };
        var model = new Option<string>("--model") { Description = "The zoo network that was saved (see 'distill zoo').", Required = true };
        var classes = new Option<int?>("--classes") { Description = "Its classes (default: read from the file's classifier; checked when given)." };
        var dataset = new Option<string?>("--dataset") { Description = "The dataset it is for (default: cifar100, or imagenet for the *_imagenet networks)." };
        var output = new Option<string>("--out") { Description = "A checkpoint file (.ckpt) or a run folder (its checkpoints/last.ckpt), usable as --teacher.", Required = true };
        var command = new Command("import-weights", "Import a PyTorch checkpoint into a zoo network, as a teacher.") { source, model, classes, dataset, output };
        command.SetAction(parse =>
        {
            var result = TeacherImport.Import(parse.GetRequiredValue(source), parse.GetRequiredValue(model), parse.GetValue(classes),
                parse.GetValue(dataset), parse.GetRequiredValue(output));
            parse.InvocationConfiguration.Output.WriteLine(
                $"imported {result.Tensors} tensors ({result.Format}) into {result.Model} for {result.NumClasses} classes ({result.Dataset}): {result.Checkpoint}");
            return 0;
        });
        return command;
    }

    public static Command Export()
    {
        var source = new Argument<string>("RUN_OR_CKPT") { Description = "A run folder (its last checkpoint) or a checkpoint file." };
        var output = new Option<string>("--out") { Description = "The state-dict file to write (torch.save zip format).", Required = true };
        var command = new Command("export-weights", "Write a network's weights as a PyTorch state dict (torch.load reads it).") { source, output };
        command.SetAction(parse =>
        {
            var header = TeacherImport.Export(parse.GetRequiredValue(source), parse.GetRequiredValue(output));
            parse.InvocationConfiguration.Output.WriteLine(
                $"wrote {header.Model} ({header.NumClasses} classes) to {parse.GetRequiredValue(output)}: model.load_state_dict(torch.load(path))");
            return 0;
        });
        return command;
    }
}
