using System.Globalization;

namespace DistillSharp.Reporting;

/// <summary>One number a paper reports, as the paper prints it.</summary>
/// <param name="Reported">The value in the table's metric (top-1 or top-1 error, %).</param>
/// <param name="Text">The value as written in the paper file, digits kept (<c>72.50</c>, <c>69.8</c>).</param>
/// <param name="Metric">What <paramref name="Reported"/> measures.</param>
public sealed record PaperCell(double Reported, string Text, PaperMetric Metric)
{
    /// <summary>Top-1 accuracy (%): <see cref="Reported"/>, or 100 − <see cref="Reported"/> for a top-1 error, to the digits written.</summary>
    public double Top1 => Metric == PaperMetric.Top1 ? Reported : Math.Round(100 - Reported, Decimals, MidpointRounding.AwayFromZero);

    /// <summary><see cref="Top1"/> as text with as many decimals as <see cref="Text"/>: the paper's own text for a top-1 cell.</summary>
    public string Top1Text => Metric == PaperMetric.Top1 ? Text : Top1.ToString("F" + Decimals, CultureInfo.InvariantCulture);

    private int Decimals => Text.Contains('.', StringComparison.Ordinal) ? Text.Length - Text.IndexOf('.', StringComparison.Ordinal) - 1 : 0;
}
