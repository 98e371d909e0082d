using System.Collections;
using System.Diagnostics;
using System.Runtime.InteropServices;
using DistillSharp.Training;

namespace DistillSharp.Cli;

/// <summary>
/// Starts the command again, in the same process (<c>execve</c>: the same process id, arguments, standard streams and
/// environment), with <see cref="TransparentHugePages.Tunable"/> added to <c>GLIBC_TUNABLES</c> when
/// <see cref="TransparentHugePages.TunablesForRestart"/> says that this gives the heap huge pages. glibc reads its
/// tunables only when a process starts, so the first thing the command does is this, before any tensor exists. Where
/// the call fails the command goes on with small pages.
/// </summary>
internal static class HugePageRestart
{
    public static void Apply()
    {
        if (!OperatingSystem.IsLinux() || Debugger.IsAttached) return;
        string? tunables;
        string[] argv;
        try
        {
            tunables = TransparentHugePages.TunablesForRestart(Environment.GetEnvironmentVariable(NativeAllocator.Variable),
                Environment.GetEnvironmentVariable("GLIBC_TUNABLES"), TransparentHugePages.KernelMode(),
                TransparentHugePages.GlibcVersion());
            if (tunables is null) return;
            argv = File.ReadAllText("/proc/self/cmdline").Split('\0', StringSplitOptions.None)[..^1];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        if (argv.Length == 0) return;

        var environment = new List<string>();
        foreach (DictionaryEntry pair in Environment.GetEnvironmentVariables())
            if ((string)pair.Key != "GLIBC_TUNABLES") environment.Add($"{pair.Key}={pair.Value}");
        environment.Add($"GLIBC_TUNABLES={tunables}");
        Exec("/proc/self/exe", argv, environment);
    }

    /// <summary>Replaces the process image; returns only when <c>execve</c> fails.</summary>
    private static void Exec(string path, IReadOnlyList<string> argv, IReadOnlyList<string> environment)
    {
        var strings = new List<nint>();
        nint args = 0, env = 0;
        try
        {
            args = NullTerminated(argv, strings);
            env = NullTerminated(environment, strings);
            execve(path, args, env);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No C library by that name: go on as started.
        }
        finally
        {
            foreach (var s in strings) Marshal.FreeCoTaskMem(s);
            if (args != 0) Marshal.FreeHGlobal(args);
            if (env != 0) Marshal.FreeHGlobal(env);
        }
    }

    private static nint NullTerminated(IReadOnlyList<string> values, List<nint> strings)
    {
        nint array = Marshal.AllocHGlobal(nint.Size * (values.Count + 1));
        for (int i = 0; i < values.Count; i++)
        {
            nint s = Marshal.StringToCoTaskMemUTF8(values[i]);
            strings.Add(s);
            Marshal.WriteIntPtr(array, i * nint.Size, s);
        }
        Marshal.WriteIntPtr(array, values.Count * nint.Size, 0);
        return array;
    }

    [DllImport("libc", EntryPoint = "execve", SetLastError = true)]
    private static extern int execve([MarshalAs(UnmanagedType.LPUTF8Str)] string path, nint argv, nint envp);
}
