namespace DistillSharp.Data;

/// <summary>
/// The catalog's image-folder datasets: where their splits lie below a data root, the decode-time transform of each
/// split, the command that lays a set out, and the errors that name what is missing.
/// </summary>
/// <remarks>
/// <c>cinic10</c>: <c>cinic10/train/&lt;class&gt;/*.png</c> is the training split (90,000 images) and
/// <c>cinic10/test/</c> the test split (90,000); <c>valid/</c> is not read. Images are used as stored (32x32).
/// <c>imagenet</c>: <c>imagenet/train/&lt;wnid&gt;/*.JPEG</c> (1,281,167 images) with <see cref="RandomResizedCrop"/>
/// to 224, and <c>imagenet/val/&lt;wnid&gt;/*.JPEG</c> (50,000) as the test split with <see cref="ResizeCenterCrop"/>
/// 256 → 224, the layout <c>data-scripts/imagenet.sh</c> makes.
/// </remarks>
internal static class ImageFolderSets
{
    private sealed record Layout(string Train, string Test, string Files, Func<ImageTransform> TrainTransform, Func<ImageTransform> TestTransform);

    private static Layout LayoutOf(DatasetInfo info) => info.Name switch
    {
        "cinic10" => new("train", "test", "*.png", () => new AsStoredTransform(info.Height, info.Width), () => new AsStoredTransform(info.Height, info.Width)),
        "imagenet" => new("train", "val", "*.JPEG", () => new RandomResizedCrop(info.Height), () => new ResizeCenterCrop(256, info.Height)),
        _ => throw new InvalidOperationException($"{info.Name} is not an image-folder set"),
    };

    /// <summary>Whether the catalog reads <paramref name="info"/> from image folders.</summary>
    public static bool Has(DatasetInfo info) => info.Name is "cinic10" or "imagenet";

    /// <summary>The command that fetches or lays out the set into <paramref name="root"/>.</summary>
    public static string FetchCommand(DatasetInfo info, string root) => info.Name == "imagenet"
        ? $"bash {info.FetchScript} {root} --train ILSVRC2012_img_train.tar --val ILSVRC2012_img_val.tar --devkit ILSVRC2012_devkit_t12.tar.gz " +
          "(the archives come from https://image-net.org)"
        : $"bash {info.FetchScript} {root}";

    /// <summary>The set's folder: the first one, in the search order, holding both split folders; null when none does.</summary>
    public static string? Find(DatasetInfo info, DataLocation location)
    {
        var layout = LayoutOf(info);
        return location.Find([info.Folder], f => Directory.Exists(Path.Combine(f, layout.Train)) && Directory.Exists(Path.Combine(f, layout.Test)));
    }

    /// <summary>
    /// Lists both splits and makes the streamed datasets. The classes are the training split's folders in ordinal order;
    /// the test split must have the same ones.
    /// </summary>
    public static DatasetSplits Load(DatasetInfo info, DataLocation location, DatasetLoadOptions options)
    {
        var layout = LayoutOf(info);
        var folder = Find(info, location) ?? throw Missing(info, location);
        string remedy = $"To lay the set out again: {FetchCommand(info, location.Root)}.";
        var trainIndex = ImageFolderIndex.Scan(Path.Combine(folder, layout.Train), remedy);
        var testIndex = ImageFolderIndex.Scan(Path.Combine(folder, layout.Test), remedy);
        if (trainIndex.Classes.Count > info.NumClasses)
        {
            throw new DistillSharpException(
                $"{trainIndex.Folder} holds {trainIndex.Classes.Count} class folders, more than {info.Title}'s {info.NumClasses}: " +
                $"remove the folders that are not classes. {remedy}");
        }
        if (!trainIndex.Classes.SequenceEqual(testIndex.Classes, StringComparer.Ordinal))
        {
            var onlyTrain = trainIndex.Classes.Except(testIndex.Classes, StringComparer.Ordinal).ToList();
            var onlyTest = testIndex.Classes.Except(trainIndex.Classes, StringComparer.Ordinal).ToList();
            throw new DistillSharpException(
                $"the class folders of {trainIndex.Folder} and {testIndex.Folder} differ" +
                (onlyTrain.Count > 0 ? $"; only in {layout.Train}/: {Few(onlyTrain)}" : "") +
                (onlyTest.Count > 0 ? $"; only in {layout.Test}/: {Few(onlyTest)}" : "") +
                $", so their labels would not agree. {remedy}");
        }
        var train = new ImageFolderDataset($"{info.Name}/train", trainIndex, layout.TrainTransform(), info.NumClasses, options.DecodeThreads);
        var test = new ImageFolderDataset($"{info.Name}/{layout.Test}", testIndex, layout.TestTransform(), info.NumClasses, options.DecodeThreads);
        return new DatasetSplits(info, train, test);
    }

    /// <summary>The set is in none of the searched folders: what was looked for, and the command that fetches it.</summary>
    public static DistillSharpException Missing(DatasetInfo info, DataLocation location)
    {
        var layout = LayoutOf(info);
        string splits = $"{layout.Train}/<class>/{layout.Files} and {layout.Test}/<class>/{layout.Files}";
        string command = FetchCommand(info, location.Root);
        if (location.NamedBy is { } namedBy)
        {
            var candidate = Path.Combine(location.Root, info.Folder);
            var missing = new[] { layout.Train, layout.Test }.Where(s => !Directory.Exists(Path.Combine(candidate, s))).Select(s => s + "/").ToList();
            if (Directory.Exists(candidate))
            {
                return new DistillSharpException(
                    $"dataset '{info.Name}' ({info.Title}) is incomplete in {candidate}: {string.Join(" and ", missing)} {(missing.Count == 1 ? "is" : "are")} " +
                    $"missing, and the folder {namedBy} names is the only one read. Fetch it there with: {command}.");
            }
            return new DistillSharpException(
                $"dataset '{info.Name}' ({info.Title}) was not found in {location.Root}, the folder {namedBy} names and the only one read: " +
                $"looked for {splits} in {candidate}. Fetch it there with: {command}.");
        }
        var looked = location.SearchRoots.Select(r => Path.Combine(r, info.Folder));
        return new DistillSharpException(
            $"dataset '{info.Name}' ({info.Title}) was not found: looked for {splits} in {string.Join(" and ", looked)}. Fetch it with: {command}.");
    }

    private static string Few(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(5)) + (names.Count > 5 ? $" and {names.Count - 5} more" : "");
}
