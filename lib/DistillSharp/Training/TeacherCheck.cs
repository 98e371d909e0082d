using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Training;

/// <summary>What <see cref="TeacherCheck.Run"/> measures: a teacher checkpoint, its test set and the student of the KD loss.</summary>
public sealed record TeacherCheckSpec
{
    /// <summary>Valid <see cref="Temperature"/> values (the range of KD's <c>temperature</c> parameter).</summary>
    public static readonly ValueRange TemperatureRange = new(1e-3, 1e3);

    /// <summary>The teacher: a checkpoint file or a run folder (its last checkpoint).</summary>
    public required string Teacher { get; init; }
    /// <summary>The test set's dataset; null: the one the teacher was trained on.</summary>
    public string? Dataset { get; init; }
    /// <summary>The data folder (else DISTILL_DATA, ./data, the system location).</summary>
    public string? DataDir { get; init; }
    /// <summary>Test images (class-balanced subset), null for all.</summary>
    public int? Subset { get; init; }
    /// <summary>The student whose KD loss is compared: a checkpoint file or a run folder; null for a fresh one (<see cref="Profile"/>'s default student).</summary>
    public string? Student { get; init; }
    /// <summary>T of the KD loss.</summary>
    public double Temperature { get; init; } = 4;
    /// <summary>The profile whose default student is built when <see cref="Student"/> is null.</summary>
    public string Profile { get; init; } = "cpu";
    /// <summary>The seed of the fresh student's weights and of the subset.</summary>
    public long Seed { get; init; } = 1;
    /// <summary>The evaluation batch size.</summary>
    public int BatchSize { get; init; } = 256;
    /// <summary>auto, cpu or cuda.</summary>
    public string Device { get; init; } = "auto";
}

/// <summary>One way of running the teacher and how it compares with float32.</summary>
/// <param name="Name"><c>fp32</c>, <c>fp32 folded</c> or <c>bf16 folded</c>.</param>
/// <param name="Comparison">Its logits against the float32 teacher's (the float32 row against itself).</param>
public sealed record TeacherVariant(string Name, LogitComparison Comparison);

/// <summary>The outcome of <see cref="TeacherCheck.Run"/>.</summary>
/// <param name="Teacher">The teacher's zoo name.</param>
/// <param name="TeacherPath">The checkpoint read.</param>
/// <param name="Dataset">The test set.</param>
/// <param name="Images">Its size.</param>
/// <param name="Temperature">T of the KD loss.</param>
/// <param name="Student">Which student gave the KD loss, in words (a checkpoint, or a fresh network and its seed).</param>
/// <param name="BatchNorms">The teacher's batch norms.</param>
/// <param name="Folded">How many of them the folded variants fold (<see cref="ZooModel.FoldBatchNorms"/>).</param>
/// <param name="Variants">fp32, fp32 folded, bf16 folded, in that order.</param>
public sealed record TeacherCheckResult(
    string Teacher, string TeacherPath, string Dataset, long Images, double Temperature, string Student, int BatchNorms, int Folded,
    IReadOnlyList<TeacherVariant> Variants);

/// <summary>
/// What inference in another form does to a teacher: runs it over a test set in float32, in float32 with its batch
/// norms folded (<see cref="Distiller.FoldTeacherBatchNorms"/>) and in bfloat16 (folded first, as
/// <see cref="Distiller.UseTeacherPrecision"/> does), each through the distillers' own teacher forward, and compares
/// each with float32 (<see cref="LogitComparison"/>): logit differences, agreement of the predictions, top-1, and the
/// KD loss of a student against each.
/// </summary>
public static class TeacherCheck
{
    /// <summary>The variants, in the order of <see cref="TeacherCheckResult.Variants"/>.</summary>
    public static readonly IReadOnlyList<string> VariantNames = ["fp32", "fp32 folded", "bf16 folded"];

