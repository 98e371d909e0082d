namespace DistillSharp.Reporting;

/// <summary>What the numbers of a <see cref="PaperTable"/> measure (the <c>metric</c> field of a paper file).</summary>
public enum PaperMetric
{
    /// <summary>Top-1 accuracy in percent (<c>"top1"</c>): the share of test images whose highest-scored class is the label.</summary>
    Top1,

    /// <summary>Top-1 error in percent (<c>"top1_error"</c>): 100 − top-1 accuracy.</summary>
    Top1Error,
}

/// <summary>The words and the JSON spelling of a <see cref="PaperMetric"/>.</summary>
public static class PaperMetrics
{
    /// <summary>The metric as a column header ends: <c>top-1 (%)</c> or <c>top-1 error (%)</c>.</summary>
    public static string Describe(this PaperMetric metric) => metric switch
    {
        PaperMetric.Top1 => "top-1 (%)",
        PaperMetric.Top1Error => "top-1 error (%)",
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, null),
    };

    /// <summary>The metric's spelling in a paper file: <c>top1</c> or <c>top1_error</c>.</summary>
    public static string JsonName(this PaperMetric metric) => metric switch
    {
        PaperMetric.Top1 => "top1",
        PaperMetric.Top1Error => "top1_error",
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, null),
    };
}
