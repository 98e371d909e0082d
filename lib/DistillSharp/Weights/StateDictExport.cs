using System.Collections.Specialized;
using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Weights;

/// <summary>
/// Writes a zoo model's state dict as a <c>torch.save</c> zip file (through TorchSharp.PyBridge's pickler): keys in
/// PyTorch's <c>state_dict</c> order with the reference definitions' names, every tensor contiguous on the CPU, so
/// <c>model.load_state_dict(torch.load(path))</c> loads it into the RepDistiller or torchvision definition.
/// </summary>
public static class StateDictExport
{
    /// <summary>Writes <paramref name="model"/>'s parameters and buffers to <paramref name="path"/> (atomically).</summary>
    /// <exception cref="DistillSharpException">The file cannot be written.</exception>
    public static void Save(ZooModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        var copies = new List<Tensor>();
        try
        {
            var state = new OrderedDictionary();
            using (torch.no_grad())
            {
                foreach (var (key, value) in model.OrderedStateDict())
                {
                    // The scope holds the temporaries until the clone exists (an unreferenced one can be finalized mid-call).
                    Tensor copy;
                    using (var scope = torch.NewDisposeScope()) copy = scope.MoveToOuter(value.detach().cpu().contiguous().clone());
                    copies.Add(copy);
                    state[key] = copy;
                }
            }
            Training.AtomicFile.Write(path, stream => TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(stream, state, leaveOpen: true));
        }
        catch (IOException e)
        {
            throw new DistillSharpException($"cannot write {path}: {e.Message}", e);
        }
        finally
        {
            foreach (var t in copies) t.Dispose();
        }
    }

    /// <summary>The state-dict key of <paramref name="model"/>'s classifier weight (e.g. <c>fc.weight</c>, <c>linear.weight</c>).</summary>
    public static string ClassifierWeightKey(ZooModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (name, module) in model.named_modules())
        {
            if (ReferenceEquals(module, model.Classifier)) return name + ".weight";
        }
        throw new InvalidOperationException($"{model.Name}'s classifier is not one of its modules");
    }
}
