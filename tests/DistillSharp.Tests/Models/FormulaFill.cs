using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Models;

/// <summary>
/// The deterministic weights and input of tests/reference/zoo_reference.py (see its formula_fill): entries in
/// PyTorch state_dict order, k the entry's position, i the flat element index, s = sin(0.37 i + 1.3 k);
/// running_var 1 + 0.5|s|, running_mean 0.1 s, 1-d weight 1 + 0.25 s, other 1-d 0.1 s, weights of two or more
/// dimensions s / sqrt(fan_in); num_batches_tracked untouched; input sin(0.1 i). Computed in float64.
/// </summary>
internal static class FormulaFill
{
    public static void Apply(ZooModel model) => Apply(model.OrderedStateDict());

    /// <summary>The state of any module in PyTorch's state_dict order (own parameters, own buffers, then children).</summary>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> Ordered(torch.nn.Module module)
    {
        var entries = new List<KeyValuePair<string, Tensor>>();
        Collect(module, "", entries);
        return entries;
    }

    private static void Collect(torch.nn.Module module, string prefix, List<KeyValuePair<string, Tensor>> entries)
    {
        foreach (var (name, parameter) in module.named_parameters(false)) entries.Add(new(prefix + name, parameter));
        foreach (var (name, buffer) in module.named_buffers(false)) entries.Add(new(prefix + name, buffer));
        foreach (var (name, child) in module.named_children()) Collect(child, prefix + name + ".", entries);
    }

    /// <summary>The fill of <paramref name="entries"/>, k being each entry's position in the list.</summary>
    public static void Apply(IReadOnlyList<KeyValuePair<string, Tensor>> entries)
    {
        using var noGrad = torch.no_grad();
        for (var k = 0; k < entries.Count; k++)
        {
            var (key, tensor) = (entries[k].Key, entries[k].Value);
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
            using var scope = torch.NewDisposeScope();
            var n = tensor.numel();
            var s = (torch.arange(n, dtype: ScalarType.Float64) * 0.37 + 1.3 * k).sin();
            Tensor values;
            if (key.EndsWith("running_var", StringComparison.Ordinal)) values = 1.0 + 0.5 * s.abs();
            else if (key.EndsWith("running_mean", StringComparison.Ordinal)) values = 0.1 * s;
            else if (tensor.dim() == 1 && key.EndsWith("weight", StringComparison.Ordinal)) values = 1.0 + 0.25 * s;
            else if (tensor.dim() == 1) values = 0.1 * s;
            else values = 1.0 / Math.Sqrt((double)n / tensor.shape[0]) * s;
            tensor.copy_(values.reshape(tensor.shape).to(tensor.dtype));
        }
    }

    public static Tensor Input(long[] shape)
    {
        var n = shape.Aggregate(1L, (a, b) => a * b);
        return (torch.arange(n, dtype: ScalarType.Float64) * 0.1).sin().reshape(shape).to(ScalarType.Float32);
    }
}
