using DistillSharp.Reporting;

namespace DistillSharp.Tests.Reporting;

public sealed class MachineInfoTests
{
    [Fact]
    public void TheCpuModelIsTheFirstModelNameOfCpuinfo()
    {
        const string cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 1\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        Assert.Equal("AMD EPYC 7B13", DistillSharp.Training.Benchmarks.MachineInfo.ParseCpuModel(cpuinfo));
        Assert.Null(DistillSharp.Training.Benchmarks.MachineInfo.ParseCpuModel("processor\t: 0\nmodel\t\t: 1\n"));
    }

    [Fact]
    public void TheDescriptionStartsWithTheCoreCount()
    {
        int cores = Environment.ProcessorCount;
        Assert.StartsWith($"{cores} CPU core{(cores == 1 ? "" : "s")} (", MachineInfo.Describe());
        Assert.Contains($"TorchSharp {DistillSharp.Training.ComputeDevice.Backend} backend", MachineInfo.Describe());
    }
}
