using DistillSharp.Data;
using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// The base of every method: holds the student, the teacher (if any) and the method's own trainable parts
/// (projectors, critics, memory banks, registered as child modules by the subclass), and turns a batch into
/// named loss terms (<see cref="DistillationStep"/>).
/// </summary>
/// <remarks>
/// The teacher is deliberately not a registered child: it is not in <see cref="nn.Module.parameters"/>, so the
/// optimizer and its weight decay never see it, and it is not in this module's state (a run's checkpoint holds
/// the student and the method's parts; the teacher has its own checkpoint). Gradients are not computed for it,
/// and it stays in eval mode unless the method asks otherwise (<see cref="TeacherInTrainMode"/>).
/// </remarks>
public abstract class Distiller : nn.Module
{
    private readonly ZooModel student;
    private readonly ZooModel? teacher;

    /// <summary>Registers the student as child <c>student</c> and freezes the teacher.</summary>
    protected Distiller(string name, ZooModel student, ZooModel? teacher) : base(name)
    {
        this.student = student;
        this.teacher = teacher;
        register_module("student", student);
        if (teacher is not null)
        {
            foreach (var p in teacher.parameters()) p.requires_grad = false;
            SetTeacherMode();
        }
    }

    /// <summary>The registry name of the method.</summary>
    public abstract string Method { get; }

    /// <summary>The network being trained.</summary>
    public ZooModel Student => student;

    /// <summary>The frozen teacher, or null.</summary>
    public ZooModel? Teacher => teacher;

    /// <summary>
    /// Whether the teacher runs in train mode (batch statistics in its BatchNorm layers) during training, as
    /// OFD and LONDON do. It is never optimized either way. Default: false (eval mode, as RepDistiller).
    /// </summary>
    public virtual bool TeacherInTrainMode => false;

    /// <summary>The training forward: student logits and the weighted loss terms for one batch.</summary>
    public abstract DistillationStep TrainingStep(Batch batch);

    /// <summary>The logits used for evaluation (the student's, unless the method says otherwise).</summary>
    public virtual Tensor Predict(Tensor images) => student.forward(images).Logits;

    /// <summary>Called before each epoch (1-based) with the total, for methods with ramp-ups. Default: nothing.</summary>
    public virtual void BeginEpoch(int epoch, int totalEpochs) { }

    /// <summary>
    /// A generator for the method's own random draws (e.g. negatives), seeded from the run and saved in checkpoints;
    /// null when the method draws nothing.
    /// </summary>
    public virtual Generator? RandomSource => null;

    /// <summary>Runs the teacher without gradients. Its outputs are constants for the student's loss.</summary>
    protected ModelOutput TeacherForward(Tensor images, string method)
    {
        var t = teacher ?? throw new DistillSharpException($"method '{method}' needs a teacher: pass --teacher.");
        using var guard = no_grad();
        return t.forward(images);
    }

    /// <summary>Sets training mode on the student and the method's parts; the teacher follows <see cref="TeacherInTrainMode"/>.</summary>
    public override void train(bool on = true)
    {
        base.train(on);
        SetTeacherMode(on);
    }

    /// <summary>Moves the student, the method's parts and the teacher to <paramref name="device"/>.</summary>
    public Distiller MoveTo(Device device)
    {
        this.to(device);
        teacher?.to(device);
        return this;
    }

    private void SetTeacherMode(bool training = true)
    {
        if (teacher is null) return;
        if (training && TeacherInTrainMode) teacher.train(); else teacher.eval();
    }

    /// <summary>Cross-entropy with the labels, weighted: the supervised term every method keeps.</summary>
    protected static Tensor CrossEntropy(Tensor logits, Tensor labels) => nn.functional.cross_entropy(logits, labels);
}
