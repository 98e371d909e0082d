using DistillSharp.Data;
using DistillSharp.Models;
using DistillSharp.Training;

namespace DistillSharp.Weights;

/// <summary>What <see cref="TeacherImport.Import"/> wrote.</summary>
/// <param name="Checkpoint">The checkpoint file (inside the run folder when one was asked for).</param>
/// <param name="Format">The source file's format.</param>
/// <param name="Model">The zoo network.</param>
/// <param name="NumClasses">Its classes.</param>
/// <param name="Dataset">The dataset it was checked against and is recorded for.</param>
/// <param name="Tensors">Tensors read.</param>
public sealed record ImportedTeacher(string Checkpoint, PyTorchFormat Format, string Model, int NumClasses, string Dataset, int Tensors);

/// <summary>
/// Imports a PyTorch checkpoint (<see cref="PyTorchCheckpoint"/>) into a zoo network and saves it as a DistillSharp
/// checkpoint (<see cref="Training.Checkpoint.SaveModel"/>), usable as <c>--teacher</c>: the file's classes are read
/// from its classifier, checked against <c>--classes</c> when given and, with the input size of the network, against
/// the dataset (<see cref="ModelDataFit"/>) before any tensor is copied.
/// </summary>
public static class TeacherImport
{
    /// <summary>The method name recorded in an imported checkpoint's header.</summary>
    public const string MethodName = "pytorch-import";

    /// <summary>Imports <paramref name="source"/>.</summary>
    /// <param name="source">A PyTorch checkpoint (zip, legacy, a dict with model/state_dict/net, or .safetensors).</param>
    /// <param name="model">The zoo name of the network that was saved.</param>
    /// <param name="classes">Its classes, or null to take them from the file's classifier.</param>
    /// <param name="dataset">The dataset it is for, or null: CIFAR-100 for the CIFAR networks, ImageNet for the *_imagenet ones.</param>
    /// <param name="output">A checkpoint path ending in .ckpt, or a run folder (its checkpoints/last.ckpt is written).</param>
    /// <exception cref="DistillSharpException">Unreadable or refused file, unknown model, a key or shape that does not fit, or a dataset that does not fit.</exception>
    public static ImportedTeacher Import(string source, string model, int? classes, string? dataset, string output)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(output);
        var format = PyTorchCheckpoint.DetectFormat(source);
        var state = PyTorchCheckpoint.ReadStateDict(source);
        try
        {
            string classifierKey;
            using (var probe = ModelZoo.Create(model, 1)) classifierKey = StateDictExport.ClassifierWeightKey(probe);
            int fileClasses = StateDictImport.ClassesIn(state, classifierKey)
                ?? throw new DistillSharpException($"{source} has no '{classifierKey}' (the classifier of {model}): is it a {model}? ('distill zoo' lists the networks)");
            if (classes is int c && c != fileClasses)
            {
                throw new DistillSharpException($"--classes {c}, but {source}'s classifier '{classifierKey}' has {fileClasses} outputs.");
            }
            var name = dataset ?? (model.EndsWith("_imagenet", StringComparison.Ordinal) ? "imagenet" : "cifar100");
            var info = DatasetCatalog.Info(name);
            using var net = ModelZoo.Create(model, fileClasses, info.Channels);
            ModelDataFit.Check($"checkpoint {source}", model, fileClasses, info.Channels, info, null,
                "name the dataset it was trained on with --dataset, or the network with --model");
            StateDictImport.Load(net, state, source);
            var path = output.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase) ? output : new RunFolder(output).LastCheckpoint;
            var header = new CheckpointHeader(model, fileClasses, info.Channels, info.Name, MethodName, 0, 0, double.NaN)
            {
                ImageSize = net.ImageSize,
            };
            Checkpoint.SaveModel(path, header, net);
            return new ImportedTeacher(path, format, model, fileClasses, info.Name, state.Count);
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    /// <summary>Writes the network of a run folder or checkpoint as a PyTorch state dict (<see cref="StateDictExport"/>).</summary>
    /// <exception cref="DistillSharpException">No such run or checkpoint, a checkpoint without a single zoo network, or an unwritable file.</exception>
    public static CheckpointHeader Export(string runOrCheckpoint, string file)
    {
        var path = Checkpoint.ResolveTeacher(runOrCheckpoint);
        var (model, header) = Checkpoint.LoadModel(path);
        using (model) StateDictExport.Save(model, file);
        return header;
    }
}
