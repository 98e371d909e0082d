using DistillSharp.Losses;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Distillers;

/// <summary>
/// CRD's embedding head (RepDistiller's <c>Embed</c>): flatten, a linear map to the contrast dimension, then L2
/// normalisation, <c>e = W x / ‖W x‖₂</c>. Parameter names <c>linear.weight</c>, <c>linear.bias</c> as there.
/// </summary>
public sealed class ContrastEmbedding : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names follow the PyTorch state_dict keys
    private readonly Linear linear;
#pragma warning restore IDE1006

    /// <summary>Creates the head from <paramref name="inputDim"/> to <paramref name="outputDim"/>.</summary>
    public ContrastEmbedding(int inputDim, int outputDim) : base(nameof(ContrastEmbedding))
    {
        linear = nn.Linear(inputDim, outputDim);
        register_module("linear", linear);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = linear.forward(input.view(input.shape[0], -1));
        return ContrastiveRepresentation.L2Normalize(x).MoveToOuterDisposeScope();
    }
}
