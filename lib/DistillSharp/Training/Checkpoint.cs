using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DistillSharp.Distillers;
using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Training;

/// <summary>What a checkpoint says about itself, readable without loading any tensor.</summary>
/// <param name="Model">The zoo architecture of the trained network: the student, or for a method that builds its own
/// networks (peers, branches), the zoo name it builds them from.</param>
/// <param name="NumClasses">Its number of classes.</param>
/// <param name="InChannels">Its input channels.</param>
/// <param name="Dataset">The dataset it was trained on.</param>
/// <param name="Method">The method that trained it.</param>
/// <param name="Epoch">The last finished epoch (1-based).</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="TestTop1">Test top-1 (%) of the run's prediction after that epoch.</param>
public sealed record CheckpointHeader(string Model, int NumClasses, int InChannels, string Dataset, string Method, int Epoch, long Seed, double TestTop1)
{
    /// <summary>The input height and width the network was trained at.</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>Every method parameter's value (defaults included), so the method can be rebuilt as it was.</summary>
    public IReadOnlyDictionary<string, double> MethodParameters { get; init; } = new Dictionary<string, double>();

    /// <summary>N, the training-set size the method was built for (memory banks have one slot per sample).</summary>
    public long TrainCount { get; init; }

    /// <summary>The zoo name of the teacher, or null.</summary>
    public string? Teacher { get; init; }

    /// <summary>The method's predictions (<see cref="Distiller.PredictionNames"/>), the run's own first.</summary>
    public IReadOnlyList<string> Predictions { get; init; } = [Distiller.StudentPrediction];

    /// <summary>Whether the file holds a zoo student that can be loaded alone (as a teacher or for evaluation).</summary>
    public bool HasStudent { get; init; } = true;

    /// <summary>The metrics of epochs 1 to <see cref="Epoch"/>: the run's record as of this checkpoint.</summary>
    public IReadOnlyList<EpochMetrics> History { get; init; } = [];
}

/// <summary>
/// A run's state in one file: a header (JSON), then named sections — the zoo student's weights (TorchSharp's
/// state-dict format with PyTorch's key names), the method's own state (its other networks, projectors, memory banks),
/// the teacher's buffers when it trains in train mode, the optimizer's state (momentum buffers) and the random
/// generators' states — and last a SHA-256 of everything before it, verified on every read: a damaged file is an error
/// naming it, never a number. Files are written atomically (<see cref="AtomicFile"/>), so a crash mid-write keeps the
/// previous checkpoint.
/// </summary>
public static class Checkpoint
{
    private const string Magic = "DISTILLSHARP-CHECKPOINT";
    private const int FormatVersion = 2;
    private const int HashBytes = 32;

    private const string StudentSection = "student";
    private const string MethodSection = "method";
    private const string TeacherSection = "teacher-buffers";
    private const string OptimizerSection = "optimizer";
    private const string GeneratorSection = "generator";
    private const string MethodGeneratorSection = "method-generator";

