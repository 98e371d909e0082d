namespace DistillSharp.Tests.Support;

/// <summary>
/// Tests that seed libtorch's global generator and train: they run one at a time, so that no other test draws
/// from the generator between a seed and the weights it should determine. (The whole suite now runs one test at a
/// time, SerialTests.cs; this collection keeps that requirement stated where it comes from.)
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TrainingCollection
{
    public const string Name = "training (global RNG)";
}
