using DistillSharp.Notebooks;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Notebooks;

public sealed class DisplayFormattersTests
{
    private class Shape
    {
        public override string ToString() => "a shape";
    }

    private sealed class Square : Shape;

    private sealed class Circle(double radius) : Shape
    {
        public double Radius => radius;
    }

    [Fact]
    public void ARegisteredFormatterServesItsTypeAndDerivedTypesAndTheLastRegistrationWins()
    {
        Assert.Equal("a shape", DisplayFormatters.Format(new Square())["text/plain"]);
        DisplayFormatters.Register<Shape>(_ => new Dictionary<string, string> { ["text/html"] = "<svg/>" });
        DisplayFormatters.Register<Circle>(c => new Dictionary<string, string> { ["text/plain"] = $"circle r={c.Radius}" });
        DisplayFormatters.Register<Circle>(c => new Dictionary<string, string> { ["text/plain"] = $"circle of radius {c.Radius}" });

        var square = DisplayFormatters.Format(new Square());
        Assert.Equal("<svg/>", square["text/html"]);
        Assert.Equal("a shape", square["text/plain"]);                                        // text/plain is always there
        Assert.Equal("circle of radius 2", Assert.Single(DisplayFormatters.Format(new Circle(2))).Value);
    }

    [Fact]
    public void BuiltInFormatsForNullStringsSequencesAndTensors()
    {
        Assert.Equal("<null>", DisplayFormatters.Format(null)["text/plain"]);
        Assert.Equal("plain", DisplayFormatters.Format("plain")["text/plain"]);
        Assert.Equal("[0.5, 2]", DisplayFormatters.Format(new[] { 0.5, 2.0 })["text/plain"]);
        Assert.EndsWith(", ... (150 items)]", DisplayFormatters.Format(Enumerable.Range(0, 150).ToList())["text/plain"]);

        using var small = arange(6).reshape(2, 3);
        Assert.Equal("[[0, 1, 2]\n [3, 4, 5]]", DisplayFormatters.Format(small)["text/plain"]);
        using var halves = tensor(new float[] { 0.5f, 1.25f });
        Assert.Equal("[0.5, 1.25]", DisplayFormatters.Format(halves)["text/plain"]);
        using var large = zeros(64, 64);
        Assert.Equal("[64x64], type = Float32, device = cpu", DisplayFormatters.Format(large)["text/plain"]);         // shape, type, device only
    }
}
