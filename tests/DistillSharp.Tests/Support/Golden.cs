using System.Text.Json;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Support;

/// <summary>Golden values written by the PyTorch scripts in tests/reference/ (copied to the test output as golden/).</summary>
internal static class Golden
{
    public static JsonElement Load(string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "golden", file);
        using var stream = File.OpenRead(path);
        return JsonDocument.Parse(stream).RootElement.Clone();
    }

    public static float[] Floats(this JsonElement e) => e.EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();

    public static long[] Longs(this JsonElement e) => e.EnumerateArray().Select(x => x.GetInt64()).ToArray();

    /// <summary>The reference scripts' formula fill: <c>scale · sin(a · i + b)</c> over the row-major flat index i.</summary>
    public static Tensor Fill(long[] shape, double a, double b, double scale = 1.0)
    {
        long n = shape.Aggregate(1L, (x, y) => x * y);
        var values = new float[n];
        for (long i = 0; i < n; i++) values[i] = (float)(scale * Math.Sin(a * i + b));
        return tensor(values, shape);
    }

    public static void AssertClose(float[] expected, float[] actual, double relative, double absolute = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = absolute + relative * Math.Abs(expected[i]);
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol,
                $"element {i}: expected {expected[i]}, got {actual[i]} (tolerance {tol})");
        }
    }
}
