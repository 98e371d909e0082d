using DistillSharp.Data;

namespace DistillSharp.Tests.Data;

public sealed class ImageFolderIndexTests
{
    private const string Remedy = "Run the data-script.";

    [Fact]
    public void ClassesAreTheFolderNamesInOrdinalOrderAndFilesAreSortedWithinAClass()
    {
        using var dir = new TempDir();
        // Ordinal order puts upper case before lower case, as Python's sorted() does (torchvision's class indices).
        foreach (var c in new[] { "n02", "b", "B", "n01", "Zeta" })
        {
            foreach (var f in new[] { "b.PNG", "a.jpeg", "C.JPG", "notes.txt", ".hidden.png" })
                File.WriteAllBytes(dir.File("split", c, f).EnsureFolder(), [1]);
        }
        File.WriteAllBytes(dir.File("split", ".cache", "x.png").EnsureFolder(), [1]);   // dot folders are not classes
        File.WriteAllBytes(dir.File("split", "readme.png"), [1]);                      // files beside the classes are not read

        var index = ImageFolderIndex.Scan(dir.File("split"), Remedy);
        Assert.Equal(["B", "Zeta", "b", "n01", "n02"], index.Classes);
        Assert.Equal(15, index.Count);
        Assert.Equal(Enumerable.Range(0, 15).Select(i => (long)(i / 3)), index.Labels());
        Assert.Equal(dir.File("split", "B", "C.JPG"), index.PathOf(0));
        Assert.Equal(dir.File("split", "B", "a.jpeg"), index.PathOf(1));
        Assert.Equal(dir.File("split", "B", "b.PNG"), index.PathOf(2));
        Assert.Equal(dir.File("split", "n02", "b.PNG"), index.PathOf(14));
        Assert.Equal(3, index.LabelOf(10));
    }

    [Fact]
    public void AMissingFolderASplitWithoutClassesAndAnEmptyClassAreErrorsNamingThePath()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<DistillSharpException>(() => ImageFolderIndex.Scan(dir.File("nothing"), Remedy));
        Assert.Equal($"{dir.File("nothing")} does not exist: the images should be in {dir.File("nothing")}/<class>/*.png|jpg|jpeg. {Remedy}", e.Message);

        File.WriteAllBytes(dir.File("flat", "a.png").EnsureFolder(), [1]);
        e = Assert.Throws<DistillSharpException>(() => ImageFolderIndex.Scan(dir.File("flat"), Remedy));
        Assert.Equal($"{dir.File("flat")} holds no class folders: the images should be in {dir.File("flat")}/<class>/*.png|jpg|jpeg. {Remedy}", e.Message);

        File.WriteAllBytes(dir.File("split", "cat", "a.png").EnsureFolder(), [1]);
        File.WriteAllBytes(dir.File("split", "dog", "a.txt").EnsureFolder(), [1]);
        e = Assert.Throws<DistillSharpException>(() => ImageFolderIndex.Scan(dir.File("split"), Remedy));
        Assert.Equal($"class folder {dir.File("split", "dog")} holds no images (.png, .jpg or .jpeg files). {Remedy}", e.Message);
    }
}

internal static class PathExtensions
{
    /// <summary>Creates the folder of the file <paramref name="path"/> and returns the path.</summary>
    public static string EnsureFolder(this string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }
}
