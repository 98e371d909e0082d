using System.Runtime.InteropServices;

namespace DistillSharp.Training;

/// <summary>
/// Transparent huge pages (2 MiB) for the allocator's heap, where libtorch keeps its activation buffers. Under the
/// kernel's <c>madvise</c> mode (the usual default), anonymous memory gets huge pages only where the program asks for
/// them, and glibc asks for its heap only when the process starts with the tunable <c>glibc.malloc.hugetlb=1</c>
/// (glibc 2.35 and later; it is read once, at start, from <c>GLIBC_TUNABLES</c>). With it, a training step's buffers
/// take 512 times fewer page-table entries, so fewer TLB misses and page faults. The <c>distill</c> command starts
/// itself again with the tunable when it is missing (see <see cref="TunablesForRestart"/>); a notebook kernel, started
/// by Jupyter, gets it only from the environment it was started in. The numbers computed are the same either way.
/// <c>DISTILL_MALLOC=no-hugepages</c> keeps small pages (the rest of the tuning stays); <c>DISTILL_MALLOC=default</c>
/// turns off both.
/// </summary>
public static class TransparentHugePages
{
    /// <summary>The glibc tunable that makes malloc advise huge pages for its heap.</summary>
    public const string Tunable = "glibc.malloc.hugetlb";

    /// <summary>The value of <c>DISTILL_MALLOC</c> that keeps the allocator tuning but small pages.</summary>
    public const string OptOut = "no-hugepages";

    private const string KernelSetting = "/sys/kernel/mm/transparent_hugepage/enabled";

    /// <summary>The first glibc that knows the tunable.</summary>
    public static readonly Version FirstGlibc = new(2, 35);

    private static readonly Lazy<bool> active = new(DetectActive);

    /// <summary>
    /// Whether this process's heap gets transparent huge pages: the kernel gives them to all anonymous memory
    /// (<c>always</c>), or gives them where advised (<c>madvise</c>) and this process started with the tunable set
    /// to 1 or 2 under a glibc that knows it.
    /// </summary>
    public static bool Active => active.Value;

    /// <summary>
    /// The <c>GLIBC_TUNABLES</c> value to restart a process with so that its heap gets huge pages, or null when a
    /// restart would change nothing: <paramref name="distillMalloc"/> (<c>DISTILL_MALLOC</c>) is <c>default</c> or
    /// <see cref="OptOut"/>; the kernel's mode is not <c>madvise</c> (under <c>always</c> the heap already has them,
    /// under <c>never</c> it cannot); glibc is older than 2.35 or unknown; or <paramref name="glibcTunables"/> already
    /// sets the tunable (to any value: the user's choice stands). Otherwise the tunable is appended to the user's
    /// tunables, which stay as they are.
    /// </summary>
    public static string? TunablesForRestart(string? distillMalloc, string? glibcTunables, string? kernelMode, Version? glibc)
    {
        if (distillMalloc is "default" or OptOut || !GivenOnRequest(kernelMode, glibc)) return null;
        if (TunableValue(glibcTunables) is not null) return null;
        return string.IsNullOrEmpty(glibcTunables) ? $"{Tunable}=1" : $"{glibcTunables}:{Tunable}=1";
    }

    /// <summary>Whether the kernel gives huge pages where advised and glibc knows the tunable that advises them.</summary>
    private static bool GivenOnRequest(string? kernelMode, Version? glibc) =>
        kernelMode == "madvise" && glibc is not null && glibc >= FirstGlibc;

    /// <summary>The tunable's value in a <c>GLIBC_TUNABLES</c> string (the last one given wins, as in glibc), or null.</summary>
    public static string? TunableValue(string? glibcTunables)
    {
        string? value = null;
        foreach (var pair in (glibcTunables ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=');
            if (eq > 0 && pair[..eq] == Tunable) value = pair[(eq + 1)..];
        }
        return value;
    }

    /// <summary>
    /// The kernel's transparent-huge-page mode, the bracketed word of
    /// <c>/sys/kernel/mm/transparent_hugepage/enabled</c> (<c>always</c>, <c>madvise</c> or <c>never</c>), or null
    /// where the file is missing or unreadable.
    /// </summary>
    public static string? KernelMode()
    {
        try
        {
            return ParseKernelMode(File.ReadAllText(KernelSetting));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The bracketed word of the kernel file's text, e.g. <c>madvise</c> in <c>always [madvise] never</c>.</summary>
    public static string? ParseKernelMode(string text)
    {
        int open = text.IndexOf('[');
        int close = open < 0 ? -1 : text.IndexOf(']', open + 1);
        return close > open + 1 ? text[(open + 1)..close] : null;
    }

    /// <summary>The running glibc's version (<c>gnu_get_libc_version</c>), or null elsewhere.</summary>
    public static Version? GlibcVersion()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            return Version.TryParse(Marshal.PtrToStringUTF8(gnu_get_libc_version()), out var v) ? v : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;   // not glibc (e.g. musl)
        }
    }

    /// <summary>
    /// The value of <c>GLIBC_TUNABLES</c> that this process started with (from <c>/proc/self/environ</c>, what glibc
    /// read), which later changes to the managed environment do not touch.
    /// </summary>
    public static string? StartupTunables()
    {
        try
        {
            const string prefix = "GLIBC_TUNABLES=";
            foreach (var entry in File.ReadAllText("/proc/self/environ").Split('\0'))
                if (entry.StartsWith(prefix, StringComparison.Ordinal)) return entry[prefix.Length..];
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool DetectActive()
    {
        if (!OperatingSystem.IsLinux()) return false;
        var mode = KernelMode();
        return mode == "always" || (GivenOnRequest(mode, GlibcVersion()) && TunableValue(StartupTunables()) is "1" or "2");
    }

    [DllImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static extern nint gnu_get_libc_version();
}
