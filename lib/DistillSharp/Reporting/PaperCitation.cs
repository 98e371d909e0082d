namespace DistillSharp.Reporting;

/// <summary>The bibliographic reference of a paper whose numbers a <see cref="Paper"/> file holds.</summary>
/// <param name="Authors">The authors in the paper's order (full names where known, else surnames).</param>
/// <param name="Title">The paper's title.</param>
/// <param name="Venue">Where it appeared (conference, workshop or preprint server).</param>
/// <param name="Year">The year of that venue.</param>
/// <param name="Arxiv">The arXiv identifier (e.g. <c>1910.10699</c>), or null when unknown.</param>
/// <param name="Doi">The DOI, or null when unknown.</param>
/// <param name="Code">The address of the official code, or null when none was found.</param>
/// <param name="Short">The short attribution of column headers, e.g. <c>CRD, Tian et al. 2020</c>.</param>
public sealed record PaperCitation(
    IReadOnlyList<string> Authors, string Title, string Venue, int Year, string? Arxiv, string? Doi, string? Code, string Short)
{
    /// <summary>
    /// The reference in one line: <c>AUTHORS, “TITLE”, VENUE YEAR, arXiv:ID, doi:DOI; code: ADDRESS</c> (the parts
    /// that are unknown left out).
    /// </summary>
    public string Text
    {
        get
        {
            var text = $"{string.Join(", ", Authors)}, “{Title}”, {Venue} {Year}";
            if (Arxiv is not null) text += $", arXiv:{Arxiv}";
            if (Doi is not null) text += $", doi:{Doi}";
            return text + (Code is null ? "; no official code" : $"; code: {Code}");
        }
    }
}
