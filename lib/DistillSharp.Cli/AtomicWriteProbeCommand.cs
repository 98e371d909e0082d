using System.CommandLine;
using DistillSharp.Training;

namespace DistillSharp.Cli;

/// <summary>
/// Hidden <c>distill debug-slow-write PATH</c>: writes PATH through <see cref="AtomicFile"/> slowly, after printing
/// "writing", so a test can kill the process mid-write and check that the previous file survives.
/// </summary>
internal static class AtomicWriteProbeCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path");
        var command = new Command("debug-slow-write", "Write a file slowly through the atomic writer (for crash tests).") { path };
        command.Hidden = true;
        command.SetAction(parse =>
        {
            AtomicFile.Write(parse.GetRequiredValue(path), stream =>
            {
                var output = parse.InvocationConfiguration.Output;
                for (int i = 0; i < 600; i++)
                {
                    stream.Write(new byte[4096]);
                    stream.Flush();
                    if (i == 0) { output.WriteLine("writing"); output.Flush(); }
                    Thread.Sleep(50);
                }
            });
            return 0;
        });
        return command;
    }
}
