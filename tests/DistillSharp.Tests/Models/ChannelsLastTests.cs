using DistillSharp.Models;
using DistillSharp.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Models;

/// <summary>
/// The models that run channels-last give the NCHW results up to rounding: features, logits and parameter gradients
/// of a float32 run in either layout are compared with a float64 NCHW run (libtorch's native kernels, no oneDNN).
/// libtorch's channels-last kernels round differently from its NCHW ones (batch-norm statistics in particular), and
/// the gradients of the first layers accumulate that through every layer above them: the bounds are 2e-5 of each
/// output's scale and 2e-2 of the largest gradient (measured: at most 1e-5 and 8e-3; NCHW: 1e-6 and 1e-5), or 20
/// times NCHW's own error. Runs serially: it switches <see cref="ZooModel.UseChannelsLast"/>, a process-wide setting.
/// </summary>
[Collection(TrainingCollection.Name)]
public sealed class ChannelsLastTests
{
    private sealed record Run(double[][] Outputs, double[][] Gradients);

    private static Run Forward(ZooModel model, Tensor x, bool channelsLast, ScalarType dtype)
    {
        bool before = ZooModel.UseChannelsLast;
        ZooModel.UseChannelsLast = channelsLast;
        try
        {
            using var scope = NewDisposeScope();
            model.to(dtype);
            model.zero_grad();
            var output = model.call(x.to(dtype));
            if (channelsLast && dtype == ScalarType.Float32) Assert.True(ZooModel.IsChannelsLast(output.Features[1]), "the first stage should run channels-last");
            output.Logits.pow(2).sum().backward();
            var outputs = output.Features.Append(output.Logits).Select(t => t.to(ScalarType.Float64).contiguous().data<double>().ToArray()).ToArray();
            var grads = model.parameters().Select(p => p.grad!.to(ScalarType.Float64).contiguous().data<double>().ToArray()).ToArray();
            model.to(ScalarType.Float32);
            return new Run(outputs, grads);
        }
        finally
        {
            ZooModel.UseChannelsLast = before;
        }
    }

    [Theory]
    [InlineData("resnet8")]
    [InlineData("resnet20")]
    [InlineData("resnet8x4")]
    [InlineData("wrn_16_2")]
    [InlineData("vgg8")]
    public void ChannelsLastMatchesAFloat64NchwReferenceAsCloselyAsNchwDoes(string name)
    {
        random.manual_seed(3);
        using var model = ModelZoo.Create(name, 100);
        using var gen = new Generator(5);
        using var x = randn(new long[] { 16, 3, 32, 32 }, generator: gen);
        var reference = Forward(model, x, channelsLast: false, ScalarType.Float64);
        var nchw = Forward(model, x, channelsLast: false, ScalarType.Float32);
        var nhwc = Forward(model, x, channelsLast: true, ScalarType.Float32);

        for (int i = 0; i < reference.Outputs.Length; i++)
        {
            double scale = reference.Outputs[i].Max(Math.Abs);
            double errNchw = MaxDiff(reference.Outputs[i], nchw.Outputs[i]), errNhwc = MaxDiff(reference.Outputs[i], nhwc.Outputs[i]);
            Assert.True(errNhwc <= Math.Max(20 * errNchw, 2e-5 * scale), $"{name} output {i}: channels-last error {errNhwc:E2}, NCHW error {errNchw:E2}, scale {scale:E2}");
        }
        for (int i = 0; i < reference.Gradients.Length; i++)
        {
            // Gradients are compared on the scale of the largest gradient of the whole network: some (a conv bias
            // before batch norm) are zero up to rounding, so their own scale says nothing.
            double scale = reference.Gradients.Max(g => g.Max(Math.Abs));
            double errNchw = MaxDiff(reference.Gradients[i], nchw.Gradients[i]), errNhwc = MaxDiff(reference.Gradients[i], nhwc.Gradients[i]);
            Assert.True(errNhwc <= Math.Max(20 * errNchw, 2e-2 * scale), $"{name} gradient {i}: channels-last error {errNhwc:E2}, NCHW error {errNchw:E2}, scale {scale:E2}");
        }
    }

    [Fact]
    public void ConversionKeepsShapeAndValuesAndLeavesChannelsLastInputAlone()
    {
        using var x = arange(2 * 3 * 4 * 5, dtype: ScalarType.Float32).reshape(2, 3, 4, 5);
        Assert.False(ZooModel.IsChannelsLast(x));
        using var nhwc = x.permute(0, 2, 3, 1).contiguous();
        using var view = nhwc.permute(0, 3, 1, 2);
        Assert.True(ZooModel.IsChannelsLast(view));
        Assert.Equal(x.data<float>().ToArray(), view.contiguous().data<float>().ToArray());
    }

    private static double MaxDiff(double[] a, double[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
}
