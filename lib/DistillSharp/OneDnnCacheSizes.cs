using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Text;
using TorchSharp;

namespace DistillSharp;

/// <summary>
/// Gives oneDNN (libtorch's CPU convolution library) real cache sizes on virtual machines whose CPU reports no cache
/// in its cache-topology leaf, where oneDNN would otherwise compute wrong convolutions and can crash.
/// </summary>
/// <remarks>
/// <para>Why. oneDNN sizes its convolution blocking by the per-core cache sizes it reads through CPUID. Some
/// hypervisors (seen: a Firecracker VM on AMD EPYC Zen 5) return zeros from AMD's cache-topology leaf 0x8000001D
/// and from leaf 4, and oneDNN then believes the L1 and L2 caches hold 1 byte
/// each. With that blocking, measured on such a machine with libtorch 2.10 (oneDNN 3.7): float32 3x3 convolutions in
/// the NCHW layout whose input channels (forward) or output channels (input gradient) are not a multiple of 16 came
/// out with a relative error near 0.1, sometimes NaN; and creating the 1x1 convolutions of pyramidnet200_a240 divided
/// an integer by zero inside oneDNN (SIGFPE, the process dies). The legacy AMD leaves 0x80000005 and 0x80000006 still
/// report the L1 data and L2 sizes on those machines.</para>
/// <para>What. <see cref="Apply"/> runs once per process after libtorch is loaded and before the first convolution.
/// It does nothing unless the CPU's cache-topology leaf is empty. Then it finds oneDNN's
/// <c>dnnl::impl::cpu::platform::get_per_core_cache_size(int)</c> in libtorch_cpu.so's ELF symbol table (a local
/// symbol: it cannot be interposed), asks it for the L1 and L2 sizes, and only when it answers an implausible size
/// (under 4 KiB) replaces its body by a few instructions that return the sizes of the legacy leaves (or oneDNN's own
/// guesses, 32 KiB and 512 KiB, when those are empty too) and oneDNN's guess of 1 MiB per core for L3. When anything is
/// not as expected (another system, no symbol, a function too small, memory that cannot be made writable) it changes
/// nothing and <see cref="Status"/> says why, and a warning names the risk and the way out
/// (<c>DISTILL_ONEDNN_CACHE=off</c> turns the correction off; nothing turns oneDNN's misreading off).</para>
/// </remarks>
public static class OneDnnCacheSizes
{
    private const string Symbol = "_ZN4dnnl4impl3cpu8platform23get_per_core_cache_sizeEi";
    private const uint Implausible = 4 * 1024;
    private const uint GuessL1 = 32 * 1024, GuessL2 = 512 * 1024, GuessL3 = 1024 * 1024;
    private static readonly object Gate = new();
    private static bool done;

    /// <summary>What <see cref="Apply"/> found and did, in one line (null before it ran).</summary>
    public static string? Status { get; private set; }

    /// <summary>The per-core (L1 data, L2, L3) sizes in bytes that oneDNN uses after a correction, or null when none was made.</summary>
    public static (uint L1, uint L2, uint L3)? Corrected { get; private set; }

    /// <summary>
    /// Loads libtorch if no torch call has yet, then corrects oneDNN's per-core cache sizes when the CPU hides them
    /// (see the class remarks). A second call does nothing. Never throws: a failure leaves oneDNN as it was and is
    /// reported in <see cref="Status"/> and on the standard error stream.
    /// </summary>
    public static void Apply()
    {
        lock (Gate)
        {
            if (done) return;
            done = true;
            try
            {
                Status = Run();
            }
            catch (Exception e)
            {
                // Best effort by design: a model must still be usable where the correction cannot be made.
                Status = $"not corrected: {e.GetType().Name}: {e.Message}";
            }
            if (Status.StartsWith("not corrected", StringComparison.Ordinal))
            {
                Console.Error.WriteLine(
                    $"DistillSharp: this CPU reports no cache sizes to oneDNN, whose convolutions can then be wrong or crash, and the correction failed ({Status}); run on another machine or report this message.");
            }
        }
    }

    private static string Run()
    {
        if (Environment.GetEnvironmentVariable("DISTILL_ONEDNN_CACHE") == "off") return "off (DISTILL_ONEDNN_CACHE=off)";
        if (!OperatingSystem.IsLinux() || !X86Base.IsSupported) return "not needed (not Linux on x86-64)";
        if (!CacheLeafEmpty(out var vendor)) return $"not needed ({vendor} CPU reports its caches)";

        torch.get_num_threads();   // loads libtorch, if nothing has yet
        var (path, loadBase) = MappedLibrary("libtorch_cpu.so")
            ?? throw new InvalidDataException("libtorch_cpu.so is not mapped into this process");
        var (value, size) = ElfLocalSymbol.Find(path, Symbol)
            ?? throw new InvalidDataException($"{Path.GetFileName(path)} has no symbol {Symbol}");
        var entry = (nint)(loadBase + value);
        var query = Marshal.GetDelegateForFunctionPointer<CacheSizeQuery>(entry);
        uint l1 = query(1), l2 = query(2);
        if (l1 >= Implausible && l2 >= Implausible) return $"not needed (oneDNN reads L1 {l1} B, L2 {l2} B)";

        var (legacyL1, legacyL2) = LegacyAmdCacheSizes();
        var sizes = (L1: legacyL1 >= Implausible ? legacyL1 : GuessL1, L2: legacyL2 >= Implausible ? legacyL2 : GuessL2, L3: GuessL3);
        var stub = Stub(sizes.L1, sizes.L2, sizes.L3);
        if ((ulong)stub.Length > size) throw new InvalidDataException($"{Symbol} is {size} bytes, too small for the replacement");
        Patch(entry, stub);
        if (query(1) != sizes.L1 || query(2) != sizes.L2 || query(3) != sizes.L3)
            throw new InvalidDataException("the replaced function does not return the sizes written");
        Corrected = sizes;
        return string.Create(CultureInfo.InvariantCulture,
            $"corrected: oneDNN read L1 {l1} B, L2 {l2} B; now L1 {sizes.L1 / 1024} KiB, L2 {sizes.L2 / 1024} KiB, L3 {sizes.L3 / 1024} KiB per core");
    }

