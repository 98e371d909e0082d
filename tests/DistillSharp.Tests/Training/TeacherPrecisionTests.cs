using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using DistillSharp.Tests.Models;
using DistillSharp.Tests.Support;
using DistillSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Training;

/// <summary>
/// The teacher's number format (<see cref="TeacherPrecision"/>, <see cref="Distiller.UseTeacherPrecision"/>): the
/// no-bf16 path of <c>auto</c> is float32 bit for bit, a bf16 teacher hands float32 outputs to the loss that agree with
/// float32 to bfloat16 rounding (and visibly differ from it) with its batch norms folded, a float32 teacher folded on
/// request agrees with the unfolded one to float32 rounding, a teacher in train mode stays float32 and unfolded (and an
/// explicit fold of it is refused), and the options are checked and recorded.
/// </summary>
/// <remarks>
/// The bound on a bf16 teacher: bfloat16 keeps an 8-bit significand, so each rounding is a relative error of at most
/// u = 2⁻⁸. In resnet8 the input and the weights of every one of its 8 weighted layers (7 convolutions, the
/// classifier) are rounded, and every layer's output again: about 2 roundings of u per layer, adding up over the layers
/// at worst linearly, so the logits may be off by 2 · 9 · u ≈ 0.07 of their size (9: the input rounding counted as one
/// more layer). The test asserts the relative error of each output tensor is below that and above u / 64 (float32 vs
/// float32 would be 0 here, float32 rounding about 1e-7), so a teacher left in float32 fails the test.
/// </remarks>
[Collection(TrainingCollection.Name)]
public sealed class TeacherPrecisionTests
{
    private const double U = 1.0 / 256;

    /// <summary>A method that only exposes the teacher's forward pass, optionally with its teacher in train mode.</summary>
    private sealed class Probe(ZooModel student, ZooModel teacher, bool trainMode = false) : Distiller("probe", student, teacher)
    {
        public override string Method => "probe";
        public override bool TeacherInTrainMode => trainMode;
        public ModelOutput Teach(Tensor images) => TeacherForward(images, Method);
        public (Tensor Logits, Tensor Pooled) Head(Tensor images) => TeacherLogitsAndPooled(images, Method);
        public override DistillationStep TrainingStep(Batch batch) => throw new NotSupportedException();
    }

    private static (Probe Probe, ZooModel Teacher) Build(bool trainMode = false, bool formulaFill = false)
    {
        torch.random.manual_seed(5);
        var teacher = ModelZoo.Create("resnet8", 10);
        if (formulaFill) FormulaFill.Apply(teacher);   // batch norms with statistics of their own, so that a fold changes every weight
        var student = ModelZoo.Create("resnet8", 10);
        return (new Probe(student, teacher, trainMode), teacher);
    }

    /// <summary>resnet8's batch norms: the stem's, two per block of its three stages, and the two projections'.</summary>
    private const int ResNet8BatchNorms = 9;

    private static int BatchNorms(ZooModel model) => model.modules().OfType<BatchNorm2d>().Count();

    private static bool Equal(ModelOutput a, ModelOutput b) =>
        new[] { (a.Logits, b.Logits), (a.Pooled, b.Pooled) }.Concat(a.Features.Zip(b.Features)).Concat(a.PreActFeatures.Zip(b.PreActFeatures))
            .All(p => p.Item1.equal(p.Item2).all().item<bool>());

    private static Tensor Images()
    {
        using var gen = new Generator(11);
        return randn(new long[] { 8, 3, 32, 32 }, generator: gen);
    }

    private static double RelativeError(Tensor a, Tensor reference) =>
        (a.to(ScalarType.Float64) - reference.to(ScalarType.Float64)).norm().item<double>() / reference.to(ScalarType.Float64).norm().item<double>();

