using DistillSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests;

public sealed class TorchSharpLoadTests
{
    [Fact]
    public void NativeLibraryLoadsAndComputes()
    {
        // A 2x2 product checked against the hand computation [[1,2],[3,4]]^2 = [[7,10],[15,22]].
        using var a = tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using var p = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, p.data<float>().ToArray());
        Assert.StartsWith("2.10", torch.__version__);
    }

    [Fact]
    public void DeviceChoiceIsValidated()
    {
        Assert.Equal(DeviceType.CPU, ComputeDevice.Resolve("cpu").type);
        if (!ComputeDevice.CudaAvailable())
        {
            Assert.Equal(DeviceType.CPU, ComputeDevice.Resolve("auto").type);
            var e = Assert.Throws<DistillSharpException>(() => ComputeDevice.Resolve("cuda"));
            Assert.Contains("TorchBackend=cuda", e.Message);
        }
        var bad = Assert.Throws<DistillSharpException>(() => ComputeDevice.Resolve("tpu"));
        Assert.Contains("auto, cpu, cuda", bad.Message);
        Assert.Equal("cpu", ComputeDevice.Backend);
    }
}
