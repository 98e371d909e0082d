using System.Text.Json;
using DistillSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Models;

/// <summary>
/// Backward through every zoo model against PyTorch's (tests/reference/zoo_gradients.py): the forward passes free
/// intermediates early, and a tensor freed while autograd still needed it would change these gradients or throw.
/// </summary>
public sealed class ModelZooGradientTests
{
    private static readonly Lazy<JsonElement> Golden = new(() =>
    {
        using var stream = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "golden", "zoo_gradients.json"));
        return JsonDocument.Parse(stream).RootElement.GetProperty("models").Clone();
    });

    public static TheoryData<string> AllModels => [.. ModelZoo.Names];

    [Theory]
    [MemberData(nameof(AllModels))]
    public void GradientsMatchReference(string name)
    {
        var golden = Golden.Value.GetProperty(name);
        using var model = ModelZoo.Create(name, 100);
        FormulaFill.Apply(model);
        model.eval();

        using var scope = NewDisposeScope();
        var x = FormulaFill.Input(ZooGolden.Longs(golden.GetProperty("input"))).requires_grad_(true);
        var output = model.call(x);
        // L = sum_ij W_ij logits_ij + sum_k mean(features_k) + sum_k mean(preact_k), W_ij = cos(0.05 (100 i + j)).
        var w = (arange(output.Logits.numel(), dtype: ScalarType.Float64) * 0.05).cos().reshape(output.Logits.shape).to(ScalarType.Float32);
        var loss = (output.Logits * w).sum();
        foreach (var f in output.Features.Concat(output.PreActFeatures)) loss += f.mean();
        loss.backward();

        var expectedLoss = golden.GetProperty("loss").GetDouble();
        AssertClose(expectedLoss, loss.item<float>(), 1e-4 * Math.Max(1, Math.Abs(expectedLoss)), $"{name} loss");
        var inputGrad = x.grad!.to(ScalarType.Float64);
        var absSum = golden.GetProperty("input_grad_abs_sum").GetDouble();
        var inputTolerance = Math.Max(1e-4, 10 * golden.GetProperty("input_float32_drift").GetDouble()) * absSum;
        AssertClose(absSum, inputGrad.abs().sum().item<double>(), inputTolerance, $"{name} sum |dL/dx|");
        AssertClose(golden.GetProperty("input_grad_sum").GetDouble(), inputGrad.sum().item<double>(), inputTolerance, $"{name} sum dL/dx");

        var norms = golden.GetProperty("grad_norms").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        var scale = norms.Values.Max();
        var drift = golden.GetProperty("float32_drift").GetDouble();
        var parameters = model.named_parameters().ToList();
        Assert.Equal(norms.Keys.Order(), parameters.Select(p => p.name).Order());
        foreach (var (key, parameter) in parameters)
        {
            Assert.NotNull(parameter.grad);
            var norm = parameter.grad!.to(ScalarType.Float64).norm().item<double>();
            AssertClose(norms[key], norm, 1e-3 * norms[key] + Math.Max(1e-6, 10 * drift) * scale, $"{name} ||dL/d {key}||");
        }
    }

    private static void AssertClose(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance,
            $"{what}: expected {expected:R}, got {actual:R} (tolerance {tolerance:G3})");
}
