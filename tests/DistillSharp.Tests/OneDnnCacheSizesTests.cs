using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests;

/// <summary>
/// oneDNN's per-core cache sizes on CPUs that hide them (<see cref="OneDnnCacheSizes"/>): the convolutions they broke,
/// the replacement code, and the symbol lookup it relies on.
/// </summary>
public sealed class OneDnnCacheSizesTests
{
    /// <summary>
    /// The case that came out wrong (relative error about 0.1) on a VM with an empty cache leaf: a float32 3x3
    /// convolution in the NCHW layout with 18 input and 18 output channels. The reference is the convolution written
    /// as unfold (im2col) and a matrix product in float64, with its input gradient from autograd through that product:
    /// no convolution kernel is involved.
    /// </summary>
    [Fact]
    public void AnNchwConvolutionWithChannelsNotAMultipleOf16MatchesIm2colInFloat64()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(7);
        const int n = 2, c = 18, hw = 12;
        var x = randn(n, c, hw, hw, generator: g);
        var w = randn(c, c, 3, 3, generator: g) * 0.1;
        var up = randn(n, c, hw, hw, generator: g);

        var xs = x.detach().requires_grad_(true);
        var y = nn.functional.conv2d(xs, w, padding: [1, 1]);
        (y * up).sum().backward();

        var x64 = x.to(ScalarType.Float64).requires_grad_(true);
        var columns = nn.functional.unfold(x64, 3, padding: 1);                     // n x (c*9) x (hw*hw)
        var reference = w.to(ScalarType.Float64).reshape(c, c * 9).matmul(columns).reshape(n, c, hw, hw);
        (reference * up.to(ScalarType.Float64)).sum().backward();

        Assert.True(Relative(y, reference) < 1e-5, $"forward relative error {Relative(y, reference):E2}");
        Assert.True(Relative(xs.grad!, x64.grad!) < 1e-5, $"input-gradient relative error {Relative(xs.grad!, x64.grad!):E2}");
    }

    [Fact]
    public void OnACpuThatHidesItsCachesOneDnnAnswersTheCorrectedSizes()
    {
        OneDnnCacheSizes.Apply();
        Assert.NotNull(OneDnnCacheSizes.Status);
        if (!OperatingSystem.IsLinux() || !System.Runtime.Intrinsics.X86.X86Base.IsSupported) return;
        if (!OneDnnCacheSizes.CacheLeafEmpty(out _))
        {
            Assert.StartsWith("not needed", OneDnnCacheSizes.Status);
            return;
        }
        // This machine hides its caches: oneDNN's function must now answer at least a page for L1 and L2.
        Assert.StartsWith("corrected", OneDnnCacheSizes.Status);
        var (l1, l2, l3) = OneDnnCacheSizes.Corrected!.Value;
        Assert.InRange(l1, 4096u, 1u << 20);
        Assert.InRange(l2, l1, 64u << 20);
        Assert.Equal(1u << 20, l3);
    }

    /// <summary>The replacement's machine code, executed: the size for levels 1–3 and 0 for any other level.</summary>
    [Fact]
    public void TheReplacementCodeReturnsEachLevelsSize()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return;
        var code = OneDnnCacheSizes.Stub(48 << 10, 1 << 20, 3 << 20);
        var page = mmap(0, 4096, 1 | 2 | 4, 0x02 | 0x20, -1, 0);   // PROT_READ|WRITE|EXEC, MAP_PRIVATE|ANONYMOUS
        Assert.NotEqual(-1, page);
        try
        {
            Marshal.Copy(code, 0, page, code.Length);
            var f = Marshal.GetDelegateForFunctionPointer<Level>(page);
            Assert.Equal(48u << 10, f(1));
            Assert.Equal(1u << 20, f(2));
            Assert.Equal(3u << 20, f(3));
            Assert.Equal(0u, f(0));
            Assert.Equal(0u, f(4));
            Assert.Equal(0u, f(-1));
        }
        finally
        {
            munmap(page, 4096);
        }
    }

    /// <summary>The symbol-table lookup agrees with the dynamic linker on a function both tables list.</summary>
    [Fact]
    public void TheSymbolTableLookupFindsTheAddressTheDynamicLinkerGives()
    {
        if (!OperatingSystem.IsLinux()) return;
        using (ones(1)) { }   // libLibTorchSharp.so is mapped
        var (path, loadBase) = OneDnnCacheSizes.MappedLibrary("libLibTorchSharp.so")!.Value;
        var (value, size) = ElfLocalSymbol.Find(path, "THSTensor_add")!.Value;
        var exported = NativeLibrary.GetExport(NativeLibrary.Load(path), "THSTensor_add");
        Assert.Equal((ulong)exported, loadBase + value);
        Assert.True(size > 0);
        Assert.Null(ElfLocalSymbol.Find(path, "THSTensor_add_not_a_function"));
        Assert.Throws<InvalidDataException>(() => ElfLocalSymbol.Find(typeof(OneDnnCacheSizesTests).Assembly.Location, "x"));
    }

    private static double Relative(Tensor a, Tensor b) =>
        ((a.to(ScalarType.Float64) - b).norm() / b.norm()).item<double>();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate uint Level(int level);

    [DllImport("libc")]
    private static extern nint mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc")]
    private static extern int munmap(nint address, nuint length);
}
