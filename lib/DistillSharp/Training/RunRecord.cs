using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using DistillSharp.Distillers;

namespace DistillSharp.Training;

/// <summary>
/// One stretch of a run trained with one configuration: the spec that produced epochs <see cref="FromEpoch"/> onwards
/// (until the next segment), the teacher checkpoint's SHA-256, and what changed from the segment before.
/// </summary>
/// <param name="FromEpoch">The first epoch this spec produced.</param>
/// <param name="Spec">The spec.</param>
/// <param name="TeacherSha256">The SHA-256 of the teacher checkpoint file, or null without a teacher.</param>
/// <param name="Changes">The differences from the previous segment (<c>option: old -> new</c>); empty for the first.</param>
public sealed record RunSegment(int FromEpoch, RunSpec Spec, string? TeacherSha256, IReadOnlyList<string> Changes);

/// <summary>
/// A run's <c>config.json</c>: the configuration that produced every epoch, as segments. A run trained in one go has
/// one segment; continuing it for more epochs, or with an option changed on purpose (<c>--amend</c>), adds a segment
/// from the next epoch on, so the record always says what produced each epoch.
/// </summary>
public sealed record RunRecord(IReadOnlyList<RunSegment> Segments)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The spec in force now (the last segment's).</summary>
    public RunSpec Current => Segments[^1].Spec;

    /// <summary>The record of a new run.</summary>
    public static RunRecord Start(RunSpec spec, string? teacherSha256) => new([new RunSegment(1, spec, teacherSha256, [])]);

    /// <summary>Writes the record atomically.</summary>
    public void Write(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    /// <summary>
    /// Reads a run's record; a missing, empty or unreadable file is an error naming it. A file from before segments
    /// (one bare spec) reads as one segment.
    /// </summary>
    public static RunRecord Read(string path)
    {
        if (!File.Exists(path)) throw new DistillSharpException($"{path} is missing: the run's configuration is unknown, so it cannot be continued or checked.");
        string text = File.ReadAllText(path);
        try
        {
            var node = JsonNode.Parse(text) as JsonObject ?? throw new JsonException("not a JSON object");
            if (node.ContainsKey(nameof(RunSpec.Method)))
            {
                var spec = node.Deserialize<RunSpec>(Json) ?? throw new JsonException("empty");
                return Start(spec, null);
            }
            var record = node.Deserialize<RunRecord>(Json);
            if (record?.Segments is not { Count: > 0 } || record.Segments.Any(s => s?.Spec is null)) throw new JsonException("no segment");
            return record;
        }
        catch (JsonException e)
        {
            throw new DistillSharpException(
                $"{path} is not a run configuration ({(text.Trim().Length == 0 ? "the file is empty" : e.Message)}); the run cannot be continued " +
                "or checked against your options. Start a new run with another --out.", e);
        }
    }

    /// <summary>
    /// What differs between <paramref name="before"/> and <paramref name="after"/> as <c>option: old -> new</c> lines,
    /// over everything that changes a run's numbers: the method and its parameters (defaults filled in), the networks,
    /// the data and subsets, and every optimisation option but the number of epochs. The teacher is compared by the
    /// contents of its checkpoint, not its path. The device and the profile's name are not compared.
    /// </summary>
    public static IReadOnlyList<string> Differences(RunSpec before, string? beforeTeacher, RunSpec after, string? afterTeacher)
    {
        var a = Flatten(before);
        var b = Flatten(after);
        var changes = new List<string>();
        foreach (var key in a.Keys.Union(b.Keys).Order(StringComparer.Ordinal))
        {
            var x = a.GetValueOrDefault(key, "(none)");
            var y = b.GetValueOrDefault(key, "(none)");
            if (x != y) changes.Add($"{key}: {x} -> {y}");
        }
        if ((before.Teacher is null) != (after.Teacher is null) || beforeTeacher != afterTeacher)
        {
            changes.Add($"teacher: {Describe(before.Teacher, beforeTeacher)} -> {Describe(after.Teacher, afterTeacher)}");
        }
        return changes;
    }

    private static string Describe(string? path, string? hash) =>
        path is null ? "(none)" : hash is null ? path : $"{path} (sha256 {hash[..12]})";

    private static Dictionary<string, string> Flatten(RunSpec spec)
    {
        var result = new Dictionary<string, string>
        {
            ["method"] = spec.Method,
            ["student"] = spec.Student,
            ["dataset"] = spec.Dataset,
            ["data-dir"] = spec.DataDir is null ? "(default)" : Path.GetFullPath(spec.DataDir),
            ["subset"] = spec.TrainSubset?.ToString(CultureInfo.InvariantCulture) ?? "(all)",
            ["test-subset"] = spec.TestSubset?.ToString(CultureInfo.InvariantCulture) ?? "(all)",
        };
        var o = spec.Options;
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        result["batch-size"] = o.BatchSize.ToString(CultureInfo.InvariantCulture);
        result["lr"] = F(o.LearningRate);
        result["schedule"] = o.Schedule;
        result["milestones"] = string.Join(",", o.Milestones);
        result["lr-decay"] = F(o.LearningRateDecay);
        if (o.MilestoneFactors.Count > 0) result["milestone-factors"] = string.Join(",", o.MilestoneFactors.Select(F));
        result["warmup-epochs"] = o.WarmupEpochs.ToString(CultureInfo.InvariantCulture);
        result["momentum"] = F(o.Momentum);
        result["weight-decay"] = F(o.WeightDecay);
        result["nesterov"] = o.Nesterov ? "true" : "false";
        result["reset-momentum"] = o.ResetMomentumAtMilestones ? "true" : "false";
        result["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture);
        IReadOnlyDictionary<string, double> parameters = spec.MethodParameters;
        if (DistillerRegistry.Names.Contains(spec.Method))
        {
            parameters = new MethodSettings(spec.Method, DistillerRegistry.Get(spec.Method).Parameters, spec.MethodParameters).Values;
        }
        foreach (var (k, v) in parameters) result[$"-P {k}"] = F(v);
        if (spec.Teacher is not null)
        {
            result["teacher-precision"] = spec.TeacherPrecision;
            result["fold-teacher-bn"] = spec.FoldTeacherBatchNorms ? "true" : "false";
        }
        return result;
    }
}
