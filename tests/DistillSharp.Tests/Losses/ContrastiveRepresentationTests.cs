using DistillSharp.Distillers;
using DistillSharp.Losses;
using DistillSharp.Tests.Support;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Losses;

public sealed class ContrastiveRepresentationTests
{
    [Fact]
    public void MemoryBankAndNceLossMatchPyTorchStepByStep()
    {
        var g = Golden.Load("losses.json").GetProperty("crd");
        int n = g.GetProperty("n").GetInt32(), dim = g.GetProperty("dim").GetInt32(), k = g.GetProperty("k").GetInt32();
        using var memory = new ContrastMemory(dim, n, k, g.GetProperty("temperature").GetDouble(), g.GetProperty("momentum").GetDouble());
        var f1 = g.GetProperty("memory_v1_fill").Floats();
        var f2 = g.GetProperty("memory_v2_fill").Floats();
        using (no_grad())
        {
            memory.StudentMemory.copy_(Golden.Fill([n, dim], f1[0], f1[1], f1[2]));
            memory.TeacherMemory.copy_(Golden.Fill([n, dim], f2[0], f2[1], f2[2]));
        }
        using var idx = tensor(g.GetProperty("idx").Longs());
        using var contrast = tensor(g.GetProperty("contrast").Longs()).view(2, k + 1);

        foreach (var step in g.GetProperty("steps").EnumerateArray())
        {
            var fs = step.GetProperty("fill_student").Floats();
            var ft = step.GetProperty("fill_teacher").Floats();
            using var es = ContrastiveRepresentation.L2Normalize(Golden.Fill([2, dim], fs[0], fs[1]));
            using var et = ContrastiveRepresentation.L2Normalize(Golden.Fill([2, dim], ft[0], ft[1]));
            var (ps, pt) = memory.Score(es, et, idx, contrast);
            using (ps)
            using (pt)
            using (var ls = ContrastiveRepresentation.NceLoss(ps, n))
            using (var lt = ContrastiveRepresentation.NceLoss(pt, n))
            {
                Golden.AssertClose(step.GetProperty("p_student").Floats(), ps.data<float>().ToArray(), 1e-4);
                Golden.AssertClose(step.GetProperty("p_teacher").Floats(), pt.data<float>().ToArray(), 1e-4);
                Golden.AssertClose([(float)step.GetProperty("loss_student").GetDouble()], [ls.item<float>()], 1e-5);
                Golden.AssertClose([(float)step.GetProperty("loss_teacher").GetDouble()], [lt.item<float>()], 1e-5);
            }
            Golden.AssertClose(step.GetProperty("memory_v1").Floats(), memory.StudentMemory.data<float>().ToArray(), 1e-5);
            Golden.AssertClose(step.GetProperty("memory_v2").Floats(), memory.TeacherMemory.data<float>().ToArray(), 1e-5);
        }
        // Z is fixed by the first batch and kept afterwards.
        var (z1, z2) = memory.NormalizationConstants;
        Golden.AssertClose([(float)g.GetProperty("z_student").GetDouble(), (float)g.GetProperty("z_teacher").GetDouble()], [(float)z1, (float)z2], 1e-5);
    }

    [Fact]
    public void MomentumUpdateMovesTowardTheEmbeddingAndStaysUnitNorm()
    {
        using var old = tensor(new float[] { 1, 0, 0, 1 }, [2, 2]);
        using var e = tensor(new float[] { 0, 1, 3, 0 }, [2, 2]);
        using var updated = ContrastiveRepresentation.MomentumUpdate(old, e, 0.75);
        // Row 0: 0.75·(1,0) + 0.25·(0,1) = (0.75, 0.25) → /√0.625; row 1: 0.75·(0,1) + 0.25·(3,0) = (0.75, 0.75) → (1,1)/√2.
        var r = updated.data<float>().ToArray();
        Assert.Equal(0.75 / Math.Sqrt(0.625), r[0], 5);
        Assert.Equal(0.25 / Math.Sqrt(0.625), r[1], 5);
        Assert.Equal(1 / Math.Sqrt(2), r[2], 5);
        Assert.Equal(1 / Math.Sqrt(2), r[3], 5);
    }

    [Fact]
    public void NceLossIsSmallWhenThePositiveDominates()
    {
        // Closed form with one negative, N = 2, K·Pn = 0.5: P = [[p, q]].
        const double p = 10.0, q = 1e-3, kpn = 0.5;
        using var probs = tensor(new float[] { (float)p, (float)q }, [1, 2]);
        using var loss = ContrastiveRepresentation.NceLoss(probs, 2);
        double expected = -(Math.Log(p / (p + kpn + 1e-7)) + Math.Log(kpn / (q + kpn + 1e-7)));
        Assert.Equal(expected, loss.item<float>(), 4);
    }
}
