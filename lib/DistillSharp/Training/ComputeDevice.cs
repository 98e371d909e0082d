using TorchSharp;

namespace DistillSharp.Training;

/// <summary>Chooses the device a run uses: <c>auto</c> (CUDA when present, else CPU), <c>cpu</c> or <c>cuda</c>.</summary>
public static class ComputeDevice
{
    /// <summary>The accepted values of <c>--device</c>.</summary>
    public static readonly IReadOnlyList<string> Choices = ["auto", "cpu", "cuda"];

    /// <summary>
    /// Resolves a device name. <c>cuda</c> where no CUDA device is usable is an error that says what to
    /// install; an unknown name is an error that lists the choices.
    /// </summary>
    public static torch.Device Resolve(string name)
    {
        switch (name.Trim().ToLowerInvariant())
        {
            case "auto":
                return CudaAvailable() ? torch.CUDA : torch.CPU;
            case "cpu":
                return torch.CPU;
            case "cuda":
                if (!CudaAvailable())
                {
                    throw new DistillSharpException(
                        "--device cuda: no CUDA device is available. This build uses the CPU backend (TorchSharp-cpu) " +
                        "or the machine has no NVIDIA GPU; on a Linux machine with one, rebuild with " +
                        "'dotnet build -p:TorchBackend=cuda' (TorchSharp-cuda-linux), or use --device cpu.");
                }
                return torch.CUDA;
            default:
                throw new DistillSharpException(
                    $"--device '{name}' is not a device; choose one of: {string.Join(", ", Choices)}.");
        }
    }

    /// <summary>True when the loaded backend is a CUDA build and a CUDA device is present.</summary>
    public static bool CudaAvailable() => torch.cuda.is_available();

    /// <summary>The backend the library was built with (the MSBuild property <c>TorchBackend</c>).</summary>
    public static string Backend =>
        typeof(ComputeDevice).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "TorchBackend")?.Value ?? "unknown";
}
