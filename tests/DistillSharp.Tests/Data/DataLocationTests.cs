using DistillSharp.Data;

namespace DistillSharp.Tests.Data;

public sealed class DataLocationTests
{
    [Fact]
    public void ExplicitDirectoryBeatsEnvironmentBeatsDefault()
    {
        using var dir = new TempDir();
        var sys = dir.File("system");

        var explicitDir = DataLocation.Resolve("given", dir.File("env"), dir.Path, sys);
        Assert.Equal(dir.File("given"), explicitDir.Root);
        Assert.Equal(DataLocationSource.Argument, explicitDir.Source);

        var fromEnv = DataLocation.Resolve(null, dir.File("env"), dir.Path, sys);
        Assert.Equal(dir.File("env"), fromEnv.Root);
        Assert.Equal(DataLocationSource.Environment, fromEnv.Source);

        var byDefault = DataLocation.Resolve("  ", "", dir.Path, sys);
        Assert.Equal(dir.File("data"), byDefault.Root);
        Assert.Equal(DataLocationSource.Default, byDefault.Source);

        Assert.Equal([dir.File("data"), sys], byDefault.SearchRoots);
        Assert.Contains("DISTILL_DATA", fromEnv.ToString());
    }

    [Fact]
    public void ProcessEnvironmentIsUsedWhenNoDirectoryIsGiven()
    {
        var env = Environment.GetEnvironmentVariable(DataLocation.EnvironmentVariable);
        var resolved = DataLocation.Resolve(null);
        if (string.IsNullOrWhiteSpace(env))
            Assert.Equal(Path.GetFullPath("data"), resolved.Root);
        else
            Assert.Equal(Path.GetFullPath(env), resolved.Root);
        Assert.Equal(DataLocation.SystemFolder, resolved.SystemRoot);
    }

    [Fact]
    public void PrimaryRootIsSearchedBeforeTheSystemLocation()
    {
        using var dir = new TempDir();
        var primary = dir.File("data");
        var sys = dir.File("usr-share-datasets");
        Directory.CreateDirectory(Path.Combine(sys, "fashion-mnist"));
        File.WriteAllText(Path.Combine(sys, "fashion-mnist", "marker"), "system");
        var location = new DataLocation(primary, DataLocationSource.Default, sys);

        bool HasMarker(string folder) => File.Exists(Path.Combine(folder, "marker"));
        Assert.Equal(Path.Combine(sys, "fashion-mnist"), location.Find(["fashion-mnist"], HasMarker));

        Directory.CreateDirectory(Path.Combine(primary, "fashion-mnist"));
        Assert.Equal(Path.Combine(sys, "fashion-mnist"), location.Find(["fashion-mnist"], HasMarker)); // incomplete primary is passed over
        File.WriteAllText(Path.Combine(primary, "fashion-mnist", "marker"), "primary");
        Assert.Equal(Path.Combine(primary, "fashion-mnist"), location.Find(["fashion-mnist"], HasMarker));

        Assert.Null(location.Find(["mnist"], HasMarker));
        Assert.Single(new DataLocation(primary, DataLocationSource.Argument, systemRoot: null).SearchRoots);
    }

    [Fact]
    public void AFolderTheUserNamesIsTheOnlyOneSearched()
    {
        using var dir = new TempDir();
        var sys = dir.File("usr-share-datasets");
        Directory.CreateDirectory(Path.Combine(sys, "fashion-mnist"));
        File.WriteAllText(Path.Combine(sys, "fashion-mnist", "marker"), "system");
        bool HasMarker(string folder) => File.Exists(Path.Combine(folder, "marker"));

        foreach (var (location, by) in new[]
        {
            (DataLocation.Resolve("given", null, dir.Path, sys), "from --data-dir"),
            (DataLocation.Resolve(null, dir.File("env"), dir.Path, sys), "from DISTILL_DATA"),
        })
        {
            Assert.True(location.IsNamed);
            Assert.Equal([location.Root], location.SearchRoots);
            Assert.Null(location.Find(["fashion-mnist"], HasMarker));                    // the system copy is not read
            Assert.Equal($"{location.Root} ({by})", location.ToString());
        }
        var byDefault = DataLocation.Resolve(null, null, dir.Path, sys);
        Assert.False(byDefault.IsNamed);
        Assert.Equal(Path.Combine(sys, "fashion-mnist"), byDefault.Find(["fashion-mnist"], HasMarker));
        Assert.Equal($"{dir.File("data")} (the default ./data), then {sys}", byDefault.ToString());
    }
}
