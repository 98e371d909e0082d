using System.Text.Json;
using DistillSharp.Distillers;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Support;

/// <summary>
/// The check every golden distiller step shares: a step's loss terms against a reference script's <c>losses</c>
/// (float64), and each term's gradient alone against its <c>grads</c>, with the reference's tolerances.
/// </summary>
internal static class GoldenStep
{
    /// <summary>
    /// Asserts <paramref name="step"/>'s terms (and their total) equal <c>golden.losses</c> to 5e-6 relative widened by
    /// five times the term's <c>float32_loss_drift</c>; then, for each term of <c>golden.grads</c>, that its backward
    /// alone gives each watched parameter's gradient to 5e-4 relative error and cosine above 1 − 1e-6, or none where the
    /// reference has null. <paramref name="prefixes"/> names parameters whose stored reference is the first n values.
    /// Returns the terms by name (with <c>total</c>) for further checks.
    /// </summary>
    public static Dictionary<string, Tensor> AssertMatches(
        nn.Module distiller, DistillationStep step, JsonElement golden, string context = "", JsonElement? prefixes = null)
    {
        var expected = golden.GetProperty("losses");
        Assert.Equal(expected.EnumerateObject().Select(e => e.Name).Where(n => n != "total").Order(), step.Losses.Keys.Order());
        var terms = step.Losses.ToDictionary(kv => kv.Key, kv => kv.Value);
        terms["total"] = step.Total();
        foreach (var (name, value) in terms)
        {
            // float32 against float64: 5e-6, widened by five times the term's own float32 drift in the reference.
            double reference = expected.GetProperty(name).GetDouble();
            double tolerance = 5e-6 + 5 * golden.GetProperty("float32_loss_drift").GetProperty(name).GetDouble();
            Assert.True(Math.Abs(value.item<float>() - reference) <= tolerance * Math.Abs(reference), $"{context}{name}: {value.item<float>()} vs {reference}");
        }

        var parameters = distiller.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var term in golden.GetProperty("grads").EnumerateObject())
        {
            distiller.zero_grad();
            terms[term.Name].backward(retain_graph: true);
            foreach (var watched in term.Value.EnumerateObject())
            {
                var grad = parameters[watched.Name].grad;
                if (watched.Value.ValueKind == JsonValueKind.Null)
                {
                    Assert.True(grad is null || grad.abs().max().item<float>() == 0, $"{context}{term.Name} reaches {watched.Name}");
                    continue;
                }
                Assert.NotNull(grad);
                using var reference = tensor(watched.Value.Floats()).to(float64);
                var flat = grad.reshape(-1).to(float64);
                if (prefixes is JsonElement p && p.TryGetProperty(watched.Name, out var n)) flat = flat.narrow(0, 0, n.GetInt64());
                using var actual = flat;
                double relative = (actual - reference).norm().item<double>() / reference.norm().item<double>();
                double cosine = (actual * reference).sum().item<double>() / (actual.norm().item<double>() * reference.norm().item<double>());
                Assert.True(relative < 5e-4 && cosine > 1 - 1e-6, $"{context}{term.Name}/{watched.Name}: relative error {relative:E2}, cosine {cosine:F8}");
            }
        }
        return terms;
    }
}
