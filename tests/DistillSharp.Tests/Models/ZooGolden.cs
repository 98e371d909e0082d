using System.Text.Json;

namespace DistillSharp.Tests.Models;

/// <summary>The golden values written by tests/reference/zoo_reference.py (PyTorch), read once.</summary>
internal static class ZooGolden
{
    private static readonly Lazy<JsonElement> Root = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "golden", "zoo.json");
        using var stream = File.OpenRead(path);
        return JsonDocument.Parse(stream).RootElement.Clone();
    });

    public static JsonElement Models => Root.Value.GetProperty("models");

    public static IReadOnlyList<string> Names => [.. Models.EnumerateObject().Select(p => p.Name)];

    public static JsonElement Model(string name) => Models.GetProperty(name);

    public static long[] Longs(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt64())];

    public static double[] Doubles(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetDouble())];

    public static long[][] Shapes(JsonElement array) => [.. array.EnumerateArray().Select(Longs)];

    public static string Describe(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
