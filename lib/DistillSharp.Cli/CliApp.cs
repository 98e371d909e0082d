using System.CommandLine;

namespace DistillSharp.Cli;

/// <summary>The <c>distill</c> command line: builds the command tree and turns user errors into one-line messages.</summary>
public static class CliApp
{
    /// <summary>Exit code for an error in the user's input or environment.</summary>
    public const int UsageError = 2;

    /// <summary>Exit code of <c>distill run</c> when a notebook cell failed (and of a sweep when a run did).</summary>
    public const int NotebookFailed = 1;

    /// <summary>Exit code of <c>distill run</c> when Ctrl+C (SIGINT) interrupted it: 128 + 2, as the shell reports a SIGINT.</summary>
    public const int Interrupted = 130;

    /// <summary>Builds the root command with every sub-command.</summary>
    public static Command Build()
    {
        // A plain command as the root: a RootCommand takes the executable's name, "distill", which clashes
        // with the "distill" sub-command in the parser's token table; "Distill" (tokens are case-sensitive) does not.
        var root = new Command("Distill", "DistillSharp: knowledge distillation in C# with TorchSharp.");
        root.Add(new System.CommandLine.Help.HelpOption());
        root.Add(new VersionOption());
        root.Add(TrainCommands.Train());
        root.Add(TrainCommands.Distill());
        root.Add(EvalCommand.Create());
        root.Add(TeacherCheckCommand.Create());
        root.Add(TrainCommands.Methods());
        root.Add(ZooCommand.Create());
        root.Add(InfoCommand.Create());
        root.Add(AtomicWriteProbeCommand.Create());
        root.Add(RunCommand.Create());
        root.Add(SweepCommand.Create());
        root.Add(BenchCommand.Create());
        root.Add(WeightsCommands.Import());
        root.Add(WeightsCommands.Export());
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var stdout = output ?? Console.Out;
        var stderr = error ?? Console.Error;
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            return Build().Parse(args).Invoke(config);
        }
        catch (DistillSharpException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return UsageError;
        }
    }
}
