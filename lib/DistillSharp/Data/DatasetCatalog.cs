namespace DistillSharp.Data;

/// <summary>Options of <see cref="DatasetCatalog.Load"/>.</summary>
public sealed record DatasetLoadOptions
{
    /// <summary>CIFAR-100 with its 20 coarse (superclass) labels instead of the 100 fine labels.</summary>
    public bool Cifar100Coarse { get; init; }

    /// <summary>
    /// Fetch the default dataset, Fashion-MNIST, into <c>./data/fashion-mnist</c> when it is found nowhere
    /// (checksums verified), as the README promises. Only with the default data folder: a folder the user names
    /// (<c>--data-dir</c>, <c>DISTILL_DATA</c>) is read as it is, and a set missing there is an error that names the
    /// data-script. Other sets are always fetched with the data-scripts. Default: true.
    /// </summary>
    public bool Download { get; init; } = true;

    /// <summary>
    /// The base URI the Fashion-MNIST files are fetched from; null means <c>$DISTILL_MIRROR</c> when set,
    /// else the dataset authors' location (<see cref="DatasetCatalog.FashionMnistBaseUri"/>).
    /// </summary>
    public Uri? DownloadBaseUri { get; init; }

    /// <summary>The HTTP client for downloads; null for a default one.</summary>
    public HttpClient? HttpClient { get; init; }

    /// <summary>Where progress messages go (e.g. "fetched ..."); null for none.</summary>
    public TextWriter? Log { get; init; }

    /// <summary>
    /// For the image-folder sets (<c>cinic10</c>, <c>imagenet</c>): the threads that decode one batch; null for
    /// <see cref="Environment.ProcessorCount"/>. It changes the speed, never the images.
    /// </summary>
    public int? DecodeThreads { get; init; }

    /// <summary>Tests only: the files (and checksums) fetched instead of <see cref="DatasetCatalog.FashionMnistFiles"/>.</summary>
    internal IReadOnlyList<RemoteFile>? RemoteFilesOverride { get; init; }
}

/// <summary>A loaded dataset: its (effective) info and the official train and test splits.</summary>
/// <param name="Info">The dataset's info; for CIFAR-100 with coarse labels NumClasses is 20.</param>
/// <param name="Train">The training split.</param>
/// <param name="Test">The test split.</param>
public sealed record DatasetSplits(DatasetInfo Info, IImageDataset Train, IImageDataset Test) : IDisposable
{
    /// <summary>Disposes both splits.</summary>
    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
    }
}

/// <summary>
/// The datasets DistillSharp knows. <c>fashion-mnist</c> (the default; Debian ships it), <c>mnist</c>,
/// <c>cifar10</c> and <c>cifar100</c> load into memory; <c>cinic10</c> and <c>imagenet</c> are streamed from image
/// folders (<see cref="ImageFolderDataset"/>; layouts in the remarks of the class that lists them), decoded batch by
/// batch on background threads.
/// </summary>
/// <remarks>
/// Normalization statistics (per channel, pixels scaled to [0,1]) and their sources:
/// CIFAR-100 mean (0.5071, 0.4867, 0.4408), std (0.2675, 0.2565, 0.2761): RepDistiller, dataset/cifar100.py;
/// CIFAR-10 (0.4914, 0.4822, 0.4465) / (0.2470, 0.2435, 0.2616): the training set's statistics as commonly published;
/// MNIST 0.1307 / 0.3081: PyTorch's MNIST example;
/// Fashion-MNIST 0.2860 / 0.3530: computed from the 60000 training images (Debian's dataset-fashion-mnist gives
/// 0.28604 / 0.35302; a test checks it when the package is installed);
/// CINIC-10: the authors' README; ImageNet: torchvision's values.
/// MNIST and Fashion-MNIST are normalized with their 28x28 statistics after the zero padding to 32x32.
/// Archive checksums: CIFAR's MD5s from the CIFAR page, Fashion-MNIST's from its README, MNIST's and ImageNet's
/// as torchvision checks them, CINIC-10's as listed by Edinburgh DataShare.
/// </remarks>
public static class DatasetCatalog
{
    /// <summary>The default dataset.</summary>
    public const string DefaultName = "fashion-mnist";

