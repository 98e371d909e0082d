namespace DistillSharp.Data;

/// <summary>
/// The split a class-balanced subset is cut from, for its messages: the option that sets the subset's size and the
/// split's name (<c>--subset</c> and the training split, <c>--test-subset</c> and the test split).
/// </summary>
/// <param name="Option">The option that sets the size.</param>
/// <param name="Split">The split's name in a sentence, e.g. "test split".</param>
public sealed record SubsetSplit(string Option, string Split)
{
    /// <summary>The training split, sized by <c>--subset</c>.</summary>
    public static readonly SubsetSplit Training = new("--subset", "training split");

    /// <summary>The test split, sized by <c>--test-subset</c>.</summary>
    public static readonly SubsetSplit Test = new("--test-subset", "test split");

    /// <summary>
    /// The split <paramref name="source"/> is: <see cref="Test"/> for the catalog's test splits, whose names end in
    /// <c>/test</c> (<c>fashion-mnist/test</c>) or <c>/val</c> (<c>imagenet/val</c>), else <see cref="Training"/>.
    /// </summary>
    public static SubsetSplit Of(IImageDataset source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return source.Name.EndsWith("/test", StringComparison.Ordinal) || source.Name.EndsWith("/val", StringComparison.Ordinal) ? Test : Training;
    }
}
