using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Weights;

/// <summary>
/// Puts a PyTorch state dict into a zoo model whose keys follow the reference definitions (RepDistiller, LONDON,
/// torchvision), checking every key and shape first: a missing, unexpected or mis-shaped tensor is an error naming it,
/// and the model is left untouched. The <c>module.</c> prefix that <c>nn.DataParallel</c> leaves on every key is removed. A state
/// dict without <c>num_batches_tracked</c> buffers (PyTorch before 0.4.1 had none) loads with them at 0, as
/// PyTorch's own <c>BatchNorm._load_from_state_dict</c> does for such files.
/// </summary>
public static class StateDictImport
{
    private const string DataParallelPrefix = "module.";
    private const string BatchesTracked = "num_batches_tracked";

    /// <summary>The keys of <paramref name="stateDict"/> with DataParallel's <c>module.</c> prefix removed when every key has it.</summary>
    public static IReadOnlyDictionary<string, Tensor> WithoutDataParallelPrefix(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        if (stateDict.Count == 0 || !stateDict.Keys.All(k => k.StartsWith(DataParallelPrefix, StringComparison.Ordinal))) return stateDict;
        return stateDict.ToDictionary(p => p.Key[DataParallelPrefix.Length..], p => p.Value);
    }

    /// <summary>The output count of the classifier weight <paramref name="classifierWeightKey"/> in <paramref name="stateDict"/>, or null.</summary>
    public static int? ClassesIn(IReadOnlyDictionary<string, Tensor> stateDict, string classifierWeightKey)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var sd = WithoutDataParallelPrefix(stateDict);
        return sd.TryGetValue(classifierWeightKey, out var w) && w.dim() == 2 ? (int)w.shape[0] : null;
    }

    /// <summary>Copies <paramref name="stateDict"/> into <paramref name="model"/> after checking every key and shape.</summary>
    /// <param name="model">The zoo model (its state-dict keys are PyTorch's).</param>
    /// <param name="stateDict">Tensors by key, as <see cref="PyTorchCheckpoint.ReadStateDict"/> returns them.</param>
    /// <param name="source">The file, for the messages.</param>
    /// <exception cref="DistillSharpException">A key is missing or unexpected, or a shape differs; the message names each one.</exception>
    public static void Load(ZooModel model, IReadOnlyDictionary<string, Tensor> stateDict, string source)
    {
        ArgumentNullException.ThrowIfNull(model);
        var sd = WithoutDataParallelPrefix(stateDict);
        var expected = model.OrderedStateDict();
        var expectedKeys = expected.Select(p => p.Key).ToHashSet();
        var missing = expected.Select(p => p.Key).Where(k => !sd.ContainsKey(k) && !k.EndsWith("." + BatchesTracked, StringComparison.Ordinal)).ToList();
        var unexpected = sd.Keys.Where(k => !expectedKeys.Contains(k)).ToList();
        var misshaped = expected
            .Where(p => sd.TryGetValue(p.Key, out var t) && !t.shape.SequenceEqual(p.Value.shape))
            .Select(p => $"'{p.Key}' is {Shape(sd[p.Key].shape)} in the file, {Shape(p.Value.shape)} in {model.Name}")
            .ToList();
        var problems = new List<string>();
        if (missing.Count > 0) problems.Add($"missing {Names(missing)}");
        if (unexpected.Count > 0) problems.Add($"unexpected {Names(unexpected)}");
        if (misshaped.Count > 0) problems.Add(string.Join("; ", misshaped.Take(10)) + (misshaped.Count > 10 ? $"; and {misshaped.Count - 10} more" : ""));
        if (problems.Count > 0)
        {
            throw new DistillSharpException(
                $"{source} does not fit {model.Name} ({model.NumClasses} classes, {model.InChannels} input channels): {string.Join("; ", problems)}. " +
                $"Check --model and --classes against the network that was saved ('distill zoo' lists the networks; their keys follow RepDistiller, LONDON's code for the PyramidNets, and torchvision).");
        }
        using var _ = torch.no_grad();
        foreach (var (key, target) in expected)
        {
            if (sd.TryGetValue(key, out var value)) target.copy_(value);
            else target.zero_(); // num_batches_tracked of a file written before PyTorch 0.4.1
        }
    }

    private static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";

    private static string Names(List<string> keys) =>
        string.Join(", ", keys.Take(10).Select(k => $"'{k}'")) + (keys.Count > 10 ? $" and {keys.Count - 10} more" : "");
}