    /// <summary>The environment variable that overrides the base URL of downloads (C# and data-scripts).</summary>
    public const string MirrorVariable = "DISTILL_MIRROR";

    /// <summary>Where Fashion-MNIST's authors publish the files (the README's download links).</summary>
    public static readonly Uri FashionMnistBaseUri = new("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/");

    /// <summary>
    /// The Fashion-MNIST files and the MD5 checksums published in the dataset's README
    /// (github.com/zalandoresearch/fashion-mnist, "Get the Data"; torchvision's FashionMNIST uses the same).
    /// Debian's package re-compresses the files, so its .gz files have other checksums.
    /// </summary>
    public static readonly IReadOnlyList<RemoteFile> FashionMnistFiles =
    [
        new("train-images-idx3-ubyte.gz", Checksum.Md5("8d4fb7e6c68d591d4c3dfef9ec88bf0d")),
        new("train-labels-idx1-ubyte.gz", Checksum.Md5("25c81989df183df01b3e8a0aad5dffbe")),
        new("t10k-images-idx3-ubyte.gz", Checksum.Md5("bef4ecab320f06d8554ea6380940ec79")),
        new("t10k-labels-idx1-ubyte.gz", Checksum.Md5("bb300cfdad3c16e7a12a480ee83cd310")),
    ];

    private static readonly string[] IdxFiles =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    private static readonly string[] Cifar10Files =
        ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"];

    private static readonly string[] Cifar100Files = ["train.bin", "test.bin"];

