using System.Globalization;

namespace DistillSharp.Distillers;

/// <summary>One tunable number of a method, with its default, its valid range and what it means.</summary>
/// <param name="Name">The name used on the command line (<c>-P name=value</c>) and in notebooks.</param>
/// <param name="Default">The default, from the method's reference recipe.</param>
/// <param name="Description">What it controls, with the symbol of the paper's equation.</param>
/// <param name="Min">Smallest valid value (inclusive).</param>
/// <param name="Max">Largest valid value (inclusive).</param>
/// <param name="Integer">Whether the value must be a whole number.</param>
public sealed record MethodParameter(string Name, double Default, string Description, double Min = 0, double Max = double.MaxValue, bool Integer = false)
{
    /// <summary>
    /// Checks a value against the range; a bad value is an error naming the parameter and its range. An unbounded
    /// parameter still ends at float32's largest value, as libtorch computes in float32.
    /// </summary>
    public double Validate(string method, double value)
    {
        double max = Math.Min(Max, float.MaxValue);
        if (!double.IsFinite(value) || value < Min || value > max || (Integer && Math.Floor(value) != value))
        {
            string range = Max >= float.MaxValue ? $">= {Fmt(Min)} and at most {ValueRange.Format(float.MaxValue)} (float32)" : $"in [{Fmt(Min)}, {Fmt(Max)}]";
            throw new DistillSharpException(
                $"{method}: parameter '{Name}' must be {(Integer ? "a whole number " : "")}{range}; got {Fmt(value)}. ({Description})");
        }
        return value;
    }

    private static string Fmt(double v) => v.ToString("G", CultureInfo.InvariantCulture);
}

/// <summary>A method's parameter values: its defaults overridden by the user's, each validated.</summary>
public sealed class MethodSettings
{
    private readonly Dictionary<string, double> values;

    /// <summary>Resolves <paramref name="overrides"/> against <paramref name="parameters"/>; unknown names are an error listing the known ones.</summary>
    public MethodSettings(string method, IReadOnlyList<MethodParameter> parameters, IReadOnlyDictionary<string, double>? overrides)
    {
        Method = method;
        Parameters = parameters;
        values = parameters.ToDictionary(p => p.Name, p => p.Default);
        foreach (var (name, value) in overrides ?? new Dictionary<string, double>())
        {
            var parameter = parameters.FirstOrDefault(p => p.Name == name)
                ?? throw new DistillSharpException(
                    $"method '{method}' has no parameter '{name}'; its parameters are: {string.Join(", ", parameters.Select(p => p.Name))}.");
            values[name] = parameter.Validate(method, value);
        }
    }

    /// <summary>The method's name.</summary>
    public string Method { get; }

    /// <summary>The declared parameters.</summary>
    public IReadOnlyList<MethodParameter> Parameters { get; }

    /// <summary>The value of parameter <paramref name="name"/>.</summary>
    public double this[string name] => values.TryGetValue(name, out var v)
        ? v
        : throw new KeyNotFoundException($"method '{Method}' declares no parameter '{name}'");

    /// <summary>Every value by name, in declaration order.</summary>
    public IReadOnlyDictionary<string, double> Values => Parameters.ToDictionary(p => p.Name, p => values[p.Name]);
}
