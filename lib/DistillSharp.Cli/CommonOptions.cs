using System.CommandLine;
using DistillSharp.Training;

namespace DistillSharp.Cli;

/// <summary>Options shared by several commands, each created fresh for the command that adds it.</summary>
internal static class CommonOptions
{
    public static Option<string> Device() => new("--device")
    {
        Description = $"Compute device: {string.Join(" | ", ComputeDevice.Choices)} (auto = CUDA when present).",
        DefaultValueFactory = _ => "auto",
    };
}