    private static readonly DatasetInfo[] All =
    [
        new("fashion-mnist", "Fashion-MNIST", 10, 1, 32, 32, 28, 28, [0.2860f], [0.3530f],
            "mean and std of the 60000 training images, computed here from Debian's dataset-fashion-mnist (0.28604, 0.35302)",
            "fashion-mnist", "data-scripts/fashion-mnist.sh", "dataset-fashion-mnist", 60000, 10000, InMemory: true, HorizontalFlip: true),
        new("mnist", "MNIST", 10, 1, 32, 32, 28, 28, [0.1307f], [0.3081f],
            "the training set's mean and std as used by PyTorch's MNIST example (examples/mnist/main.py); not recomputed here",
            "mnist", "data-scripts/mnist.sh", null, 60000, 10000, InMemory: true, HorizontalFlip: false),
        new("cifar10", "CIFAR-10", 10, 3, 32, 32, 32, 32, [0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f],
            "per-channel mean and std of the 50000 training images as commonly published; not recomputed here (the std values 0.2023, 0.1994, 0.2010 found in some code are not the per-pixel std)",
            "cifar10", "data-scripts/cifar10.sh", null, 50000, 10000, InMemory: true, HorizontalFlip: true),
        new("cifar100", "CIFAR-100", 100, 3, 32, 32, 32, 32, [0.5071f, 0.4867f, 0.4408f], [0.2675f, 0.2565f, 0.2761f],
            "RepDistiller's values (dataset/cifar100.py, transforms.Normalize), used by its teacher/student benchmarks",
            "cifar100", "data-scripts/cifar100.sh", null, 50000, 10000, InMemory: true, HorizontalFlip: true),
        new("cinic10", "CINIC-10", 10, 3, 32, 32, 32, 32, [0.47889522f, 0.47227842f, 0.43047404f], [0.24205776f, 0.23828046f, 0.25874835f],
            "the CINIC-10 authors' README (github.com/BayesWatch/cinic-10)",
            "cinic10", "data-scripts/cinic10.sh", null, 90000, 90000, InMemory: false, HorizontalFlip: true),
        new("imagenet", "ImageNet (ILSVRC-2012)", 1000, 3, 224, 224, 0, 0, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f],
            "torchvision's ImageNet models (the values of its reference training scripts)",
            "imagenet", "data-scripts/imagenet.sh", null, 1281167, 50000, InMemory: false, HorizontalFlip: true) { TrainCropPadding = 0 },
    ];

    /// <summary>The names of all datasets, the in-memory ones first.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(i => i.Name).ToArray();

    /// <summary>The info of <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="DistillSharpException">The name is unknown; the message lists the names.</exception>
    public static DatasetInfo Info(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var key = name.Trim().ToLowerInvariant();
        return All.FirstOrDefault(i => i.Name == key)
            ?? throw new DistillSharpException(
                $"unknown dataset '{name}'; the datasets are: {string.Join(", ", Names)}.");
    }

    /// <summary>
    /// Loads the train and test splits of <paramref name="name"/> from <paramref name="location"/> (from its root
    /// alone when the user named it, see <see cref="DataLocation"/>). MNIST and Fashion-MNIST are zero-padded from
    /// 28x28 to 32x32 (2 pixels each side). When Fashion-MNIST is found nowhere and the data folder is the default,
    /// it is fetched into <c>./data/fashion-mnist</c> (see <see cref="DatasetLoadOptions.Download"/>).
    /// </summary>
    /// <exception cref="DistillSharpException">The name is unknown, its files are missing (the message names the paths
    /// looked at or, in a named folder, the missing files, the data-scripts command and any Debian package) or bad; for
    /// an image-folder set, a split folder holds no class folder, a class folder holds no image, or the splits' classes
    /// differ. (An unreadable image is not an error: the loader skips it.)</exception>
    public static DatasetSplits Load(string name, DataLocation location, DatasetLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(location);
        options ??= new DatasetLoadOptions();
        var info = Info(name);
        return info.Name switch
        {
            "cinic10" or "imagenet" => ImageFolderSets.Load(info, location, options),
            "fashion-mnist" or "mnist" => LoadIdx(info, location, options),
            "cifar10" => LoadCifar10(info, location),
            "cifar100" => LoadCifar100(info, location, options.Cifar100Coarse),
            _ => throw new InvalidOperationException($"no loader for {info.Name}"),
        };
    }

    /// <summary>
    /// Checks, without reading any image, that <see cref="Load"/> would find the set's files in
    /// <paramref name="location"/> (or, for Fashion-MNIST in the default data folder with downloads on, would fetch
    /// them), so that a command can fail before it writes anything.
    /// </summary>
    /// <exception cref="DistillSharpException">As <see cref="Load"/>: the name is unknown or its files are missing (for
    /// an image-folder set: its two split folders; their contents are listed by <see cref="Load"/>).</exception>
    public static void Check(string name, DataLocation location, DatasetLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(location);
        options ??= new DatasetLoadOptions();
        var info = Info(name);
        if (ImageFolderSets.Has(info))
        {
            if (ImageFolderSets.Find(info, location) is null) throw ImageFolderSets.Missing(info, location);
            return;
        }
        if (FindFolder(info, location) is null && !WillDownload(info, location, options)) throw Missing(info, location, null);
    }

    /// <summary>Fashion-MNIST is fetched when missing only into the default data folder (the README's promise).</summary>
    private static bool WillDownload(DatasetInfo info, DataLocation location, DatasetLoadOptions options) =>
        info.Name == DefaultName && options.Download && !location.IsNamed;

    private static DatasetSplits LoadIdx(DatasetInfo info, DataLocation location, DatasetLoadOptions options)
    {
        var folder = FindFolder(info, location);
        string? downloadError = null;
        if (folder is null && WillDownload(info, location, options))
        {
            var target = Path.Combine(location.Root, info.Folder);
            var baseUri = options.DownloadBaseUri ?? MirrorFromEnvironment() ?? FashionMnistBaseUri;
            try
            {
                using var downloader = new DatasetDownloader(options.HttpClient) { Log = options.Log };
                options.Log?.WriteLine($"{info.Title} was not found; fetching it from {baseUri} into {target}");
                downloader.Download(baseUri, options.RemoteFilesOverride ?? FashionMnistFiles, target);
                folder = target;
            }
            catch (DistillSharpException e)
            {
                downloadError = e.Message;
            }
        }
        if (folder is null) throw Missing(info, location, downloadError);

        try
        {
            var train = IdxReader.Load($"{info.Name}/train", IdxPath(folder, "train-images-idx3-ubyte"), IdxPath(folder, "train-labels-idx1-ubyte"), info.NumClasses, padTo: info.Height);
            try
            {
                var test = IdxReader.Load($"{info.Name}/test", IdxPath(folder, "t10k-images-idx3-ubyte"), IdxPath(folder, "t10k-labels-idx1-ubyte"), info.NumClasses, padTo: info.Height);
                return new DatasetSplits(info, train, test);
            }
            catch
            {
                train.Dispose();
                throw;
            }
        }
        catch (DistillSharpException e)
        {
            throw Refetch(info, location, e);
        }
    }

    private static DatasetSplits LoadCifar10(DatasetInfo info, DataLocation location)
    {
        var folder = FindFolder(info, location) ?? throw Missing(info, location, null);
        try
        {
            var train = CifarReader.ReadCifar10($"{info.Name}/train", Cifar10Files.Take(5).Select(n => Path.Combine(folder, n)).ToArray(), recordsPerFile: 10000);
            try
            {
                var test = CifarReader.ReadCifar10($"{info.Name}/test", [Path.Combine(folder, "test_batch.bin")], recordsPerFile: 10000);
                return new DatasetSplits(info, train, test);
            }
            catch
            {
                train.Dispose();
                throw;
            }
        }
        catch (DistillSharpException e)
        {
            throw Refetch(info, location, e);
        }
    }

    private static DatasetSplits LoadCifar100(DatasetInfo info, DataLocation location, bool coarse)
    {
        var folder = FindFolder(info, location) ?? throw Missing(info, location, null);
        var effective = coarse ? info with { NumClasses = 20, Title = info.Title + " (coarse labels)" } : info;
        try
        {
            var train = CifarReader.ReadCifar100($"{info.Name}/train", Path.Combine(folder, "train.bin"), coarse, expectedRecords: 50000);
            try
            {
                var test = CifarReader.ReadCifar100($"{info.Name}/test", Path.Combine(folder, "test.bin"), coarse, expectedRecords: 10000);
                return new DatasetSplits(effective, train, test);
            }
            catch
            {
                train.Dispose();
                throw;
            }
        }
        catch (DistillSharpException e)
        {
            throw Refetch(info, location, e);
        }
    }

    private static Layout LayoutOf(DatasetInfo info) => info.Name switch
    {
        "fashion-mnist" or "mnist" => new([info.Folder], IdxFiles, GzipAllowed: true),
        "cifar10" => new([Path.Combine(info.Folder, "cifar-10-batches-bin"), "cifar-10-batches-bin"], Cifar10Files, GzipAllowed: false),
        "cifar100" => new([Path.Combine(info.Folder, "cifar-100-binary"), "cifar-100-binary"], Cifar100Files, GzipAllowed: false),
        _ => throw new InvalidOperationException($"no layout for {info.Name}"),
    };

    /// <summary>The first folder, in <paramref name="location"/>'s search order, that holds every file of the set.</summary>
    private static string? FindFolder(DatasetInfo info, DataLocation location)
    {
        var layout = LayoutOf(info);
        return location.Find(layout.Folders, f => !layout.MissingIn(f).Any());
    }

    /// <summary>The raw file when present, else the gzipped one.</summary>
    private static string IdxPath(string folder, string name)
    {
        var raw = Path.Combine(folder, name);
        return File.Exists(raw) ? raw : raw + ".gz";
    }

    private static Uri? MirrorFromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(MirrorVariable);
        return string.IsNullOrWhiteSpace(value) ? null : new Uri(value, UriKind.Absolute);
    }

    private static DistillSharpException Missing(DatasetInfo info, DataLocation location, string? downloadError)
    {
        var layout = LayoutOf(info);
        if (location.NamedBy is { } namedBy) return MissingInNamedFolder(info, location, namedBy, layout);
        var looked = location.SearchRoots.SelectMany(r => layout.Folders.Select(f => Path.Combine(r, f)));
        var message =
            $"dataset '{info.Name}' ({info.Title}) was not found: looked for {string.Join(", ", layout.Files.Select(layout.Shown))} in " +
            $"{string.Join(" and ", looked)}. Fetch it with: bash {info.FetchScript} {location.Root}";
        if (info.DebianPackage is not null)
            message += $" (or install Debian's package: apt-get install {info.DebianPackage}, which puts it in {DataLocation.SystemFolder}/{info.Folder})";
        message += ".";
        if (downloadError is not null) message += $" The automatic download failed: {downloadError}";
        return new DistillSharpException(message);
    }

    /// <summary>
    /// The set is not complete in the folder the user named, the only one read: the files missing from the folder
    /// that holds part of the set (or the whole list where none does), the fetch command into that folder, and how
    /// to read Debian's copy instead.
    /// </summary>
    private static DistillSharpException MissingInNamedFolder(DatasetInfo info, DataLocation location, string namedBy, Layout layout)
    {
        var candidates = layout.Folders.Select(f => Path.Combine(location.Root, f)).ToList();
        var partial = candidates.FirstOrDefault(Directory.Exists);
        string message;
        if (partial is not null && layout.MissingIn(partial).ToList() is { Count: > 0 } missing)
        {
            message = $"dataset '{info.Name}' ({info.Title}) is incomplete in {partial}: {string.Join(", ", missing)} " +
                $"{(missing.Count == 1 ? "is" : "are")} missing, and the folder {namedBy} names is the only one read.";
        }
        else
        {
            message = $"dataset '{info.Name}' ({info.Title}) was not found in {location.Root}, the folder {namedBy} names and the only one read: " +
                $"looked for {string.Join(", ", layout.Files.Select(layout.Shown))} in {string.Join(" and ", candidates)}.";
        }
        message += $" Fetch it there with: bash {info.FetchScript} {location.Root}";
        if (info.DebianPackage is not null)
        {
            string without = location.Source == DataLocationSource.Argument ? "leave out --data-dir" : $"unset {DataLocation.EnvironmentVariable}";
            message += $" (or {without} to read Debian's {info.DebianPackage} from {DataLocation.SystemFolder}/{info.Folder})";
        }
        return new DistillSharpException(message + ".");
    }

    /// <summary>
    /// Where a set's files lie below a data root: the folders tried in order, the files one of them must hold, and
    /// whether a gzipped copy (<c>NAME.gz</c>) counts for a file.
    /// </summary>
    private sealed record Layout(string[] Folders, string[] Files, bool GzipAllowed)
    {
        public IEnumerable<string> MissingIn(string folder) =>
            Files.Where(f => !File.Exists(Path.Combine(folder, f)) && !(GzipAllowed && File.Exists(Path.Combine(folder, f + ".gz")))).Select(Shown);

        public string Shown(string file) => GzipAllowed ? file + "[.gz]" : file;
    }

    private static DistillSharpException Refetch(DatasetInfo info, DataLocation location, DistillSharpException e) =>
        new($"{e.Message} Delete the damaged file and fetch {info.Title} again: bash {info.FetchScript} {location.Root}" +
            (info.DebianPackage is not null ? $" (or apt-get install --reinstall {info.DebianPackage})." : "."), e);
}