    [Fact]
    public void AutoWithoutBf16UnitsIsFloat32BitForBit()
    {
        using var scope = NewDisposeScope();
        var saved = TeacherPrecision.CpuBf16Override;
        try
        {
            TeacherPrecision.CpuBf16Override = false;
            Assert.Equal(ScalarType.Float32, TeacherPrecision.Resolve("auto", CPU));
            var (reference, _) = Build();
            var (auto, teacher) = Build();
            using (reference)
            using (auto)
            {
                Assert.Equal(ScalarType.Float32, auto.UseTeacherPrecision(TeacherPrecision.Resolve("auto", CPU)));
                Assert.All(teacher.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
                Assert.False(auto.TeacherBatchNormsFolded);          // the no-bf16 path folds nothing
                Assert.Equal(ResNet8BatchNorms, BatchNorms(teacher));
                var images = Images();
                var expected = reference.Teach(images);
                var actual = auto.Teach(images);
                Assert.True(expected.Logits.equal(actual.Logits).all().item<bool>());
                for (int i = 0; i < expected.Features.Count; i++) Assert.True(expected.Features[i].equal(actual.Features[i]).all().item<bool>());
                Assert.True(Equal(expected, actual));
                // The teacher's forward through the distiller is the network's own, bit for bit (fp32, no fold: the default).
                using (no_grad()) Assert.True(Equal(teacher.call(images), actual));
                Assert.Equal(ScalarType.Float32, auto.UseTeacherPrecision(TeacherPrecision.Resolve("fp32", CPU)));
                Assert.False(auto.TeacherBatchNormsFolded);
            }
            TeacherPrecision.CpuBf16Override = true;
            Assert.Equal(ScalarType.BFloat16, TeacherPrecision.Resolve("auto", CPU));
        }
        finally
        {
            TeacherPrecision.CpuBf16Override = saved;
        }
    }

    [Fact]
    public void Bf16TeacherGivesFloat32OutputsWithinBf16Rounding()
    {
        using var scope = NewDisposeScope();
        var (reference, _) = Build();
        var (low, teacher) = Build();
        using (reference)
        using (low)
        {
            Assert.Equal(ResNet8BatchNorms, BatchNorms(teacher));
            Assert.Equal(ScalarType.BFloat16, low.UseTeacherPrecision(ScalarType.BFloat16));
            Assert.Equal(ScalarType.BFloat16, low.TeacherPrecision);
            Assert.All(teacher.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
            Assert.True(low.TeacherBatchNormsFolded);   // folded in float32 before the conversion
            Assert.Equal(0, BatchNorms(teacher));
            var images = Images();
            var expected = reference.Teach(images);
            var actual = low.Teach(images);
            Assert.Equal(ScalarType.Float32, images.dtype);
            var pairs = new[] { (expected.Logits, actual.Logits), (expected.Pooled, actual.Pooled) }
                .Concat(expected.Features.Zip(actual.Features)).Concat(expected.PreActFeatures.Zip(actual.PreActFeatures));
            double bound = 2 * 9 * U;
            foreach (var (e, a) in pairs)
            {
                Assert.Equal(ScalarType.Float32, a.dtype);
                Assert.Equal(e.shape, a.shape);
                double err = RelativeError(a, e);
                Assert.InRange(err, U / 64, bound);
            }
            Assert.Same(actual.Pooled, actual.Features[^1]);
            for (int i = 0; i < expected.Features.Count; i++)
            {
                Assert.Equal(ReferenceEquals(expected.Features[i], expected.PreActFeatures[i]), ReferenceEquals(actual.Features[i], actual.PreActFeatures[i]));
            }
            Assert.False(actual.Logits.requires_grad);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheLogitsAndPooledVectorAloneAreTheFullForwardsAndTheFeaturesAreFreed(bool bf16)
    {
        using var scope = NewDisposeScope();
        var (probe, _) = Build(formulaFill: true);
        using (probe)
        {
            probe.UseTeacherPrecision(bf16 ? ScalarType.BFloat16 : ScalarType.Float32);
            var images = Images();
            long start = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            var full = probe.Teach(images);
            long leftByFull = DisposeScopeManager.Statistics.ThreadTotalLiveCount - start;
            // The full forward leaves its outputs alive (resnet8: the stem's and three stages' features, their
            // pre-activation twins, the logits) and the tensors they were made from; the head alone leaves its two.
            var outputs = new HashSet<Tensor>(full.Features.Concat(full.PreActFeatures).Append(full.Logits).Append(full.Pooled), ReferenceEqualityComparer.Instance);
            Assert.True(outputs.Count > 4);
            Assert.True(leftByFull >= outputs.Count);
            long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            var (logits, pooled) = probe.Head(images);
            Assert.Equal(2, DisposeScopeManager.Statistics.ThreadTotalLiveCount - before);
            Assert.Equal(ScalarType.Float32, logits.dtype);
            Assert.Equal(ScalarType.Float32, pooled.dtype);
            Assert.True(logits.equal(full.Logits).all().item<bool>());
            Assert.True(pooled.equal(full.Pooled).all().item<bool>());
            Assert.False(logits.requires_grad);
        }
    }

    [Fact]
    public void TeacherInTrainModeStaysFloat32()
    {
        using var scope = NewDisposeScope();
        var (probe, teacher) = Build(trainMode: true);
        using (probe)
        {
            Assert.Equal(ScalarType.Float32, probe.UseTeacherPrecision(ScalarType.BFloat16));
            Assert.All(teacher.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
            Assert.All(teacher.buffers(), b => Assert.NotEqual(ScalarType.BFloat16, b.dtype));
            Assert.False(probe.TeacherBatchNormsFolded);
            Assert.Equal(ResNet8BatchNorms, BatchNorms(teacher));
            var e = Assert.Throws<DistillSharpException>(() => probe.FoldTeacherBatchNorms());
            Assert.Contains("method 'probe' runs its teacher 'resnet8' in train mode", e.Message);
            Assert.Contains("leave out --fold-teacher-bn", e.Message);
            Assert.Equal(ResNet8BatchNorms, BatchNorms(teacher));
            probe.train();
            Assert.True(teacher.training);   // still a network that trains
        }
    }

    [Fact]
    public void AFoldedFloat32TeacherAgreesWithTheUnfoldedOneToFloat32Rounding()
    {
        // The bound of BatchNormFoldingTests: 1e-4 relative (measured about 1e-7); a fold without the mean moves resnet8's
        // logits by 0.4 there.
        using var scope = NewDisposeScope();
        var (reference, _) = Build(formulaFill: true);
        var (folded, teacher) = Build(formulaFill: true);
        using (reference)
        using (folded)
        {
            Assert.Equal(ResNet8BatchNorms, folded.FoldTeacherBatchNorms());
            Assert.Equal(0, folded.FoldTeacherBatchNorms());
            Assert.True(folded.TeacherBatchNormsFolded);
            Assert.Equal(0, BatchNorms(teacher));
            Assert.Equal(ScalarType.Float32, folded.UseTeacherPrecision(ScalarType.Float32));
            Assert.All(teacher.parameters(), p => Assert.False(p.requires_grad));   // the folded biases are frozen too
            var images = Images();
            var expected = reference.Teach(images);
            var actual = folded.Teach(images);
            var pairs = new[] { (expected.Logits, actual.Logits), (expected.Pooled, actual.Pooled) }
                .Concat(expected.Features.Zip(actual.Features)).Concat(expected.PreActFeatures.Zip(actual.PreActFeatures));
            foreach (var (e, a) in pairs)
            {
                Assert.Equal(ScalarType.Float32, a.dtype);
                Assert.InRange(RelativeError(a, e), 0, 1e-4);
            }
            Assert.False(Equal(expected, actual));   // it did change the arithmetic
            folded.train();
            Assert.False(teacher.training);           // an eval-mode teacher stays in eval mode
        }
    }

    [Fact]
    public void ChoicesAreCheckedAndFlagsRead()
    {
        Assert.Equal("bf16", TeacherPrecision.Check(" BF16 "));
        var e = Assert.Throws<DistillSharpException>(() => TeacherPrecision.Check("fp16"));
        Assert.Contains("fp32, bf16, auto", e.Message);
        Assert.Throws<DistillSharpException>(() => new BenchmarkSettingsProbe().Validate());
        Assert.True(TeacherPrecision.HasBf16Flag("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 clzero\n"));
        Assert.True(TeacherPrecision.HasBf16Flag("flags\t\t: fpu amx_bf16 amx_tile\n"));
        Assert.False(TeacherPrecision.HasBf16Flag("flags\t\t: fpu avx512f avx512_vnni\nbugs\t\t: avx512_bf16\n"));
    }

    private sealed class BenchmarkSettingsProbe
    {
        public void Validate() => new DistillSharp.Training.Benchmarks.BenchmarkSettings { TeacherPrecision = "half" }.Validate();
    }

    [Fact]
    public void TheRecordComparesTheTeachersPrecision()
    {
        var before = new RunSpec { Method = "kd", Teacher = "t.ckpt" };
        var after = before with { TeacherPrecision = "bf16" };
        Assert.Contains("teacher-precision: fp32 -> bf16", RunRecord.Differences(before, "abc", after, "abc"));
        Assert.Equal(["fold-teacher-bn: false -> true"], RunRecord.Differences(before, "abc", before with { FoldTeacherBatchNorms = true }, "abc"));
        Assert.Empty(RunRecord.Differences(before with { Teacher = null }, null, before with { Teacher = null, FoldTeacherBatchNorms = true }, null));
        string config = Path.Combine(Path.GetTempPath(), $"distill-fold-{Guid.NewGuid():N}.json");
        try
        {
            RunRecord.Start(before with { FoldTeacherBatchNorms = true }, "abc").Write(config);
            Assert.Contains("\"FoldTeacherBatchNorms\": true", File.ReadAllText(config));
            Assert.True(RunRecord.Read(config).Current.FoldTeacherBatchNorms);
            File.WriteAllText(config, "{\"Method\": \"kd\", \"Teacher\": \"t.ckpt\"}");   // a record from before the option
            Assert.False(RunRecord.Read(config).Current.FoldTeacherBatchNorms);
        }
        finally
        {
            File.Delete(config);
        }
        Assert.Empty(RunRecord.Differences(before, "abc", before with { }, "abc"));
        var e = Assert.Throws<DistillSharpException>(() => Experiment.Run(after with { TeacherPrecision = "fp8" }, null));
        Assert.Contains("--teacher-precision", e.Message);
    }
}
