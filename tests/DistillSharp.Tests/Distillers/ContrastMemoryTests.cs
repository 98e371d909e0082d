using DistillSharp.Distillers;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Distillers;

/// <summary>
/// The momentum memory bank shared by CRD and WCoRD, against the update written out by hand in double: an updated slot
/// is <c>normalize(μ·old + (1 − μ)·e)</c>, unit norm, and every other slot stays as it was.
/// </summary>
public sealed class ContrastMemoryTests
{
    [Theory]
    [InlineData(0.5)]
    [InlineData(0.3)]
    [InlineData(0.0)]
    public void AnUpdatedSlotMovesWithTheStatedMomentumAndStaysUnitNorm(double momentum)
    {
        using var gen = new Generator(21);
        using var memory = new ContrastMemory(4, 10, 3, 0.07, momentum, gen);
        var studentBefore = memory.StudentMemory.data<float>().ToArray();
        var teacherBefore = memory.TeacherMemory.data<float>().ToArray();
        double[][] es = [[0.5, 0.5, 0.5, 0.5], [0, 0.6, 0, -0.8]];
        double[][] et = [[1, 0, 0, 0], [0, 0, 0.8, 0.6]];
        long[] slots = [7, 2];
        using var idx = tensor(slots);
        using var s = tensor(es.SelectMany(r => r).Select(v => (float)v).ToArray(), new long[] { 2, 4 });
        using var t = tensor(et.SelectMany(r => r).Select(v => (float)v).ToArray(), new long[] { 2, 4 });
        memory.Update(idx, s, t);
        foreach (var (bank, before, embeddings) in new[] { (memory.StudentMemory, studentBefore, es), (memory.TeacherMemory, teacherBefore, et) })
        {
            var now = bank.data<float>().ToArray();
            for (int row = 0; row < 10; row++)
            {
                int b = Array.IndexOf(slots, (long)row);
                var old = before.Skip(row * 4).Take(4).Select(v => (double)v).ToArray();
                var got = now.Skip(row * 4).Take(4).ToArray();
                if (b < 0)
                {
                    Assert.Equal(before.Skip(row * 4).Take(4), got);   // untouched, bit for bit
                    continue;
                }
                var mixed = old.Zip(embeddings[b], (o, e) => momentum * o + (1 - momentum) * e).ToArray();
                double norm = Math.Sqrt(mixed.Sum(v => v * v));
                for (int k = 0; k < 4; k++) Assert.Equal(mixed[k] / norm, got[k], 6);
                Assert.Equal(1.0, Math.Sqrt(got.Sum(v => (double)v * v)), 6);
                // It moved toward the new embedding.
                double Cos(double[] a, double[] c) => a.Zip(c, (x, y) => x * y).Sum() / Math.Sqrt(a.Sum(x => x * x) * c.Sum(x => x * x));
                if (momentum > 0) Assert.True(Cos(got.Select(v => (double)v).ToArray(), embeddings[b]) > Cos(old, embeddings[b]));
            }
        }
    }

    [Fact]
    public void RowsReadBothBanksAtTheContrastIndicesWithoutGradient()
    {
        using var memory = new ContrastMemory(3, 6, 2, 0.07, 0.5, new Generator(2));
        using var contrast = tensor(new long[] { 4, 0, 5, 1, 2, 3 }, new long[] { 2, 3 });
        var (students, teachers) = memory.Rows(contrast);
        using (students)
        using (teachers)
        {
            Assert.Equal(new long[] { 2, 3, 3 }, students.shape);
            Assert.False(students.requires_grad);
            for (int b = 0; b < 2; b++)
            {
                for (int k = 0; k < 3; k++)
                {
                    long row = contrast[b, k].item<long>();
                    Assert.True(students[b, k].eq(memory.StudentMemory[row]).all().item<bool>());
                    Assert.True(teachers[b, k].eq(memory.TeacherMemory[row]).all().item<bool>());
                }
            }
        }
    }
}
