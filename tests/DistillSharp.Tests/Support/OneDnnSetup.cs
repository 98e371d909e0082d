using System.Runtime.CompilerServices;

namespace DistillSharp.Tests.Support;

/// <summary>Every test sees the convolutions that a distill run sees: oneDNN's cache sizes corrected where the CPU hides them.</summary>
internal static class OneDnnSetup
{
#pragma warning disable CA2255 // a module initializer is the point: the correction must precede the first convolution of any test
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize() => OneDnnCacheSizes.Apply();
}
