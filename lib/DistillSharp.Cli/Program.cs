using DistillSharp.Cli;

// Before anything else: glibc reads its tunables only when a process starts (see HugePageRestart).
HugePageRestart.Apply();
int code = CliApp.Run(args);
if (code == CliApp.Interrupted)
{
    // An interrupted cell may still run inside libtorch: end without the native exit handlers (see ImmediateExit).
    ImmediateExit.Now(code);
}
return code;
