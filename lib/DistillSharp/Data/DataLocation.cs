namespace DistillSharp.Data;

/// <summary>How the primary data folder of a <see cref="DataLocation"/> was chosen.</summary>
public enum DataLocationSource
{
    /// <summary>Given explicitly (<c>--data-dir</c>).</summary>
    Argument,

    /// <summary>From the environment variable <c>DISTILL_DATA</c>.</summary>
    Environment,

    /// <summary>The default <c>./data</c> below the current directory.</summary>
    Default,
}

/// <summary>
/// Where datasets are looked for. The primary root is, in order of precedence: the explicit
/// <c>--data-dir</c>, else the environment variable <c>DISTILL_DATA</c>, else <c>./data</c>. A folder the user
/// names (<c>--data-dir</c> or <c>DISTILL_DATA</c>) is the only one read: a dataset missing there, or missing a
/// file there, is an error, never a silent read from elsewhere. With the default <c>./data</c>, that folder is
/// searched first and the system location <c>/usr/share/datasets</c> (the layout of Debian's dataset packages,
/// e.g. <c>dataset-fashion-mnist</c> installs <c>/usr/share/datasets/fashion-mnist/*.gz</c>) after it, read-only.
/// Each dataset lives in its own folder below a root (<see cref="DatasetInfo.Folder"/>).
/// </summary>
public sealed class DataLocation
{
    /// <summary>The environment variable that names the data folder when <c>--data-dir</c> is not given.</summary>
    public const string EnvironmentVariable = "DISTILL_DATA";

    /// <summary>The default data folder, relative to the current directory.</summary>
    public const string DefaultFolder = "data";

    /// <summary>The system-wide dataset location of Debian's dataset packages.</summary>
    public const string SystemFolder = "/usr/share/datasets";

    /// <summary>
    /// Creates a location from a primary root and an optional read-only system root, which is searched only when
    /// the root is the default (<see cref="DataLocationSource.Default"/>).
    /// </summary>
    public DataLocation(string root, DataLocationSource source, string? systemRoot = SystemFolder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
        Source = source;
        SystemRoot = string.IsNullOrWhiteSpace(systemRoot) ? null : Path.GetFullPath(systemRoot);
        SearchRoots = IsNamed || SystemRoot is null || SystemRoot == Root ? [Root] : [Root, SystemRoot];
    }

    /// <summary>The primary data folder (full path): searched first, and where fetched data is written.</summary>
    public string Root { get; }

    /// <summary>How <see cref="Root"/> was chosen.</summary>
    public DataLocationSource Source { get; }

    /// <summary>
    /// The read-only system folder, or null; searched after <see cref="Root"/> only when the root is the default
    /// (<see cref="SearchRoots"/>).
    /// </summary>
    public string? SystemRoot { get; }

    /// <summary>Whether the user named the folder (<c>--data-dir</c> or <c>DISTILL_DATA</c>): then it is the only one read.</summary>
    public bool IsNamed => Source != DataLocationSource.Default;

    /// <summary>How the user named the folder, for messages: <c>--data-dir</c>, <c>DISTILL_DATA</c>, or null for the default.</summary>
    public string? NamedBy => Source switch
    {
        DataLocationSource.Argument => "--data-dir",
        DataLocationSource.Environment => EnvironmentVariable,
        _ => null,
    };

    /// <summary>The folders searched, in order.</summary>
    public IReadOnlyList<string> SearchRoots { get; }

    /// <summary>
    /// Resolves the data location: <paramref name="dataDir"/> if given, else <c>$DISTILL_DATA</c> if set (either
    /// is then the only folder read), else <c>./data</c> and then <c>/usr/share/datasets</c>.
    /// </summary>
    public static DataLocation Resolve(string? dataDir) =>
        Resolve(dataDir, System.Environment.GetEnvironmentVariable(EnvironmentVariable), Directory.GetCurrentDirectory(), SystemFolder);

    /// <summary>
    /// <see cref="Resolve(string?)"/> with the environment value, the current directory and the system
    /// folder given explicitly (relative paths are taken from <paramref name="currentDirectory"/>).
    /// </summary>
    public static DataLocation Resolve(string? dataDir, string? environmentValue, string currentDirectory, string? systemRoot)
    {
        if (!string.IsNullOrWhiteSpace(dataDir))
            return new DataLocation(Path.GetFullPath(dataDir, currentDirectory), DataLocationSource.Argument, systemRoot);
        if (!string.IsNullOrWhiteSpace(environmentValue))
            return new DataLocation(Path.GetFullPath(environmentValue, currentDirectory), DataLocationSource.Environment, systemRoot);
        return new DataLocation(Path.GetFullPath(DefaultFolder, currentDirectory), DataLocationSource.Default, systemRoot);
    }

    /// <summary>
    /// The first folder, over the search roots in order and the <paramref name="relativeFolders"/> in
    /// order within each root, for which <paramref name="isComplete"/> holds; null when there is none.
    /// </summary>
    public string? Find(IReadOnlyList<string> relativeFolders, Func<string, bool> isComplete)
    {
        foreach (var root in SearchRoots)
        {
            foreach (var relative in relativeFolders)
            {
                var folder = Path.Combine(root, relative);
                if (Directory.Exists(folder) && isComplete(folder)) return folder;
            }
        }
        return null;
    }

    /// <summary>A description for messages, e.g. <c>/x/data (from DISTILL_DATA)</c> or <c>/w/data (the default ./data), then /usr/share/datasets</c>.</summary>
    public override string ToString()
    {
        var how = Source switch
        {
            DataLocationSource.Argument => "from --data-dir",
            DataLocationSource.Environment => $"from {EnvironmentVariable}",
            _ => "the default ./data",
        };
        return SearchRoots.Count == 1 ? $"{Root} ({how})" : $"{Root} ({how}), then {SystemRoot}";
    }
}
