namespace DistillSharp.Distillers;

/// <summary>One registered method: its name, a line about it, its parameters and how to build it.</summary>
public sealed record DistillerEntry(
    string Name, string Summary, bool NeedsTeacher, IReadOnlyList<MethodParameter> Parameters,
    Func<DistillerContext, MethodSettings, Distiller> Factory);

/// <summary>Every method by name, as timm's model registry: the command line and notebooks create methods from strings.</summary>
public static class DistillerRegistry
{
    private static readonly DistillerEntry[] Entries =
    [
        new(StudentAlone.Name, "the network alone, cross-entropy only (teachers and baselines)", false,
            StudentAlone.Parameters, (c, _) => new StudentAlone(c.Student)),
        new(KnowledgeDistiller.Name, "Hinton et al. 2015: soft targets at temperature T", true,
            KnowledgeDistiller.Parameters, (c, s) => new KnowledgeDistiller(c, s)),
        new(ContrastiveRepresentationDistiller.Name, "Tian et al. 2020: contrastive representation distillation", true,
            ContrastiveRepresentationDistiller.Parameters, (c, s) => new ContrastiveRepresentationDistiller(c, s)),
    ];

    /// <summary>The registered names.</summary>
    public static IReadOnlyList<string> Names => Entries.Select(e => e.Name).ToArray();

    /// <summary>The entry of <paramref name="name"/>; an unknown name is an error listing the valid ones.</summary>
    public static DistillerEntry Get(string name) =>
        Entries.FirstOrDefault(e => e.Name == name)
        ?? throw new DistillSharpException($"unknown method '{name}'; choose one of: {string.Join(", ", Names)}.");

    /// <summary>Validates <paramref name="overrides"/> and builds the method.</summary>
    public static Distiller Create(string name, DistillerContext context, IReadOnlyDictionary<string, double>? overrides = null)
    {
        var entry = Get(name);
        var settings = new MethodSettings(name, entry.Parameters, overrides);
        return entry.Factory(context, settings);
    }
}