    /// <summary>Runs the comparison of <paramref name="spec"/>.</summary>
    /// <exception cref="DistillSharpException">A bad option, a missing checkpoint or dataset, or a network that does not fit the data.</exception>
    public static TeacherCheckResult Run(TeacherCheckSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec = spec with { Temperature = TeacherCheckSpec.TemperatureRange.Check("--temperature", spec.Temperature) };
        if (spec.BatchSize < 1) throw new DistillSharpException($"--batch-size must be at least 1; got {spec.BatchSize}.");
        var profile = TrainingProfile.Get(spec.Profile);
        var teacherPath = Checkpoint.ResolveTeacher(spec.Teacher);
        var header = Checkpoint.ReadHeader(teacherPath);
        var studentPath = spec.Student is null ? null : Checkpoint.ResolveTeacher(spec.Student);
        var info = DatasetCatalog.Info(spec.Dataset ?? header.Dataset);   // the networks against the data, before any image is read
        ModelDataFit.CheckTeacher(spec.Teacher, header, info);
        if (studentPath is not null)
        {
            var s = Checkpoint.ReadHeader(studentPath);
            ModelDataFit.Check($"student {spec.Student}", s.Model, s.NumClasses, s.InChannels, info, s.Dataset, "give a student of the teacher's dataset");
        }
        else
        {
            ModelDataFit.CheckStudent(profile.Student, info);
        }
        var device = ComputeDevice.Resolve(spec.Device);

        using var data = Experiment.LoadData(spec.Dataset ?? header.Dataset, spec.DataDir, null, spec.Subset, spec.Seed);
        string studentText;
        ZooModel student;
        if (studentPath is not null)
        {
            (student, var h) = Checkpoint.LoadModel(studentPath);
            studentText = $"{h.Model} from {studentPath}";
        }
        else
        {
            torch.random.manual_seed(spec.Seed);
            student = ModelZoo.Create(profile.Student, data.Info.NumClasses, data.Info.Channels);
            studentText = $"a freshly initialised {profile.Student} (the {profile.Name} profile's default student, seed {spec.Seed})";
        }
        var probes = new List<TeacherProbe>();
        try
        {
            student.to(device);
            student.eval();
            for (int v = 0; v < VariantNames.Count; v++)
            {
                var (model, _) = Checkpoint.LoadModel(teacherPath);
                probes.Add(new TeacherProbe(model));
                probes[v].MoveTo(device);
            }
            int batchNorms = probes[0].Teacher!.modules().OfType<TorchSharp.Modules.BatchNorm2d>().Count();
            int folded = probes[1].FoldTeacherBatchNorms();
            probes[2].UseTeacherPrecision(ScalarType.BFloat16);
            var comparisons = VariantNames.Select(_ => new LogitComparison(spec.Temperature)).ToArray();
            var loader = new DataLoader(data.Test, spec.BatchSize, shuffle: false, spec.Seed, Augmentation.Eval(data.Info), device);
            using (no_grad())
            {
                foreach (var batch in loader.Epoch(0))
                {
                    using var owned = batch;
                    using var scope = NewDisposeScope();
                    var s = student.call(batch.Images).Logits;
                    var reference = probes[0].Teach(batch.Images);
                    for (int v = 0; v < probes.Count; v++)
                    {
                        comparisons[v].Add(reference, v == 0 ? reference : probes[v].Teach(batch.Images), batch.Labels, s);
                    }
                }
            }
            if (comparisons[0].Images == 0) throw new DistillSharpException("the test set is empty: nothing to compare.");
            return new TeacherCheckResult(header.Model, teacherPath, data.Info.Name, comparisons[0].Images, spec.Temperature, studentText,
                batchNorms, folded, VariantNames.Zip(comparisons, (n, c) => new TeacherVariant(n, c)).ToArray());
        }
        finally
        {
            foreach (var p in probes)
            {
                p.Teacher?.Dispose();
                p.Dispose();
            }
            student.Dispose();
        }
    }

    /// <summary>A method that only runs its teacher, through <see cref="Distiller"/>'s teacher forward (precision and folding included).</summary>
    private sealed class TeacherProbe(ZooModel teacher) : Distiller(nameof(TeacherProbe), teacher)
    {
        public override string Method => "teacher-check";

        public Tensor Teach(Tensor images) => TeacherLogitsAndPooled(images, Method).Logits;

        public override DistillationStep TrainingStep(Batch batch) => throw new NotSupportedException("teacher-check trains nothing");
    }
}
