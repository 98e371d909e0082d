using DistillSharp.Losses;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// CRD's embedding head (RepDistiller's <c>Embed</c>): flatten, a linear map to the contrast dimension, then L2
/// normalisation, <c>e = W x / ‖W x‖₂</c>. Parameter names <c>linear.weight</c>, <c>linear.bias</c> as there.
/// </summary>
/// <remarks>
/// With <c>spectralNorm</c> (WCoRD's Lipschitz critic, Miyato et al., ICLR 2018) the map is <c>W / σ(W)</c>, σ the
/// largest singular value estimated by power iteration as PyTorch's <c>spectral_norm</c> does: buffers
/// <c>weight_u</c> [out] and <c>weight_v</c> [in] hold the singular vectors; each training-mode forward runs one
/// iteration <c>v ← normalize(Wᵀ u)</c>, <c>u ← normalize(W v)</c> without gradient, and <c>σ = uᵀ W v</c> carries the
/// gradient with respect to W. Construction runs 15 iterations from a random start, so σ is accurate from the first
/// step. The linear part is then 1-Lipschitz.
/// </remarks>
public sealed class ContrastEmbedding : nn.Module<Tensor, Tensor>
{
    private const double NormFloor = 1e-12;
    private const int InitialIterations = 15;

#pragma warning disable IDE1006 // names follow the PyTorch state_dict keys
    private readonly Linear linear;
#pragma warning restore IDE1006

    /// <summary>Creates the head from <paramref name="inputDim"/> to <paramref name="outputDim"/>, optionally spectrally normalised.</summary>
    public ContrastEmbedding(int inputDim, int outputDim, bool spectralNorm = false) : base(nameof(ContrastEmbedding))
    {
        linear = nn.Linear(inputDim, outputDim);
        register_module("linear", linear);
        SpectralNorm = spectralNorm;
        if (spectralNorm)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var u = Normalize(randn(outputDim));
            var v = Normalize(randn(inputDim));
            for (int i = 0; i < InitialIterations; i++) (u, v) = PowerIteration(linear.weight!, u);
            register_buffer("weight_u", u.MoveToOuterDisposeScope());
            register_buffer("weight_v", v.MoveToOuterDisposeScope());
        }
    }

    /// <summary>Whether the linear map is divided by its largest singular value.</summary>
    public bool SpectralNorm { get; }

    /// <summary>The weight the head applies: W, or W / σ(W) with the current singular vectors (no iteration).</summary>
    public Tensor EffectiveWeight()
    {
        if (!SpectralNorm) return linear.weight!.alias();
        using var scope = NewDisposeScope();
        var w = linear.weight!;
        var sigma = get_buffer("weight_u")!.dot(w.mv(get_buffer("weight_v")!));
        return (w / sigma).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var flat = input.view(input.shape[0], -1);
        Tensor x;
        if (SpectralNorm)
        {
            if (training)
            {
                using var noGrad = no_grad();
                var (u, v) = PowerIteration(linear.weight!, get_buffer("weight_u")!);
                get_buffer("weight_u")!.copy_(u);
                get_buffer("weight_v")!.copy_(v);
            }
            x = nn.functional.linear(flat, EffectiveWeight(), linear.bias);
        }
        else
        {
            x = linear.forward(flat);
        }
        return ContrastiveRepresentation.L2Normalize(x).MoveToOuterDisposeScope();
    }

    private static (Tensor U, Tensor V) PowerIteration(Tensor w, Tensor u)
    {
        var v = Normalize(w.t().mv(u));
        return (Normalize(w.mv(v)), v);
    }

    private static Tensor Normalize(Tensor x) => x / x.norm().clamp_min(NormFloor);
}
