using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DistillSharp.Training;

/// <summary>
/// Tunes glibc's allocator for libtorch when the library loads. With glibc's defaults, the many short-lived
/// activation buffers of a training step are returned to the kernel and faulted in again on every step
/// (large blocks are mmap'ed and unmapped, the heap top is trimmed), and the process spends a large share
/// of its time in page faults. Keeping freed memory in the process removes that cost: a trim threshold of 1 GiB
/// and a top pad of 256 MiB keep the heap, and an mmap threshold of 2 GiB serves every tensor from the heap (glibc
/// 2.36 accepts it; older glibc, which caps the threshold at 32 MiB, gets 32 MiB). Measured with <c>distill bench</c>
/// on 2 cores: without the tuning resnet20 trains at about half the speed; with a 32 MiB mmap threshold, evaluating
/// resnet8x4 at batch 256 (67 MB activations) ran several times slower than with 2 GiB, page-faulting every buffer.
/// Set <c>DISTILL_MALLOC=default</c> to keep glibc's defaults (for comparisons); other systems are unaffected. The
/// heap's page size is <see cref="TransparentHugePages"/>' concern.
/// </summary>
public static class NativeAllocator
{
    private const int MTrimThreshold = -1;
    private const int MTopPad = -2;
    private const int MMmapThreshold = -3;

    /// <summary>The environment variable that turns the tuning off (<c>default</c>) or keeps small pages (<c>no-hugepages</c>).</summary>
    public const string Variable = "DISTILL_MALLOC";

    /// <summary>Whether the tuning was applied in this process.</summary>
    public static bool Tuned { get; private set; }

    /// <summary>A one-line description for run headers and benchmarks, naming transparent huge pages where the heap has them.</summary>
    public static string Description => (Tuned
        ? $"glibc malloc tuned (trim 1 GiB, top pad 256 MiB, mmap threshold {(MmapThreshold >= 1 << 30 ? "2 GiB" : "32 MiB")})"
        : "allocator defaults") + (TransparentHugePages.Active ? ", transparent huge pages"
            : OperatingSystem.IsLinux() ? ", small pages" : "");

    /// <summary>The mmap threshold set (0 when untuned).</summary>
    public static int MmapThreshold { get; private set; }

#pragma warning disable CA2255 // a module initializer is the point: the tuning must precede libtorch's first allocation
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(Variable) == "default") return;
        try
        {
            MmapThreshold = mallopt(MMmapThreshold, int.MaxValue) == 1 ? int.MaxValue
                : mallopt(MMmapThreshold, 32 << 20) == 1 ? 32 << 20 : 0;
            bool ok = MmapThreshold > 0;
            ok &= mallopt(MTrimThreshold, 1 << 30) == 1;
            ok &= mallopt(MTopPad, 256 << 20) == 1;
            Tuned = ok;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (e.g. musl): nothing to tune.
        }
    }

    /// <summary>
    /// Returns the allocator's cached free memory to the system (glibc's <c>malloc_trim(0)</c>: the free top of the
    /// heap and the free pages inside it), so that the resident size shows the memory in use. The next allocations
    /// fault their pages in again, so this is for measuring (the leak check), not for a training loop.
    /// False where there is nothing to call (not glibc).
    /// </summary>
    public static bool Trim()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            malloc_trim(0);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(nuint pad);

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);
}
