using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Models;

/// <summary>
/// The multi-branch network against the zoo network it is built from: the trunk's parameters exist once and each
/// branch has its own copy of the last stage and classifier (names and counts from the zoo network's own state), one
/// branch on the trunk computes exactly the zoo network, and a branch's logits send gradients to the trunk and to that
/// branch only.
/// </summary>
public sealed class MultiBranchNetworkTests
{
    // The zoo's parts, by the first segment of their names, and what each becomes in the multi-branch network.
    private static readonly Dictionary<string, string> ResNetBranchParts = new() { ["layer3"] = "layer3_{0}", ["fc"] = "classifier3_{0}" };
    private static readonly Dictionary<string, string> WideBranchParts = new() { ["block3"] = "block3_{0}", ["bn1"] = "bn1_{0}", ["fc"] = "classifier3_{0}" };

    private static string Mapped(string zooName, Dictionary<string, string> parts, int branch)
    {
        int dot = zooName.IndexOf('.');
        string head = zooName[..dot];
        return parts.TryGetValue(head, out var pattern) ? string.Format(pattern, branch) + zooName[dot..] : zooName;
    }

    private static bool IsBranchPart(string zooName, Dictionary<string, string> parts) => parts.ContainsKey(zooName[..zooName.IndexOf('.')]);

    [Theory]
    [InlineData("resnet32", 3)]
    [InlineData("resnet8x4", 2)]
    [InlineData("wrn_16_2", 4)]
    public void TheTrunkExistsOnceAndEachBranchHasItsOwnLastStageAndClassifier(string zooName, int branches)
    {
        using var zoo = ModelZoo.Create(zooName, 10, 3);
        using var net = MultiBranchNetwork.FromZoo(zoo, branches);
        var parts = net.IsWide ? WideBranchParts : ResNetBranchParts;
        var zooState = zoo.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        var expected = new Dictionary<string, long[]>();
        foreach (var (name, shape) in zooState)
        {
            if (IsBranchPart(name, parts))
            {
                for (int i = 0; i < branches; i++) expected[Mapped(name, parts, i)] = shape;
            }
            else
            {
                expected[name] = shape;
            }
        }
        var state = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        Assert.Equal(expected.Keys.Order(), state.Keys.Order());
        foreach (var (name, shape) in expected) Assert.Equal(shape, state[name]);

        // Parameter counts: trunk once, the zoo's last stage and classifier once per branch, every tensor its own.
        var zooParams = zoo.named_parameters().ToArray();
        long trunk = zooParams.Where(p => !IsBranchPart(p.name, parts)).Sum(p => p.parameter.numel());
        long branch = zooParams.Where(p => IsBranchPart(p.name, parts)).Sum(p => p.parameter.numel());
        var all = net.parameters().ToArray();
        Assert.Equal(trunk + branches * branch, all.Sum(p => p.numel()));
        Assert.Equal(all.Length, all.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal(trunk, net.TrunkParameters().Sum(p => p.numel()));
        var seen = new HashSet<object>(net.TrunkParameters(), ReferenceEqualityComparer.Instance);
        for (int i = 0; i < branches; i++)
        {
            Assert.Equal(branch, net.BranchParameters(i).Sum(p => p.numel()));
            foreach (var p in net.BranchParameters(i)) Assert.True(seen.Add(p), $"a parameter of branch {i} belongs elsewhere too");
        }
        Assert.Equal(all.Length, seen.Count);
        Assert.Equal(branches, net.Classifiers.Count);
        Assert.All(net.Classifiers, c => Assert.Equal(new long[] { 10, net.BranchChannels }, c.weight!.shape));
        Assert.Equal(zoo.FeatureChannels[2], net.SharedChannels);
        Assert.Equal(zoo.PooledSize, net.BranchChannels);
    }

    [Theory]
    [InlineData("resnet8")]
    [InlineData("wrn_16_1")]
    public void OneBranchOnTheTrunkComputesTheZooNetwork(string zooName)
    {
        using var scope = NewDisposeScope();
        var zoo = ModelZoo.Create(zooName, 7, 3);
        var net = MultiBranchNetwork.FromZoo(zoo, 1);
        var parts = net.IsWide ? WideBranchParts : ResNetBranchParts;
        var target = net.state_dict();
        using (no_grad())
        {
            foreach (var (name, value) in zoo.state_dict()) target[Mapped(name, parts, 0)].copy_(value);
        }
        zoo.eval();
        net.eval();
        using var gen = new Generator(2);
        var x = randn(new long[] { 3, 3, 32, 32 }, generator: gen);
        using var guard = no_grad();
        var expected = zoo.forward(x);
        var actual = net.forward(x);
        Assert.True((expected.Logits - actual.Logits[0]).abs().max().item<float>() < 1e-5);
        Assert.True((expected.Features[2] - actual.Shared).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void ABranchsLogitsReachTheTrunkAndThatBranchOnly()
    {
        using var scope = NewDisposeScope();
        var net = MultiBranchNetwork.FromZoo(ModelZoo.Create("resnet8", 5, 1), 3);
        net.train();
        using var gen = new Generator(4);
        var output = net.forward(randn(new long[] { 4, 1, 32, 32 }, generator: gen));
        Assert.Equal(3, output.Logits.Count);
        Assert.Equal(3, output.Maps.Count);
        (output.Logits[1] * output.Logits[1]).sum().backward();
        static bool Reached(TorchSharp.Modules.Parameter p) => p.grad is not null && p.grad.abs().sum().item<float>() > 0;
        Assert.All(net.TrunkParameters(), p => Assert.True(Reached(p)));
        Assert.All(net.BranchParameters(1), p => Assert.True(Reached(p)));
        foreach (int other in new[] { 0, 2 }) Assert.All(net.BranchParameters(other), p => Assert.False(Reached(p)));
    }

    [Fact]
    public void OtherFamiliesAreRefusedByName()
    {
        using var vgg = ModelZoo.Create("vgg8", 10, 3);
        var e = Assert.Throws<DistillSharpException>(() => MultiBranchNetwork.FromZoo(vgg, 3));
        Assert.Contains("'vgg8'", e.Message);
        using var resnet = ModelZoo.Create("resnet8", 10, 3);
        Assert.Throws<DistillSharpException>(() => MultiBranchNetwork.FromZoo(resnet, 0));
    }
}
