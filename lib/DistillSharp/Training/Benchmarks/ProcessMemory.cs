using System.Globalization;

namespace DistillSharp.Training.Benchmarks;

/// <summary>
/// The resident memory of this process as Linux reports it in <c>/proc/self/status</c>: the current resident set
/// (<c>VmRSS</c>) and its high-water mark (<c>VmHWM</c>). Elsewhere both read as zero.
/// </summary>
public static class ProcessMemory
{
    /// <summary>Resident bytes now.</summary>
    public static long ResidentBytes => Read("VmRSS:");

    /// <summary>The largest resident size since the process started (or since <see cref="ResetPeak"/>).</summary>
    public static long PeakResidentBytes => Read("VmHWM:");

    /// <summary>
    /// Resets the high-water mark to the current resident size (writes "5" to <c>/proc/self/clear_refs</c>);
    /// false where that is not possible.
    /// </summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long Read(string key)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return 0;
        foreach (var line in File.ReadLines(path))
        {
            if (!line.StartsWith(key, StringComparison.Ordinal)) continue;
            var parts = line[key.Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(parts[0], CultureInfo.InvariantCulture) * 1024;   // the kernel reports kB
        }
        return 0;
    }
}
