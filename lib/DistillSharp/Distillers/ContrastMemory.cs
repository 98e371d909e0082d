using DistillSharp.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// CRD's momentum memory bank over the whole training set, one bank per side (RepDistiller's
/// <c>ContrastMemory</c>, with the same buffer names so its state can be exchanged): <c>memory_v1</c> holds
/// student embeddings, <c>memory_v2</c> teacher embeddings, and <c>params</c> = (K, τ, Z_v1, Z_v2, μ).
/// The student anchor is scored against teacher rows and the teacher anchor against student rows. CRD scores through
/// <see cref="Score"/>; WCoRD reads the rows (<see cref="Rows"/>) with its own critic and then calls <see cref="Update"/>.
/// </summary>
public sealed class ContrastMemory : nn.Module
{
    private const int ParamZ1 = 2;
    private const int ParamZ2 = 3;

    /// <summary>Creates the bank of <paramref name="numData"/> rows of <paramref name="dim"/>, each uniform in ±1/√(dim/3).</summary>
    public ContrastMemory(int dim, long numData, int negatives, double temperature, double momentum, Generator? generator = null)
        : base(nameof(ContrastMemory))
    {
        if (dim <= 0) throw new DistillSharpException($"CRD embedding dimension must be positive; got {dim}.");
        if (numData <= 1) throw new DistillSharpException($"CRD needs a training set of at least 2 samples; got {numData}.");
        if (negatives <= 0) throw new DistillSharpException($"CRD negatives (nce_k) must be positive; got {negatives}.");
        if (!(temperature > 0)) throw new DistillSharpException($"CRD temperature (nce_t) must be positive; got {temperature}.");
        if (!(momentum >= 0 && momentum < 1)) throw new DistillSharpException($"CRD momentum (nce_m) must be in [0, 1); got {momentum}.");
        Dim = dim;
        NumData = numData;
        Negatives = negatives;
        Temperature = temperature;
        Momentum = momentum;
        double stdv = 1.0 / Math.Sqrt(dim / 3.0);
        // Buffers are looked up by name on use (not held in fields), so they follow the module across devices.
        register_buffer("params", tensor(new float[] { negatives, (float)temperature, -1, -1, (float)momentum }));
        register_buffer("memory_v1", rand(new long[] { numData, dim }, generator: generator) * (2 * stdv) - stdv);
        register_buffer("memory_v2", rand(new long[] { numData, dim }, generator: generator) * (2 * stdv) - stdv);
    }

    /// <summary>Embedding dimension D.</summary>
    public int Dim { get; }
    /// <summary>N, the number of training samples (rows per bank).</summary>
    public long NumData { get; }
    /// <summary>K, negatives per positive.</summary>
    public int Negatives { get; }
    /// <summary>τ.</summary>
    public double Temperature { get; }
    /// <summary>μ, the memory momentum.</summary>
    public double Momentum { get; }

    /// <summary>The student-side bank [N, D].</summary>
    public Tensor StudentMemory => get_buffer("memory_v1")!;
    /// <summary>The teacher-side bank [N, D].</summary>
    public Tensor TeacherMemory => get_buffer("memory_v2")!;

    private Tensor Params => get_buffer("params")!;

    /// <summary>The normalisation constants (Z_v1, Z_v2); negative until the first forward sets them.</summary>
    public (double Student, double Teacher) NormalizationConstants
    {
        get
        {
            var p = Params.cpu().data<float>();
            return (p[ParamZ1], p[ParamZ2]);
        }
    }

    /// <summary>
    /// Scores both anchors against the other side's rows at <paramref name="contrastIndices"/> and then moves
    /// the positives' slots toward the new embeddings (<see cref="ContrastiveRepresentation.MomentumUpdate"/>).
    /// Returns (P_s, P_t): the student anchor against teacher rows and the teacher anchor against student rows,
    /// each [B, K + 1] and divided by its Z.
    /// </summary>
    /// <param name="studentEmbedding">v1, unit rows [B, D].</param>
    /// <param name="teacherEmbedding">v2, unit rows [B, D].</param>
    /// <param name="indices">The positives' dataset indices [B].</param>
    /// <param name="contrastIndices">[B, K + 1], column 0 equal to <paramref name="indices"/>.</param>
    public (Tensor Student, Tensor Teacher) Score(Tensor studentEmbedding, Tensor teacherEmbedding, Tensor indices, Tensor contrastIndices)
    {
        using var scope = NewDisposeScope();
        var (studentRows, teacherRows) = Rows(contrastIndices);
        var hStudent = ContrastiveRepresentation.Scores(teacherRows, studentEmbedding, Temperature);
        var hTeacher = ContrastiveRepresentation.Scores(studentRows, teacherEmbedding, Temperature);

        var (z1, z2) = NormalizationConstants;
        using (no_grad())
        {
            if (z1 < 0)
            {
                z1 = ContrastiveRepresentation.NormalizationConstant(hStudent, NumData);
                Params[ParamZ1] = z1;
            }
            if (z2 < 0)
            {
                z2 = ContrastiveRepresentation.NormalizationConstant(hTeacher, NumData);
                Params[ParamZ2] = z2;
            }
        }
        Update(indices, studentEmbedding, teacherEmbedding);
        var pStudent = (hStudent / z1).MoveToOuterDisposeScope();
        var pTeacher = (hTeacher / z2).MoveToOuterDisposeScope();
        return (pStudent, pTeacher);
    }

    /// <summary>
    /// The rows of both banks at <paramref name="contrastIndices"/> [B, K + 1]: (student bank, teacher bank), each
    /// [B, K + 1, D], copies without gradient (WCoRD scores them with its own critic).
    /// </summary>
    public (Tensor Student, Tensor Teacher) Rows(Tensor contrastIndices)
    {
        long batch = contrastIndices.shape[0];
        long columns = contrastIndices.shape[1];
        using var scope = NewDisposeScope();
        var flat = contrastIndices.reshape(-1);
        var studentRows = StudentMemory.index_select(0, flat).view(batch, columns, Dim);
        var teacherRows = TeacherMemory.index_select(0, flat).view(batch, columns, Dim);
        return (studentRows.MoveToOuterDisposeScope(), teacherRows.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Moves the slots <paramref name="indices"/> of both banks toward the new embeddings,
    /// <c>m ← normalize(μ·m + (1 − μ)·e)</c> (<see cref="ContrastiveRepresentation.MomentumUpdate"/>), under no_grad.
    /// Call it after scoring: the batch is scored against the banks as they were.
    /// </summary>
    public void Update(Tensor indices, Tensor studentEmbedding, Tensor teacherEmbedding)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        UpdateSlots(StudentMemory, indices, studentEmbedding);
        UpdateSlots(TeacherMemory, indices, teacherEmbedding);
    }

    private void UpdateSlots(Tensor memory, Tensor indices, Tensor embeddings)
    {
        var updated = ContrastiveRepresentation.MomentumUpdate(memory.index_select(0, indices), embeddings, Momentum);
        memory.index_copy_(0, indices, updated);
    }
}
