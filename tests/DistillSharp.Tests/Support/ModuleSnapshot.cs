using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Support;

/// <summary>Copies of a module's state, to tell afterwards what a step changed.</summary>
internal static class ModuleSnapshot
{
    /// <summary>Every float32 entry of the state dict (parameters and running statistics), copied.</summary>
    public static Dictionary<string, float[]> State(nn.Module m) =>
        m.state_dict().Where(kv => kv.Value.dtype == ScalarType.Float32)
            .ToDictionary(kv => kv.Key, kv => kv.Value.data<float>().ToArray());

    /// <summary>Every int64 entry of the state dict (the batch norms' num_batches_tracked), copied.</summary>
    public static Dictionary<string, long[]> Counters(nn.Module m) =>
        m.state_dict().Where(kv => kv.Value.dtype == ScalarType.Int64)
            .ToDictionary(kv => kv.Key, kv => kv.Value.data<long>().ToArray());

    /// <summary>
    /// A teacher in eval mode after training: no gradient on any parameter, still in eval mode, and every parameter,
    /// running statistic and counter exactly as in <paramref name="stateBefore"/> and <paramref name="countersBefore"/>.
    /// </summary>
    public static void AssertEvalTeacherUnchanged(nn.Module teacher, Dictionary<string, float[]> stateBefore, Dictionary<string, long[]> countersBefore)
    {
        Assert.All(teacher.parameters(), p => Assert.Null(p.grad));
        Assert.False(teacher.training);
        var stateAfter = State(teacher);
        Assert.Equal(stateBefore.Keys.Order(), stateAfter.Keys.Order());
        Assert.Contains(stateBefore.Keys, k => k.EndsWith("running_mean", StringComparison.Ordinal));
        foreach (var key in stateBefore.Keys) Assert.True(stateBefore[key].SequenceEqual(stateAfter[key]), $"teacher {key} changed");
        var countersAfter = Counters(teacher);
        foreach (var key in countersBefore.Keys) Assert.Equal(countersBefore[key], countersAfter[key]);
    }
}
