namespace DistillSharp.Data;

/// <summary>
/// The files of one split of an image-folder dataset, <c>SPLIT/&lt;class&gt;/&lt;file&gt;</c>, as torchvision's
/// <c>ImageFolder</c> orders them: the classes are the sub-folders in ordinal (code-point) order of their names, so
/// class k is the k-th folder name (for ImageNet, the k-th wnid: the class indices of torchvision's pretrained
/// networks); within a class, the files in ordinal order of their names. Only names and labels are held, no pixels.
/// </summary>
/// <remarks>
/// Images are the files ending in <c>.png</c>, <c>.jpg</c> or <c>.jpeg</c> in any case (ImageNet's <c>.JPEG</c>), read
/// from the class folder itself (torchvision also walks nested folders and reads more formats; the data-scripts'
/// layouts have neither). Folders and files whose names begin with a dot are not read (torchvision would count a
/// folder such as <c>.ipynb_checkpoints</c> as a class).
/// </remarks>
public sealed class ImageFolderIndex
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    private readonly string[] _names;
    private readonly int[] _labels;

    private ImageFolderIndex(string folder, string[] classes, string[] names, int[] labels)
    {
        Folder = folder;
        Classes = classes;
        _names = names;
        _labels = labels;
    }

    /// <summary>The split folder (full path).</summary>
    public string Folder { get; }

    /// <summary>The class names (folder names), label k at position k.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The number of images.</summary>
    public int Count => _names.Length;

    /// <summary>The label of image <paramref name="index"/>.</summary>
    public int LabelOf(int index) => _labels[index];

    /// <summary>The full path of image <paramref name="index"/>.</summary>
    public string PathOf(int index) => Path.Combine(Folder, Classes[_labels[index]], _names[index]);

    /// <summary>All labels, in image order (a copy).</summary>
    public long[] Labels() => _labels.Select(l => (long)l).ToArray();

    /// <summary>Whether <paramref name="fileName"/> names an image this index reads (by its extension, any case).</summary>
    public static bool IsImageName(string fileName) =>
        !fileName.StartsWith('.') && Extensions.Any(e => fileName.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Lists <paramref name="folder"/>. Errors name the folder and end with <paramref name="remedy"/> (e.g. the
    /// data-script that lays the set out).
    /// </summary>
    /// <exception cref="DistillSharpException">The folder does not exist, holds no class folders, or a class folder
    /// holds no image.</exception>
    public static ImageFolderIndex Scan(string folder, string remedy)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(remedy);
        var full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new DistillSharpException($"{full} does not exist: the images should be in {full}/<class>/*.png|jpg|jpeg. {remedy}");
        string[] classes;
        try
        {
            classes = Directory.EnumerateDirectories(full).Select(d => Path.GetFileName(d)).Where(n => !n.StartsWith('.'))
                .Order(StringComparer.Ordinal).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DistillSharpException($"{full} cannot be listed ({e.Message}). {remedy}", e);
        }
        if (classes.Length == 0)
            throw new DistillSharpException($"{full} holds no class folders: the images should be in {full}/<class>/*.png|jpg|jpeg. {remedy}");

        var names = new List<string>();
        var labels = new List<int>();
        for (int k = 0; k < classes.Length; k++)
        {
            var classFolder = Path.Combine(full, classes[k]);
            string[] files;
            try
            {
                files = Directory.EnumerateFiles(classFolder).Select(f => Path.GetFileName(f)).Where(IsImageName)
                    .Order(StringComparer.Ordinal).ToArray();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new DistillSharpException($"{classFolder} cannot be listed ({e.Message}). {remedy}", e);
            }
            if (files.Length == 0)
                throw new DistillSharpException($"class folder {classFolder} holds no images (.png, .jpg or .jpeg files). {remedy}");
            names.AddRange(files);
            labels.AddRange(Enumerable.Repeat(k, files.Length));
        }
        return new ImageFolderIndex(full, classes, names.ToArray(), labels.ToArray());
    }
}
