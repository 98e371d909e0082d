using System.Text.Json;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Support;

/// <summary>
/// The sketch of a tensor that the reference scripts store when the tensor itself is too large to commit
/// (tests/reference/zoo_gradients.py, <c>direction</c>): its dot products with eight fixed pseudo-random directions
/// <c>d_j[i] = cos(2π r_j(i) / P)</c>, <c>r_j(i) = (K_j i² + L_j i + C_j) mod P</c> over the row-major flat index i,
/// P = 3000017, K_j = (914237 + 611953 j) mod P, L_j = (1046527 + 433981 j) mod P, C_j = 271828 j mod P, computed in
/// exact int64 arithmetic and then float64 as there. The directions behave as a random projection: the relative
/// error and the cosine of two sketches estimate those of the two tensors.
/// </summary>
internal static class GradientSketch
{
    public const int Size = 8;
    private const long Prime = 3000017;

    /// <summary>The j-th direction over <paramref name="n"/> entries, float64.</summary>
    public static Tensor Direction(long n, int j)
    {
        long k = (914237 + 611953L * j) % Prime, l = (1046527 + 433981L * j) % Prime, c = 271828L * j % Prime;
        using var scope = NewDisposeScope();
        var i = arange(n, dtype: ScalarType.Int64);
        var r = ((i * i).remainder(Prime) * k + i * l + c).remainder(Prime);
        return (r.to(ScalarType.Float64) * (2 * Math.PI / Prime)).cos().MoveToOuterDisposeScope();
    }

    /// <summary>The sketch <c>[⟨t, d_0⟩, …, ⟨t, d_7⟩]</c> of <paramref name="t"/> (any shape, any float type).</summary>
    public static double[] Of(Tensor t)
    {
        using var scope = NewDisposeScope();
        var flat = t.detach().to(ScalarType.Float64).contiguous().reshape(-1);
        var result = new double[Size];
        for (int j = 0; j < Size; j++) result[j] = flat.dot(Direction(flat.numel(), j)).item<double>();
        return result;
    }

    public static double[] Doubles(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetDouble())];

    public static double Norm(IReadOnlyList<double> a) => Math.Sqrt(a.Sum(x => x * x));

    /// <summary><c>‖a − b‖ / ‖b‖</c> (b the reference).</summary>
    public static double RelativeError(IReadOnlyList<double> a, IReadOnlyList<double> b) =>
        Math.Sqrt(a.Zip(b).Sum(p => (p.First - p.Second) * (p.First - p.Second))) / Norm(b);

    /// <summary><c>⟨a, b⟩ / (‖a‖ ‖b‖)</c>; 0 when either is zero.</summary>
    public static double Cosine(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        double na = Norm(a), nb = Norm(b);
        return na == 0 || nb == 0 ? 0 : a.Zip(b).Sum(p => p.First * p.Second) / (na * nb);
    }
}
