namespace DistillSharp.Reporting;

/// <summary>The gain of a method over a baseline, as the results tables report it.</summary>
internal static class AccuracyGain
{
    /// <summary>gain = top-1(method) − top-1(baseline), in points, rounded to 0.01 (the precision papers report).</summary>
    public static double Points(double top1, double baseline) => Math.Round(top1 - baseline, 2, MidpointRounding.AwayFromZero);
}
