using System.Runtime.InteropServices;

namespace DistillSharp.Cli;

/// <summary>
/// Ends the process at once, after flushing the console, without running the native libraries' exit handlers. After an
/// interrupted notebook cell, that cell may still be inside libtorch on its own thread; a normal exit runs libtorch's
/// static destructors under it and the process dies with SIGSEGV (exit 139) instead of the code it returned.
/// </summary>
internal static class ImmediateExit
{
    public static void Now(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        if (OperatingSystem.IsLinux())
        {
            try
            {
                LowLevelExit(code);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // No C library by that name: the normal exit below.
            }
        }
        Environment.Exit(code);
    }

    [DllImport("libc", EntryPoint = "_exit")]
    private static extern void LowLevelExit(int status);
}
