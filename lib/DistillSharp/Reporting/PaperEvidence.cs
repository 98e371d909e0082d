namespace DistillSharp.Reporting;

/// <summary>
/// Where a <see cref="PaperTable"/>'s numbers were read (the <c>evidence</c> field of a paper file), the tags of the
/// project's paper specifications.
/// </summary>
public enum PaperEvidence
{
    /// <summary><c>"paper"</c>: read in the paper (abstract or text).</summary>
    Paper,

    /// <summary><c>"code"</c>: read in the paper's official code.</summary>
    Code,

    /// <summary><c>"reimpl"</c>: read in a third-party re-implementation or its documentation: a hint, not authority.</summary>
    Reimplementation,

    /// <summary><c>"inferred"</c>: reconstructed, not read anywhere.</summary>
    Inferred,
}

/// <summary>The words and the JSON spelling of a <see cref="PaperEvidence"/>.</summary>
public static class PaperEvidences
{
    /// <summary>The tag in a paper file: <c>paper</c>, <c>code</c>, <c>reimpl</c> or <c>inferred</c>.</summary>
    public static string JsonName(this PaperEvidence evidence) => evidence switch
    {
        PaperEvidence.Paper => "paper",
        PaperEvidence.Code => "code",
        PaperEvidence.Reimplementation => "reimpl",
        PaperEvidence.Inferred => "inferred",
        _ => throw new ArgumentOutOfRangeException(nameof(evidence), evidence, null),
    };

    /// <summary>What the tag means, for a table's description.</summary>
    public static string Describe(this PaperEvidence evidence) => evidence switch
    {
        PaperEvidence.Paper => "read in the paper",
        PaperEvidence.Code => "read in the paper's official code",
        PaperEvidence.Reimplementation => "read in a third-party re-implementation: a hint, not authority",
        PaperEvidence.Inferred => "reconstructed, not read anywhere",
        _ => throw new ArgumentOutOfRangeException(nameof(evidence), evidence, null),
    };
}
