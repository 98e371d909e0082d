using System.Globalization;
using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DistillSharp.Models;

/// <summary>
/// Size and shapes of a zoo model for one input image, from <see cref="ModelZoo.Describe"/> or
/// <see cref="Measure"/>.
/// </summary>
/// <remarks>
/// <see cref="Macs"/> counts multiply-accumulates of the convolutions and linear layers only (batch norms,
/// activations, pooling, additions and the channel shuffle are left out), measured on one forward pass:
/// a convolution contributes out_h * out_w * out_channels * (in_channels / groups) * k_h * k_w, so grouped
/// and depthwise convolutions are counted at their real cost, and a linear layer in_features * out_features.
/// Biases are not counted.
/// </remarks>
/// <param name="Name">The registry name.</param>
/// <param name="NumClasses">Number of classes.</param>
/// <param name="InChannels">Channels of the input image.</param>
/// <param name="ImageSize">Side of the square input image used for the counts and shapes.</param>
/// <param name="Parameters">Number of parameters (trainable tensors; buffers such as running statistics excluded).</param>
/// <param name="Macs">Multiply-accumulates of one forward pass on one image (convolutions and linear layers).</param>
/// <param name="FeatureShapes">Shape of each entry of <see cref="ModelOutput.Features"/> (batch 1).</param>
/// <param name="PreActFeatureShapes">Shape of each entry of <see cref="ModelOutput.PreActFeatures"/> (batch 1).</param>
/// <param name="LogitsShape">Shape of the logits (batch 1).</param>
public sealed record ModelSummary(
    string Name,
    int NumClasses,
    int InChannels,
    int ImageSize,
    long Parameters,
    long Macs,
    IReadOnlyList<long[]> FeatureShapes,
    IReadOnlyList<long[]> PreActFeatureShapes,
    long[] LogitsShape)
{
    /// <summary>
    /// Measures an existing model on one all-zero image of <paramref name="imageSize"/> x
    /// <paramref name="imageSize"/> (in evaluation mode and without gradients; the model's training mode is
    /// restored afterwards, its weights are not changed).
    /// </summary>
    /// <exception cref="DistillSharpException">When the model cannot take an image of that size.</exception>
    public static ModelSummary Measure(ZooModel model, int imageSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (imageSize < 1)
            throw new DistillSharpException($"imageSize must be at least 1 (got {imageSize}) for model '{model.Name}'.");

        long macs = 0;
        var removers = new List<Action>();
        foreach (var module in model.modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    var convHook = conv.register_forward_hook((m, input, output) =>
                    {
                        var perPixel = conv.in_channels / conv.groups * conv.kernel_size[0] * conv.kernel_size[1];
                        macs += output.shape[1] * output.shape[2] * output.shape[3] * perPixel;
                        return output;
                    });
                    removers.Add(convHook.remove);
                    break;
                case Linear linear:
                    var linearHook = linear.register_forward_hook((m, input, output) =>
                    {
                        macs += linear.in_features * linear.out_features;
                        return output;
                    });
                    removers.Add(linearHook.remove);
                    break;
            }
        }

        var wasTraining = model.training;
        try
        {
            model.eval();
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var x = torch.zeros(1, model.InChannels, imageSize, imageSize);
            ModelOutput output;
            try
            {
                output = model.call(x);
            }
            catch (Exception e) when (e is not DistillSharpException)
            {
                throw new DistillSharpException(
                    $"Model '{model.Name}' cannot take a {model.InChannels}x{imageSize}x{imageSize} image " +
                    $"(it is built for {model.ImageSize}x{model.ImageSize}): {e.Message.Split('\n')[0].Trim()}", e);   // libtorch's first line, not its stack
            }
            return new ModelSummary(
                model.Name,
                model.NumClasses,
                model.InChannels,
                imageSize,
                model.parameters().Sum(p => p.numel()),
                macs,
                [.. output.Features.Select(f => f.shape)],
                [.. output.PreActFeatures.Select(f => f.shape)],
                output.Logits.shape);
        }
        finally
        {
            foreach (var remove in removers) remove();
            model.train(wasTraining);
        }
    }

    /// <summary>A readable multi-line description (name, counts, shapes).</summary>
    public override string ToString()
    {
        static string Shape(long[] s) => "[" + string.Join(", ", s) + "]";
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"{Name}: {Parameters:N0} parameters, {Macs:N0} MACs for one {InChannels}x{ImageSize}x{ImageSize} image, {NumClasses} classes\n");
        for (var i = 0; i < FeatureShapes.Count; i++)
            text.Append(CultureInfo.InvariantCulture,
                $"  feature {i}: {Shape(FeatureShapes[i])} (pre-activation {Shape(PreActFeatureShapes[i])})\n");
        text.Append(CultureInfo.InvariantCulture, $"  logits: {Shape(LogitsShape)}");
        return text.ToString();
    }
}
