using DistillSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Training;

/// <summary>
/// <see cref="LogitComparison"/> against brute force over plain arrays: a set of 11 images and 6 classes added in
/// batches of 4, 4 and 3, every metric recomputed element by element in float64 (softmax and KL by their definitions).
/// </summary>
public sealed class LogitComparisonTests
{
    private const int N = 11, C = 6;
    private const double T = 3;

    private static float[,] Random(Generator gen, double scale)
    {
        using var t = randn(new long[] { N, C }, generator: gen) * scale;
        var flat = t.data<float>().ToArray();
        var result = new float[N, C];
        for (int n = 0; n < N; n++) for (int c = 0; c < C; c++) result[n, c] = flat[n * C + c];
        return result;
    }

    private static Tensor ToTensor(float[,] a, int from, int count)
    {
        var flat = new float[count * C];
        for (int n = 0; n < count; n++) for (int c = 0; c < C; c++) flat[n * C + c] = a[from + n, c];
        return tensor(flat, new long[] { count, C });
    }

    private static int ArgMax(float[,] a, int n)
    {
        int best = 0;
        for (int c = 1; c < C; c++) if (a[n, c] > a[n, best]) best = c;
        return best;
    }

    private static double[] Softmax(float[,] a, int n)
    {
        var e = Enumerable.Range(0, C).Select(c => Math.Exp(a[n, c] / T)).ToArray();
        double sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }

    /// <summary>T² · (1/N) Σ_n Σ_c p_c (log p_c − log q_c), p = softmax(t/T), q = softmax(s/T).</summary>
    private static double Kd(float[,] teacher, float[,] student)
    {
        double total = 0;
        for (int n = 0; n < N; n++)
        {
            var p = Softmax(teacher, n);
            var q = Softmax(student, n);
            for (int c = 0; c < C; c++) total += p[c] * (Math.Log(p[c]) - Math.Log(q[c]));
        }
        return T * T * total / N;
    }

    [Fact]
    public void EveryMetricEqualsItsBruteForceValue()
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator(23);
        var reference = Random(gen, 2.0);
        var noise = Random(gen, 0.6);
        var student = Random(gen, 1.5);
        var variant = new float[N, C];
        for (int n = 0; n < N; n++) for (int c = 0; c < C; c++) variant[n, c] = reference[n, c] + noise[n, c];
        var labels = Enumerable.Range(0, N).Select(n => (long)((n * 5 + 1) % C)).ToArray();

        var comparison = new LogitComparison(T);
        foreach (var (from, count) in new[] { (0, 4), (4, 4), (8, 3) })
        {
            comparison.Add(ToTensor(reference, from, count), ToTensor(variant, from, count),
                tensor(labels[from..(from + count)]), ToTensor(student, from, count));
        }

        double max = 0, sum = 0;
        int agree = 0, correct = 0, referenceCorrect = 0;
        for (int n = 0; n < N; n++)
        {
            for (int c = 0; c < C; c++)
            {
                double d = Math.Abs((double)variant[n, c] - reference[n, c]);
                max = Math.Max(max, d);
                sum += d;
            }
            agree += ArgMax(variant, n) == ArgMax(reference, n) ? 1 : 0;
            correct += ArgMax(variant, n) == labels[n] ? 1 : 0;
            referenceCorrect += ArgMax(reference, n) == labels[n] ? 1 : 0;
        }
        double kdVariant = Kd(variant, student), kdReference = Kd(reference, student);

        Assert.Equal(N, comparison.Images);
        Assert.Equal(C, comparison.Classes);
        Assert.Equal(max, comparison.MaxAbsDifference, 1e-12);
        Assert.Equal(sum / (N * C), comparison.MeanAbsDifference, 1e-12);
        Assert.Equal(100.0 * agree / N, comparison.Top1Agreement, 1e-9);
        Assert.Equal(100.0 * correct / N, comparison.Top1, 1e-9);
        Assert.Equal(100.0 * referenceCorrect / N, comparison.ReferenceTop1, 1e-9);
        Assert.Equal(kdVariant, comparison.KdLoss, 1e-5 * kdVariant);
        Assert.Equal(kdReference, comparison.ReferenceKdLoss, 1e-5 * kdReference);
        double relative = (kdVariant - kdReference) / kdReference;
        Assert.Equal(relative, comparison.KdLossRelativeDifference, 1e-4);
        // The noise is large enough that every count is a real test: some predictions change, some labels are hit.
        Assert.InRange(agree, 1, N - 1);
        Assert.InRange(correct, 1, N - 1);
        Assert.True(Math.Abs(relative) > 1e-2, $"relative KD difference {relative} too small to test the sign");
    }

    [Fact]
    public void AVariantEqualToTheReferenceHasNoDifference()
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator(3);
        var z = randn(new long[] { 5, 4 }, generator: gen);
        var s = randn(new long[] { 5, 4 }, generator: gen);
        var comparison = new LogitComparison(4);
        comparison.Add(z, z, tensor(new long[] { 0, 1, 2, 3, 0 }), s);
        Assert.Equal(0, comparison.MaxAbsDifference);
        Assert.Equal(0, comparison.MeanAbsDifference);
        Assert.Equal(100, comparison.Top1Agreement);
        Assert.Equal(comparison.ReferenceTop1, comparison.Top1);
        Assert.Equal(0, comparison.KdLossRelativeDifference);
        Assert.True(comparison.KdLoss > 0);
    }

    [Fact]
    public void BadShapesAndTemperaturesAreErrors()
    {
        using var scope = NewDisposeScope();
        Assert.Contains("temperature", Assert.Throws<DistillSharpException>(() => new LogitComparison(0)).Message);
        var comparison = new LogitComparison(4);
        var z = zeros(3, 4);
        Assert.Throws<DistillSharpException>(() => comparison.Add(z, zeros(3, 5), zeros(3, dtype: ScalarType.Int64), z));
        Assert.Contains("labels", Assert.Throws<DistillSharpException>(() => comparison.Add(z, z, zeros(2, dtype: ScalarType.Int64), z)).Message);
        comparison.Add(z, z, zeros(3, dtype: ScalarType.Int64), z);
        Assert.Contains("4 classes", Assert.Throws<DistillSharpException>(() => comparison.Add(zeros(3, 5), zeros(3, 5), zeros(3, dtype: ScalarType.Int64), zeros(3, 5))).Message);
        Assert.True(double.IsNaN(comparison.KdLossRelativeDifference));   // the reference's KD loss is 0: a student equal to it
    }
}