    /// <summary>
    /// Whether the deterministic cache leaf (AMD 0x8000001D, Intel 4) reports no cache at subleaf 0 (cache type 0),
    /// which is what makes oneDNN misread the sizes. (The VM seen sets <c>topoext</c> in /proc/cpuinfo but not in
    /// CPUID 0x80000001 ECX, so the flag is not asked; oneDNN's own answer is checked before anything changes.)
    /// </summary>
    internal static bool CacheLeafEmpty(out string vendor)
    {
        var (_, b, c, d) = X86Base.CpuId(0, 0);
        var bytes = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, b);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), d);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), c);
        vendor = Encoding.ASCII.GetString(bytes);
        var maxBasic = (uint)X86Base.CpuId(0, 0).Eax;
        var maxExtended = (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
        if (vendor == "AuthenticAMD")
            return maxExtended >= 0x8000001D && (X86Base.CpuId(unchecked((int)0x8000001D), 0).Eax & 0x1F) == 0;
        return vendor == "GenuineIntel" && maxBasic >= 4 && (X86Base.CpuId(4, 0).Eax & 0x1F) == 0;
    }

    /// <summary>L1 data and L2 sizes in bytes from the legacy leaves 0x80000005 (ECX[31:24] KiB) and 0x80000006 (ECX[31:16] KiB); 0 where absent.</summary>
    private static (uint L1, uint L2) LegacyAmdCacheSizes()
    {
        var maxExtended = (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
        uint l1 = maxExtended >= 0x80000005 ? ((uint)X86Base.CpuId(unchecked((int)0x80000005), 0).Ecx >> 24) * 1024 : 0;
        uint l2 = maxExtended >= 0x80000006 ? ((uint)X86Base.CpuId(unchecked((int)0x80000006), 0).Ecx >> 16) * 1024 : 0;
        return (l1, l2);
    }

    /// <summary>
    /// x86-64 code for <c>unsigned f(int level)</c> (System V: level in edi, result in eax): the given size for levels
    /// 1, 2 and 3, and 0 for any other level, as oneDNN's own function answers beyond the levels it knows.
    /// </summary>
    internal static byte[] Stub(uint l1, uint l2, uint l3)
    {
        var code = new List<byte>(40);
        foreach (var (level, bytes) in new[] { (1, l1), (2, l2), (3, l3) })
        {
            code.AddRange([0x83, 0xFF, (byte)level]);   // cmp edi, level
            code.AddRange([0x75, 0x06]);                // jne over the next 6 bytes
            code.Add(0xB8);                             // mov eax, bytes
            code.AddRange(BitConverter.GetBytes(bytes));
            code.Add(0xC3);                             // ret
        }
        code.AddRange([0x31, 0xC0, 0xC3]);              // xor eax, eax; ret
        return [.. code];
    }

    private static void Patch(nint entry, byte[] code)
    {
        long page = Environment.SystemPageSize;
        long start = entry & ~(page - 1);
        long length = (entry + code.Length - start + page - 1) / page * page;
        if (mprotect((nint)start, (nuint)length, ProtRead | ProtWrite | ProtExec) != 0)
            throw new InvalidDataException($"mprotect could not make oneDNN's code writable (errno {Marshal.GetLastPInvokeError()})");
        Marshal.Copy(code, 0, entry, code.Length);
        if (mprotect((nint)start, (nuint)length, ProtRead | ProtExec) != 0)
            throw new InvalidDataException($"mprotect could not restore oneDNN's code protection (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>The path and load address of a shared library mapped into this process (its mapping at file offset 0).</summary>
    internal static (string Path, ulong Base)? MappedLibrary(string fileName)
    {
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var slash = line.IndexOf('/');
            if (slash < 0 || Path.GetFileName(line[slash..]) != fileName) continue;
            var fields = line.Split(' ', 4, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 3 || ulong.Parse(fields[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture) != 0) continue;
            var start = ulong.Parse(fields[0][..fields[0].IndexOf('-')], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return (line[slash..], start);
        }
        return null;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate uint CacheSizeQuery(int level);

    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;

    [DllImport("libc", SetLastError = true)]
    private static extern int mprotect(nint address, nuint length, int protection);
}
