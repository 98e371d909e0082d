using System.Runtime.InteropServices;
using DistillSharp.Training;

namespace DistillSharp.Reporting;

/// <summary>What a run ran on, in words, for the "this run" column of a results table.</summary>
public static class MachineInfo
{
    /// <summary>
    /// "2 CPU cores (AMD EPYC), TorchSharp cpu backend": the cores this process may use, the CPU model from
    /// <c>/proc/cpuinfo</c> (the architecture where that file is missing), the backend, and whether a CUDA device is present.
    /// </summary>
    public static string Describe()
    {
        int cores = Environment.ProcessorCount;
        var model = File.Exists("/proc/cpuinfo") ? CpuModel(File.ReadAllText("/proc/cpuinfo")) : null;
        var cpu = model ?? RuntimeInformation.ProcessArchitecture.ToString();
        var cuda = ComputeDevice.CudaAvailable() ? ", CUDA device present" : "";
        return $"{cores} CPU core{(cores == 1 ? "" : "s")} ({cpu}), TorchSharp {ComputeDevice.Backend} backend{cuda}";
    }

    /// <summary>The first <c>model name</c> in the text of a Linux <c>/proc/cpuinfo</c>, or null when there is none.</summary>
    public static string? CpuModel(string cpuinfo) => Training.Benchmarks.MachineInfo.ParseCpuModel(cpuinfo);
}
