using System.CommandLine;
using DistillSharp.Training;
using TorchSharp;

namespace DistillSharp.Cli;

/// <summary><c>distill info</c>: the backend, the libtorch version, the device, the thread count and the allocator.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var device = CommonOptions.Device();
        var command = new Command("info", "Show the tensor backend, libtorch version, device, threads and allocator.") { device };
        command.SetAction(parse =>
        {
            var chosen = ComputeDevice.Resolve(parse.GetRequiredValue(device));
            var output = parse.InvocationConfiguration.Output;
            output.WriteLine($"backend:   TorchSharp-{(ComputeDevice.Backend == "cuda" ? "cuda-linux" : "cpu")} (TorchBackend={ComputeDevice.Backend})");
            output.WriteLine($"libtorch:  {torch.__version__}");
            output.WriteLine($"device:    {chosen}");
            output.WriteLine($"cuda:      {(ComputeDevice.CudaAvailable() ? torch.cuda.device_count() + " device(s)" : "none")}");
            output.WriteLine($"threads:   {torch.get_num_threads()} (cores: {Environment.ProcessorCount})");
            output.WriteLine($"allocator: {NativeAllocator.Description}");
            return 0;
        });
        return command;
    }
}
