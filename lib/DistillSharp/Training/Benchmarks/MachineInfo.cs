using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;

namespace DistillSharp.Training.Benchmarks;

/// <summary>What a benchmark ran on: the CPU, cores, threads, backend, device, allocator and the load average.</summary>
/// <param name="Cpu">The CPU model (from <c>/proc/cpuinfo</c>).</param>
/// <param name="Cores">Logical processors the process may use.</param>
/// <param name="Threads">libtorch's intra-op threads.</param>
/// <param name="InteropThreads">libtorch's inter-op threads.</param>
/// <param name="Backend">The tensor library and its version.</param>
/// <param name="Device">The compute device.</param>
/// <param name="Allocator">The native allocator setting.</param>
/// <param name="System">The operating system.</param>
/// <param name="LoadAverage">The 1, 5 and 15 minute load averages when the benchmark started.</param>
public sealed record MachineInfo(
    string Cpu, int Cores, int Threads, int InteropThreads, string Backend, string Device, string Allocator, string System, string LoadAverage)
{
    /// <summary>Describes this process and machine now.</summary>
    public static MachineInfo Current() => new(
        CpuModel(), Environment.ProcessorCount, torch.get_num_threads(), torch.get_num_interop_threads(),
        $"TorchSharp-{ComputeDevice.Backend} (libtorch {torch.__version__})", "cpu", NativeAllocator.Description,
        RuntimeInformation.OSDescription, LoadAverageNow());

    /// <summary>The load averages from <c>/proc/loadavg</c>, or "unknown".</summary>
    public static string LoadAverageNow()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return string.Join(' ', parts.Take(3));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unknown";
        }
    }

    /// <summary>The 1-minute load average, or NaN where unknown.</summary>
    public static double OneMinuteLoad() =>
        double.TryParse(LoadAverageNow().Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;

    /// <summary>The CPU model of this machine (from <c>/proc/cpuinfo</c>; the architecture where that is missing).</summary>
    public static string CpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo") && ParseCpuModel(File.ReadAllText("/proc/cpuinfo")) is string model) return model;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>The first non-empty <c>model name</c> of a <c>/proc/cpuinfo</c> text, or null.</summary>
    public static string? ParseCpuModel(string cpuinfo)
    {
        foreach (var line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Trim() == "model name")
            {
                var value = line[(colon + 1)..].Trim();
                if (value.Length > 0) return value;
            }
        }
        return null;
    }
}
