using DistillSharp.Cli;

int code = CliApp.Run(args);
if (code == CliApp.Interrupted)
{
    // An interrupted cell may still run inside libtorch: end without the native exit handlers (see ImmediateExit).
    ImmediateExit.Now(code);
}
return code;
