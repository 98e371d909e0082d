using DistillSharp.Cli;

namespace DistillSharp.Tests.Support;

/// <summary>Runs the <c>distill</c> command line in this process and captures what it prints.</summary>
internal static class CliHarness
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
