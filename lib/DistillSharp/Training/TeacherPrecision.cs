using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Training;

/// <summary>
/// The number format a frozen teacher runs its forward pass in: <c>fp32</c>, <c>bf16</c> (bfloat16: float32's 8-bit
/// exponent with a 7-bit stored mantissa, so a relative rounding of at most 2⁻⁸ per value) or <c>auto</c> (bf16 where
/// the hardware has bfloat16 arithmetic, else fp32).
/// </summary>
/// <remarks>
/// <para>A teacher in bf16 is converted as a whole (weights, buffers and its input batch, with
/// <c>Module.to(ScalarType.BFloat16)</c>; TorchSharp 0.107 has no autocast). Its outputs are converted back, so the
/// logits, features and pooled vector reach every loss as float32 (<see cref="Distillers.Distiller.TeacherPrecision"/>).
/// It applies only to teachers in eval mode: a teacher in train mode (OFD, LONDON) updates batch-norm statistics every
/// step and stays fp32.</para>
/// <para><c>auto</c> on a CPU reads the flags of <c>/proc/cpuinfo</c>: <c>amx_bf16</c> (Intel AMX) or <c>avx512_bf16</c>
/// (Intel Cooper Lake and later, AMD Zen 4 and later), the units oneDNN runs bfloat16 convolutions on; without them
/// libtorch emulates bfloat16 and is slower than float32. On CUDA, <c>torch.cuda.is_bf16_supported</c> is not exposed by
/// TorchSharp 0.107, so <c>auto</c> on a GPU picks fp32 (choose bf16 explicitly on Ampere and later).</para>
/// </remarks>
public static class TeacherPrecision
{
    /// <summary>float32 everywhere (today's numbers).</summary>
    public const string Fp32 = "fp32";
    /// <summary>The eval-mode teacher in bfloat16.</summary>
    public const string Bf16 = "bf16";
    /// <summary>bf16 where the hardware has bfloat16 units, else fp32.</summary>
    public const string Auto = "auto";

    /// <summary>The accepted values of <c>--teacher-precision</c>.</summary>
    public static readonly IReadOnlyList<string> Choices = [Fp32, Bf16, Auto];

    /// <summary>The CPU flags that make <c>auto</c> pick bf16.</summary>
    public static readonly IReadOnlyList<string> Bf16CpuFlags = ["amx_bf16", "avx512_bf16"];

    /// <summary>
    /// Overrides what <see cref="CpuHasBf16Units"/> reports (null: read the machine). Tests set it to force the path of
    /// a CPU without bfloat16 units.
    /// </summary>
    public static bool? CpuBf16Override { get; set; }

    /// <summary>Checks <paramref name="name"/>; an unknown value is an error listing the choices.</summary>
    public static string Check(string name)
    {
        var n = name.Trim().ToLowerInvariant();
        if (!Choices.Contains(n))
        {
            throw new DistillSharpException($"--teacher-precision '{name}' is not a precision; choose one of: {string.Join(", ", Choices)}.");
        }
        return n;
    }

    /// <summary>
    /// The element type a teacher on <paramref name="device"/> runs in for <paramref name="name"/>: float32 or
    /// bfloat16 (<c>auto</c>: bfloat16 on a CPU with <see cref="Bf16CpuFlags"/>, float32 otherwise and on CUDA).
    /// </summary>
    public static ScalarType Resolve(string name, Device device) => Check(name) switch
    {
        Fp32 => ScalarType.Float32,
        Bf16 => ScalarType.BFloat16,
        _ => device.type == DeviceType.CPU && CpuHasBf16Units() ? ScalarType.BFloat16 : ScalarType.Float32,
    };

    /// <summary>The name of a resolved element type: <c>fp32</c> or <c>bf16</c>.</summary>
    public static string NameOf(ScalarType type) => type == ScalarType.BFloat16 ? Bf16 : Fp32;

    /// <summary>True when this machine's CPU has bfloat16 units (<see cref="Bf16CpuFlags"/>, or <see cref="CpuBf16Override"/>).</summary>
    public static bool CpuHasBf16Units()
    {
        if (CpuBf16Override is { } forced) return forced;
        try
        {
            return File.Exists("/proc/cpuinfo") && HasBf16Flag(File.ReadAllText("/proc/cpuinfo"));
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>True when a <c>flags</c> line of <paramref name="cpuinfo"/> (the text of <c>/proc/cpuinfo</c>) names one of <see cref="Bf16CpuFlags"/>.</summary>
    public static bool HasBf16Flag(string cpuinfo)
    {
        foreach (var line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0 || line[..colon].Trim() != "flags") continue;
            var flags = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (flags.Any(f => Bf16CpuFlags.Contains(f))) return true;
        }
        return false;
    }
}
