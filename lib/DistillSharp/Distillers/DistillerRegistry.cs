namespace DistillSharp.Distillers;

/// <summary>One registered method: its name, a line about it, its parameters and how to build it.</summary>
public sealed record DistillerEntry(
    string Name, string Summary, bool NeedsTeacher, IReadOnlyList<MethodParameter> Parameters,
    Func<DistillerContext, MethodSettings, Distiller> Factory);

/// <summary>
/// Every method by name, as timm's model registry: the command line and notebooks create methods from strings. The
/// project's methods are built in; a notebook or an outside program adds its own with <see cref="Register"/>.
/// </summary>
public static class DistillerRegistry
{
    private static readonly object Gate = new();

    private static readonly List<DistillerEntry> Entries =
    [
        new(StudentAlone.Name, "the network alone, cross-entropy only (teachers and baselines)", false,
            StudentAlone.Parameters, (c, _) => new StudentAlone(c.Student)),
        new(KnowledgeDistiller.Name, "Hinton et al. 2015: soft targets at temperature T", true,
            KnowledgeDistiller.Parameters, (c, s) => new KnowledgeDistiller(c, s)),
        new(ContrastiveRepresentationDistiller.Name, "Tian et al. 2020: contrastive representation distillation", true,
            ContrastiveRepresentationDistiller.Parameters, (c, s) => new ContrastiveRepresentationDistiller(c, s)),
        new(MutualInformationDistiller.Name, "Shrivastava et al. 2021: Jensen-Shannon mutual information, global and local (MIMKD)", true,
            MutualInformationDistiller.Parameters, (c, s) => new MutualInformationDistiller(c, s)),
        new(SimpleRecipeDistiller.Name, "Miles & Mikolajczyk 2023: projector, batch norm and log-sum loss on pooled features, with KD", true,
            SimpleRecipeDistiller.Parameters, (c, s) => new SimpleRecipeDistiller(c, s)),
        new(OnTheFlyNativeEnsembleDistiller.Name, "Lan et al. 2018: on-the-fly native ensemble of a multi-branch network, no teacher (ONE)", false,
            OnTheFlyNativeEnsembleDistiller.Parameters, (c, s) => new OnTheFlyNativeEnsembleDistiller(c, s)),
        new(MultiBranchDiversityDistiller.Name, "Li et al. 2020: ONE with a feature fusion gate and classifier diversification, no teacher", false,
            MultiBranchDiversityDistiller.Parameters, (c, s) => new MultiBranchDiversityDistiller(c, s)),
        new(WassersteinContrastiveDistiller.Name, "Chen et al. 2021: Wasserstein contrastive distillation, global dual critic and local Sinkhorn transport (WCoRD)", true,
            WassersteinContrastiveDistiller.Parameters, (c, s) => new WassersteinContrastiveDistiller(c, s, WassersteinContrastiveDistiller.Name)),
        new(WassersteinContrastiveDistiller.GlobalName, "WCoRD's global term alone: the dual form, a Lipschitz contrastive critic over a memory bank", true,
            WassersteinContrastiveDistiller.GlobalParameters, (c, s) => new WassersteinContrastiveDistiller(c, s, WassersteinContrastiveDistiller.GlobalName)),
        new(WassersteinContrastiveDistiller.LocalName, "WCoRD's local term alone: the primal form, Sinkhorn transport within the batch", true,
            WassersteinContrastiveDistiller.LocalParameters, (c, s) => new WassersteinContrastiveDistiller(c, s, WassersteinContrastiveDistiller.LocalName)),
        new(FeatureOverhaulDistiller.Name, "Heo et al. 2019: overhaul of feature distillation (connectors, BN margins, partial L2 on pre-ReLU features)", true,
            FeatureOverhaulDistiller.Parameters, (c, s) => new FeatureOverhaulDistiller(c, s)),
        new(LipschitzDistiller.Name, "Shang et al. 2021: Lipschitz continuity guided distillation (LONDON), on top of OFD", true,
            LipschitzDistiller.Parameters, (c, s) => new LipschitzDistiller(c, s)),
    ];

    /// <summary>The registered names.</summary>
    public static IReadOnlyList<string> Names
    {
        get
        {
            lock (Gate) return Entries.Select(e => e.Name).ToArray();
        }
    }

    /// <summary>The entry of <paramref name="name"/>; an unknown name is an error listing the valid ones.</summary>
    public static DistillerEntry Get(string name)
    {
        lock (Gate)
        {
            return Entries.FirstOrDefault(e => e.Name == name)
                ?? throw new DistillSharpException($"unknown method '{name}'; choose one of: {string.Join(", ", Entries.Select(e => e.Name))}.");
        }
    }

    /// <summary>
    /// Adds a method, so that <see cref="Create"/>, <c>distill distill --method</c> in the same process, checkpoints
    /// and evaluation know it. Registering the same entry again does nothing; another method under a taken name is an
    /// error.
    /// </summary>
    public static void Register(DistillerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (Gate)
        {
            var existing = Entries.FirstOrDefault(e => e.Name == entry.Name);
            if (existing == entry) return;
            if (existing is not null) throw new DistillSharpException($"a method named '{entry.Name}' is already registered.");
            Entries.Add(entry);
        }
    }

    /// <summary>Validates <paramref name="overrides"/> and builds the method.</summary>
    public static Distiller Create(string name, DistillerContext context, IReadOnlyDictionary<string, double>? overrides = null)
    {
        var entry = Get(name);
        var settings = new MethodSettings(name, entry.Parameters, overrides);
        return entry.Factory(context, settings);
    }
}
