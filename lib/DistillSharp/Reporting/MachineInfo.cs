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
        var cpu = Training.Benchmarks.MachineInfo.CpuModel();
        var cuda = ComputeDevice.CudaAvailable() ? ", CUDA device present" : "";
        return $"{cores} CPU core{(cores == 1 ? "" : "s")} ({cpu}), TorchSharp {ComputeDevice.Backend} backend{cuda}";
    }
}
