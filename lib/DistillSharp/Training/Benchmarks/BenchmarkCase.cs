using System.Text.Json.Serialization;
using DistillSharp.Distillers;
using DistillSharp.Models;

namespace DistillSharp.Training.Benchmarks;

/// <summary>What a benchmark row measures.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BenchmarkKind>))]
public enum BenchmarkKind
{
    /// <summary>Training steps (forward, loss terms, one host transfer, backward, SGD) on a fixed set of batches.</summary>
    Train,
    /// <summary>Evaluation batches (eval mode, no gradients, loss and top-1/top-5 counts).</summary>
    Eval,
    /// <summary>
    /// The training data pipeline: the loader's batches with crop, flip and normalization, from tensors in memory or,
    /// for the image-folder rows, decoded from generated files (<see cref="BenchmarkCase.PngFolder"/>,
    /// <see cref="BenchmarkCase.JpegFolder"/>).
    /// </summary>
    Data,
    /// <summary>Several epochs through the <see cref="Trainer"/>, recording memory after each (the leak check).</summary>
    Leak,
}

/// <summary>One configuration to measure.</summary>
/// <param name="Kind">What is measured.</param>
/// <param name="Model">The network trained or evaluated; for <see cref="BenchmarkKind.Data"/> the pipeline: empty for
/// the tensors in memory, <see cref="PngFolder"/> or <see cref="JpegFolder"/>.</param>
/// <param name="Method">The distillation method (<c>none</c> for a network trained alone).</param>
/// <param name="Teacher">The teacher network, or null.</param>
public sealed record BenchmarkCase(BenchmarkKind Kind, string Model, string Method = StudentAlone.Name, string? Teacher = null)
{
    /// <summary>The data row of a CINIC-10-style folder: 32x32 PNG files decoded, then crop, flip and normalization.</summary>
    public const string PngFolder = "cinic10-png";

    /// <summary>The data row of an ImageNet-style folder: JPEG files decoded with RandomResizedCrop(224), then flip and normalization.</summary>
    public const string JpegFolder = "imagenet-jpeg";

    /// <summary>The data pipelines measured: the tensors in memory, then the two image folders.</summary>
    public static readonly IReadOnlyList<string> DataPipelines = ["", PngFolder, JpegFolder];

    /// <summary>The network column: the model, or "teacher -> student"; for a data row, the pipeline.</summary>
    [JsonIgnore]
    public string Network => Kind == BenchmarkKind.Data
        ? Model switch
        {
            "" => "crop+flip+normalize",
            PngFolder => PngFolder + ":decode+crop+flip+normalize",
            JpegFolder => JpegFolder + ":decode+rrc224+flip+normalize",
            _ => Model,
        }
        : Teacher is null ? Model : $"{Teacher} -> {Model}";

    /// <summary>
    /// The default set of configurations for <paramref name="models"/> (each either a network, trained alone and with
    /// each of <paramref name="methods"/> that needs no teacher, or <c>TEACHER:STUDENT</c>, distilled with each of
    /// <paramref name="methods"/>; a method without a teacher on a pair trains the student with it, <c>none</c> alone):
    /// training rows, one evaluation row per distinct network, and the data pipelines (tensors in memory, a PNG folder, a
    /// JPEG folder).
    /// </summary>
    public static IReadOnlyList<BenchmarkCase> Defaults(IReadOnlyList<string> models, IReadOnlyList<string> methods)
    {
        var train = new List<BenchmarkCase>();
        foreach (var (teacher, student) in ParseModels(models))
        {
            if (teacher is null) AddAlone(train, BenchmarkKind.Train, student, methods);
            else foreach (var method in methods) Add(train, Create(BenchmarkKind.Train, student, method, teacher));
        }
        var eval = ParseModels(models).SelectMany(p => p.Teacher is null ? [p.Student] : new[] { p.Student, p.Teacher })
            .Distinct().Select(m => new BenchmarkCase(BenchmarkKind.Eval, m));
        return [.. train, .. eval, .. DataPipelines.Select(p => new BenchmarkCase(BenchmarkKind.Data, p))];
    }

    /// <summary>The leak-check configurations: every entry of <paramref name="models"/> with each method as in <see cref="Defaults"/>.</summary>
    public static IReadOnlyList<BenchmarkCase> LeakChecks(IReadOnlyList<string> models, IReadOnlyList<string> methods)
    {
        var cases = new List<BenchmarkCase>();
        foreach (var (teacher, student) in ParseModels(models))
        {
            if (teacher is null) AddAlone(cases, BenchmarkKind.Leak, student, methods);
            else foreach (var method in methods) Add(cases, Create(BenchmarkKind.Leak, student, method, teacher));
        }
        return cases;
    }

    /// <summary>Checks the names in <paramref name="models"/> and <paramref name="methods"/>; an unknown one is an error naming it.</summary>
    public static void Validate(IReadOnlyList<string> models, IReadOnlyList<string> methods)
    {
        if (models.Count == 0) throw new DistillSharpException("--models needs at least one network, e.g. --models resnet20,resnet32x4:resnet8x4.");
        if (methods.Count == 0) throw new DistillSharpException($"--methods needs at least one method: {string.Join(", ", DistillerRegistry.Names)}.");
        foreach (var m in methods) _ = DistillerRegistry.Get(m);
        foreach (var (teacher, student) in ParseModels(models))
        {
            foreach (var name in teacher is null ? [student] : new[] { teacher, student })
            {
                if (!ModelZoo.Names.Contains(name)) _ = ModelZoo.Create(name, 10);   // throws with the closest names
            }
        }
    }

    private static BenchmarkCase Create(BenchmarkKind kind, string student, string method, string teacher) =>
        DistillerRegistry.Get(method).NeedsTeacher ? new(kind, student, method, teacher) : new(kind, student, method);

    /// <summary>A network without a teacher: trained alone, then with each of the methods that need no teacher (online distillation).</summary>
    private static void AddAlone(List<BenchmarkCase> cases, BenchmarkKind kind, string network, IReadOnlyList<string> methods)
    {
        Add(cases, new BenchmarkCase(kind, network));
        foreach (var method in methods.Where(m => !DistillerRegistry.Get(m).NeedsTeacher)) Add(cases, new BenchmarkCase(kind, network, method));
    }

    private static void Add(List<BenchmarkCase> cases, BenchmarkCase c)
    {
        if (!cases.Contains(c)) cases.Add(c);
    }

    private static IEnumerable<(string? Teacher, string Student)> ParseModels(IEnumerable<string> models)
    {
        foreach (var entry in models)
        {
            var parts = entry.Split(':', StringSplitOptions.TrimEntries);
            if (parts.Length > 2 || parts.Any(p => p.Length == 0))
            {
                throw new DistillSharpException($"--models entry '{entry}' is neither a network nor TEACHER:STUDENT (e.g. resnet32x4:resnet8x4).");
            }
            yield return parts.Length == 2 ? (parts[0], parts[1]) : (null, parts[0]);
        }
    }
}