    private static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Writes the checkpoint of <paramref name="distiller"/> after <paramref name="header"/>.Epoch.</summary>
    public static void Save(string path, CheckpointHeader header, Distiller distiller, optim.Optimizer? optimizer)
    {
        var sections = new List<(string Name, byte[] Bytes)>();
        if (distiller.Student is { } student) sections.Add((StudentSection, Bytes(w => student.save(w))));
        sections.Add((MethodSection, Bytes(w => distiller.save(w, StudentKeys(distiller)))));
        var teacherState = distiller.TeacherState();
        if (teacherState.Count > 0) sections.Add((TeacherSection, Bytes(w => WriteTensors(w, teacherState))));
        if (optimizer is TorchSharp.Modules.OptimizerHelper helper) sections.Add((OptimizerSection, Bytes(helper.save_state_dict)));
        sections.Add((GeneratorSection, Bytes(w => WriteState(w, torch.random.get_rng_state()))));
        if (distiller.RandomSource is { } source) sections.Add((MethodGeneratorSection, Bytes(w => WriteState(w, source.get_state()))));
        var body = Bytes(w =>
        {
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write(JsonSerializer.Serialize(header with { HasStudent = distiller.Student is not null }, Json));
            w.Write(sections.Count);
            foreach (var (name, bytes) in sections)
            {
                w.Write(name);
                w.Write((long)bytes.Length);
                w.Write(bytes);
            }
        });
        var hash = SHA256.HashData(body);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(body);
            stream.Write(hash);
        });
    }

    /// <summary>
    /// Writes a checkpoint that holds one zoo network and no training state (an imported teacher): the header and the
    /// student section, then the checksum. <see cref="LoadModel"/> reads it, so it serves as <c>--teacher</c> and for
    /// <c>distill eval</c>; it cannot resume a run.
    /// </summary>
    public static void SaveModel(string path, CheckpointHeader header, ZooModel model)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(model);
        var student = Bytes(w => model.save(w));
        var body = Bytes(w =>
        {
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write(JsonSerializer.Serialize(header with { HasStudent = true }, Json));
            w.Write(1);
            w.Write(StudentSection);
            w.Write((long)student.Length);
            w.Write(student);
        });
        var hash = SHA256.HashData(body);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(body);
            stream.Write(hash);
        });
    }

    /// <summary>Reads only the header (after verifying the whole file).</summary>
    public static CheckpointHeader ReadHeader(string path) => Read(path).Header;

    /// <summary>
    /// Restores the networks, the method's state, the teacher's buffers (for a teacher in train mode), the optimizer
    /// (when given; without one its state is skipped, as for evaluation) and the generators from
    /// <paramref name="path"/> into objects built with the same configuration; returns the header.
    /// </summary>
    public static CheckpointHeader Restore(string path, Distiller distiller, optim.Optimizer? optimizer)
    {
        var file = Read(path);
        Guard(path, () =>
        {
            if (distiller.Student is { } student) file.Load(StudentSection, r => student.load(r));
            else if (file.Header.HasStudent) throw new InvalidDataException("the file holds a zoo student but the method has none");
            // TorchSharp's strict mode counts the skipped student entries too; check the method's own keys here.
            var loaded = new Dictionary<string, bool>();
            file.Load(MethodSection, r => distiller.load(r, strict: false, skip: StudentKeys(distiller), loadedParameters: loaded));
            var missing = distiller.state_dict().Keys
                .Where(k => !k.StartsWith("student.", StringComparison.Ordinal) && !loaded.GetValueOrDefault(k)).ToArray();
            if (missing.Length > 0) throw new InvalidDataException($"no saved value for {string.Join(", ", missing)}");
            var teacherState = distiller.TeacherState();
            if (teacherState.Count > 0)
            {
                if (!file.Has(TeacherSection)) throw new InvalidDataException("the teacher runs in train mode but the file holds no teacher buffers");
                file.Load(TeacherSection, r => ReadTensors(r, teacherState));
            }
            if (optimizer is TorchSharp.Modules.OptimizerHelper helper)
            {
                if (!file.Has(OptimizerSection)) throw new InvalidDataException("the file holds no optimizer state");
                file.Load(OptimizerSection, helper.load_state_dict);
            }
            file.Load(GeneratorSection, r => torch.random.set_rng_state(ReadState(r)));
            if (distiller.RandomSource is { } source && file.Has(MethodGeneratorSection))
            {
                file.Load(MethodGeneratorSection, r => source.set_state(ReadState(r)));
            }
        });
        return file.Header;
    }

    /// <summary>
    /// Creates the zoo model recorded in the checkpoint and loads its weights (for teachers and evaluation). A
    /// checkpoint of a method without a single zoo student is an error that says so.
    /// </summary>
    public static (ZooModel Model, CheckpointHeader Header) LoadModel(string path)
    {
        var file = Read(path);
        var header = file.Header;
        if (!header.HasStudent || !file.Has(StudentSection))
        {
            throw new DistillSharpException(
                $"checkpoint {path} is a '{header.Method}' run whose networks are the method's own ({string.Join(", ", header.Predictions)}), " +
                "not one zoo network: evaluate it with 'distill eval', or use the checkpoint of a single network as a teacher.");
        }
        var model = ModelZoo.Create(header.Model, header.NumClasses, header.InChannels);
        Guard(path, () => file.Load(StudentSection, r => model.load(r)));
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
            throw new DistillSharpException($"run folder {pathOrRun} has no checkpoint at {last}; train it first with 'distill train'.");
        }
        throw new DistillSharpException($"'{pathOrRun}' is neither a checkpoint file nor a run folder; train one with 'distill train --model NAME --out runs/NAME'.");
    }

    /// <summary>The SHA-256 of a file (hex), to record which teacher a run used.</summary>
    public static string FileHash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string[] StudentKeys(Distiller distiller) =>
        distiller.state_dict().Keys.Where(k => k.StartsWith("student.", StringComparison.Ordinal)).ToArray();

    private sealed record CheckpointFile(string Path, CheckpointHeader Header, IReadOnlyDictionary<string, byte[]> Sections)
    {
        public bool Has(string name) => Sections.ContainsKey(name);

        public void Load(string name, Action<BinaryReader> read)
        {
            if (!Sections.TryGetValue(name, out var bytes)) throw new InvalidDataException($"no '{name}' section");
            using var reader = new BinaryReader(new MemoryStream(bytes, writable: false), Encoding.UTF8);
            read(reader);
            if (reader.BaseStream.Position != bytes.Length) throw new InvalidDataException($"section '{name}' was not read to its end");
        }
    }

    private static CheckpointFile Read(string path)
    {
        if (!File.Exists(path)) throw new DistillSharpException($"checkpoint {path} does not exist.");
        byte[] all;
        try
        {
            all = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new DistillSharpException($"checkpoint {path} cannot be read ({e.Message}).", e);
        }
        CheckpointFile? file = null;
        Guard(path, () =>
        {
            using var reader = new BinaryReader(new MemoryStream(all, writable: false), Encoding.UTF8);
            string magic;
            try
            {
                magic = reader.ReadString();
            }
            catch (Exception e) when (e is EndOfStreamException or FormatException)
            {
                throw new InvalidDataException("not a DistillSharp checkpoint");
            }
            if (magic != Magic) throw new InvalidDataException("not a DistillSharp checkpoint");
            int version = reader.ReadInt32();
            if (version == 1)
            {
                throw new InvalidDataException("format 1, written by an earlier DistillSharp without a checksum; train the run again with this build");
            }
            if (version != FormatVersion) throw new InvalidDataException($"checkpoint format {version}, this build reads {FormatVersion}");
            if (all.Length < HashBytes) throw new EndOfStreamException("file cut short");
            var expected = all.AsSpan(all.Length - HashBytes);
            var actual = SHA256.HashData(all.AsSpan(0, all.Length - HashBytes));
            if (!expected.SequenceEqual(actual))
            {
                throw new InvalidDataException("its SHA-256 checksum does not match its contents: the file is damaged or was cut short");
            }
            var header = JsonSerializer.Deserialize<CheckpointHeader>(reader.ReadString(), Json)
                ?? throw new InvalidDataException("empty header");
            int count = reader.ReadInt32();
            var sections = new Dictionary<string, byte[]>();
            for (int i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                long length = reader.ReadInt64();
                if (length < 0 || length > all.Length) throw new InvalidDataException($"section '{name}' has length {length}");
                sections[name] = reader.ReadBytes((int)length);
            }
            file = new CheckpointFile(path, header, sections);
        });
        return file!;
    }

    private static void Guard(string path, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or IOException or JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            throw new DistillSharpException(
                $"checkpoint {path} cannot be used: {e.Message}. Point to another checkpoint; a damaged run folder's " +
                "previous epochs are gone, so train it again into a new --out folder.", e);
        }
    }

    private static byte[] Bytes(Action<BinaryWriter> write)
    {
        using var memory = new MemoryStream();
        using (var writer = new BinaryWriter(memory, Encoding.UTF8, leaveOpen: true)) write(writer);
        return memory.ToArray();
    }

    private static void WriteTensors(BinaryWriter writer, IReadOnlyList<(string Name, Tensor Value)> tensors)
    {
        writer.Write(tensors.Count);
        foreach (var (name, value) in tensors)
        {
            writer.Write(name);
            value.Save(writer);
        }
    }

    private static void ReadTensors(BinaryReader reader, IReadOnlyList<(string Name, Tensor Value)> tensors)
    {
        int count = reader.ReadInt32();
        if (count != tensors.Count) throw new InvalidDataException($"{count} teacher buffers saved, the teacher has {tensors.Count}");
        foreach (var (name, value) in tensors)
        {
            var saved = reader.ReadString();
            if (saved != name) throw new InvalidDataException($"teacher buffer '{saved}' where '{name}' was expected");
            value.Load(reader);
        }
    }

    private static void WriteState(BinaryWriter writer, Tensor state)
    {
        var bytes = state.data<byte>().ToArray();
        writer.Write(bytes.Length);
        writer.Write(bytes);
        state.Dispose();
    }

    private static Tensor ReadState(BinaryReader reader)
    {
        int n = reader.ReadInt32();
        var bytes = reader.ReadBytes(n);
        if (bytes.Length != n) throw new EndOfStreamException("generator state cut short");
        return tensor(bytes, dtype: ScalarType.Byte);
    }
}
