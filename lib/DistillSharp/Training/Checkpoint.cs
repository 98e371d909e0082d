using System.Text;
using System.Text.Json;
using DistillSharp.Distillers;
using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Training;

/// <summary>What a checkpoint says about itself, readable without loading any tensor.</summary>
/// <param name="Model">The student's zoo name.</param>
/// <param name="NumClasses">Its number of classes.</param>
/// <param name="InChannels">Its input channels.</param>
/// <param name="Dataset">The dataset it was trained on.</param>
/// <param name="Method">The method that trained it.</param>
/// <param name="Epoch">The last finished epoch (1-based).</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="TestTop1">Test top-1 (%) after that epoch.</param>
public sealed record CheckpointHeader(string Model, int NumClasses, int InChannels, string Dataset, string Method, int Epoch, long Seed, double TestTop1);

/// <summary>
/// A run's state in one file: a header (JSON), the student's weights, the method's own state (projectors,
/// memory banks; without the student), the optimizer's state (momentum buffers) and the random generators'
/// states. The student section uses TorchSharp's state-dict format with PyTorch's key names. Files are written
/// atomically (<see cref="AtomicFile"/>), so a crash mid-write keeps the previous checkpoint.
/// </summary>
public static class Checkpoint
{
    private const string Magic = "DISTILLSHARP-CHECKPOINT";
    private const int FormatVersion = 1;

    /// <summary>Writes the checkpoint of <paramref name="distiller"/> after <paramref name="header"/>.Epoch.</summary>
    public static void Save(string path, CheckpointHeader header, Distiller distiller, optim.Optimizer? optimizer)
    {
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(JsonSerializer.Serialize(header));
            distiller.Student.save(writer);
            distiller.save(writer, StudentKeys(distiller));
            writer.Write(optimizer is not null);
            if (optimizer is TorchSharp.Modules.OptimizerHelper helper) helper.save_state_dict(writer);
            WriteBytes(writer, torch.random.get_rng_state());
            var source = distiller.RandomSource;
            writer.Write(source is not null);
            if (source is not null) WriteBytes(writer, source.get_state());
        });
    }

    /// <summary>Reads only the header.</summary>
    public static CheckpointHeader ReadHeader(string path)
    {
        using var reader = Open(path);
        return ReadHeader(reader, path);
    }

    /// <summary>
    /// Restores the student, the method's state, the optimizer and the generators from <paramref name="path"/>
    /// into objects built with the same configuration; returns the header.
    /// </summary>
    public static CheckpointHeader Restore(string path, Distiller distiller, optim.Optimizer? optimizer)
    {
        using var reader = Open(path);
        var header = ReadHeader(reader, path);
        Guard(path, () =>
        {
            distiller.Student.load(reader);
            // TorchSharp's strict mode counts the skipped student entries too; check the method's own keys here.
            var loaded = new Dictionary<string, bool>();
            distiller.load(reader, strict: false, skip: StudentKeys(distiller), loadedParameters: loaded);
            var missing = distiller.state_dict().Keys
                .Where(k => !k.StartsWith("student.", StringComparison.Ordinal) && !loaded.GetValueOrDefault(k)).ToArray();
            if (missing.Length > 0) throw new InvalidDataException($"no saved value for {string.Join(", ", missing)}");
            bool hasOptimizer = reader.ReadBoolean();
            if (hasOptimizer && optimizer is TorchSharp.Modules.OptimizerHelper helper) helper.load_state_dict(reader);
            else if (hasOptimizer) throw new InvalidDataException("optimizer state present but no optimizer given");
            torch.random.set_rng_state(ReadBytes(reader));
            if (reader.ReadBoolean())
            {
                var state = ReadBytes(reader);
                distiller.RandomSource?.set_state(state);
            }
        });
        return header;
    }

    /// <summary>Creates the zoo model recorded in the checkpoint and loads its weights (for teachers and evaluation).</summary>
    public static (ZooModel Model, CheckpointHeader Header) LoadModel(string path)
    {
        using var reader = Open(path);
        var header = ReadHeader(reader, path);
        var model = ModelZoo.Create(header.Model, header.NumClasses, header.InChannels);
        Guard(path, () => model.load(reader));
        return (model, header);
    }

    /// <summary>
    /// The checkpoint a teacher argument names: a checkpoint file, or a run folder (its <c>checkpoints/last.ckpt</c>,
    /// the final weights: choosing the best-on-test epoch would select on the test set).
    /// </summary>
    public static string ResolveTeacher(string pathOrRun)
    {
        if (File.Exists(pathOrRun)) return pathOrRun;
        if (Directory.Exists(pathOrRun))
        {
            var last = new RunFolder(pathOrRun).LastCheckpoint;
            if (File.Exists(last)) return last;
            throw new DistillSharpException($"teacher run folder {pathOrRun} has no checkpoint at {last}; train it first with 'distill train'.");
        }
        throw new DistillSharpException($"teacher '{pathOrRun}' is neither a checkpoint file nor a run folder; train one with 'distill train --model NAME --out runs/NAME'.");
    }

    private static string[] StudentKeys(Distiller distiller) =>
        distiller.state_dict().Keys.Where(k => k.StartsWith("student.", StringComparison.Ordinal)).ToArray();

    private static BinaryReader Open(string path)
    {
        if (!File.Exists(path)) throw new DistillSharpException($"checkpoint {path} does not exist.");
        return new BinaryReader(File.OpenRead(path), Encoding.UTF8, leaveOpen: false);
    }

    private static CheckpointHeader ReadHeader(BinaryReader reader, string path)
    {
        CheckpointHeader? header = null;
        Guard(path, () =>
        {
            if (reader.ReadString() != Magic) throw new InvalidDataException("not a DistillSharp checkpoint");
            int version = reader.ReadInt32();
            if (version != FormatVersion) throw new InvalidDataException($"checkpoint format {version}, this build reads {FormatVersion}");
            header = JsonSerializer.Deserialize<CheckpointHeader>(reader.ReadString());
        });
        return header ?? throw new DistillSharpException($"checkpoint {path} has an empty header.");
    }

    private static void Guard(string path, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or IOException or JsonException or ArgumentException or InvalidOperationException)
        {
            throw new DistillSharpException(
                $"checkpoint {path} is truncated, corrupt or from another configuration ({e.Message}); " +
                "delete it and rerun, or point to another checkpoint.", e);
        }
    }

    private static void WriteBytes(BinaryWriter writer, Tensor state)
    {
        var bytes = state.data<byte>().ToArray();
        writer.Write(bytes.Length);
        writer.Write(bytes);
        state.Dispose();
    }

    private static Tensor ReadBytes(BinaryReader reader)
    {
        int n = reader.ReadInt32();
        var bytes = reader.ReadBytes(n);
        if (bytes.Length != n) throw new EndOfStreamException("generator state cut short");
        return tensor(bytes, dtype: ScalarType.Byte);
    }
}
