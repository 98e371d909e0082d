using System.Globalization;

namespace DistillSharp.Distillers;

/// <summary>One tunable number of a method, with its default, its valid range and what it means.</summary>
/// <remarks>
/// A parameter may instead be a choice among named options (<see cref="Choice"/>): its value is then the option's
/// index, 0 to n − 1, so that run records, checkpoints and notebooks keep holding numbers, while the command line
/// accepts the option's name (<c>-P normalization=l2</c>) and errors and <c>distill methods</c> show the names.
/// </remarks>
/// <param name="Name">The name used on the command line (<c>-P name=value</c>) and in notebooks.</param>
/// <param name="Default">The default, from the method's reference recipe.</param>
/// <param name="Description">What it controls, with the symbol of the paper's equation.</param>
/// <param name="Min">Smallest valid value (inclusive).</param>
/// <param name="Max">Largest valid value (inclusive).</param>
/// <param name="Integer">Whether the value must be a whole number.</param>
/// <param name="Choices">The options' names, index = value, for a choice; null for a number.</param>
public sealed record MethodParameter(
    string Name, double Default, string Description, double Min = 0, double Max = double.MaxValue, bool Integer = false,
    IReadOnlyList<string>? Choices = null)
{
    /// <summary>
    /// A choice among <paramref name="choices"/> (at least two distinct names), whose value is the chosen name's
    /// index; the default is given by name.
    /// </summary>
    public static MethodParameter Choice(string name, string defaultChoice, string description, params string[] choices)
    {
        if (choices.Length < 2 || choices.Distinct(StringComparer.Ordinal).Count() != choices.Length)
        {
            throw new ArgumentException($"choice parameter '{name}' needs at least two distinct names", nameof(choices));
        }
        int index = Array.IndexOf(choices, defaultChoice);
        if (index < 0) throw new ArgumentException($"default '{defaultChoice}' of '{name}' is not one of its choices", nameof(defaultChoice));
        return new MethodParameter(name, index, description, 0, choices.Length - 1, true, choices);
    }

    /// <summary>
    /// Checks a value against the range; a bad value is an error naming the parameter and its range (for a choice,
    /// its options by name and code). An unbounded parameter still ends at float32's largest value, as libtorch
    /// computes in float32.
    /// </summary>
    public double Validate(string method, double value)
    {
        double max = Math.Min(Max, float.MaxValue);
        if (!double.IsFinite(value) || value < Min || value > max || (Integer && Math.Floor(value) != value))
        {
            if (Choices is not null)
            {
                throw new DistillSharpException(
                    $"{method}: parameter '{Name}' must be one of {DescribeChoices()}; got {Fmt(value)}. ({Description})");
            }
            string range = Max >= float.MaxValue ? $">= {Fmt(Min)} and at most {ValueRange.Format(float.MaxValue)} (float32)" : $"in [{Fmt(Min)}, {Fmt(Max)}]";
            throw new DistillSharpException(
                $"{method}: parameter '{Name}' must be {(Integer ? "a whole number " : "")}{range}; got {Fmt(value)}. ({Description})");
        }
        return value;
    }

    /// <summary>
    /// The value of a choice named <paramref name="choice"/>; for a parameter without choices, or a name that is not
    /// one of them, an error listing the options.
    /// </summary>
    public double ValueOf(string choice)
    {
        int index = Choices is null ? -1 : Choices.ToList().IndexOf(choice);
        if (index >= 0) return index;
        throw new DistillSharpException(Choices is null
            ? $"parameter '{Name}' takes a number, not '{choice}'."
            : $"parameter '{Name}' has no choice '{choice}'; it is one of {DescribeChoices()}.");
    }

    /// <summary>The value as shown to a reader: a choice's name, else the number.</summary>
    public string Format(double value) =>
        Choices is not null && value >= 0 && value < Choices.Count && Math.Floor(value) == value ? Choices[(int)value] : Fmt(value);

    /// <summary>The options as <c>none (0), l2 (1), ...</c>; empty for a number.</summary>
    public string DescribeChoices() =>
        Choices is null ? "" : string.Join(", ", Choices.Select((c, i) => $"{c} ({i})"));

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

    /// <summary>The chosen option's name of the choice parameter <paramref name="name"/>.</summary>
    public string Choice(string name)
    {
        var parameter = Parameters.FirstOrDefault(p => p.Name == name && p.Choices is not null)
            ?? throw new KeyNotFoundException($"method '{Method}' declares no choice parameter '{name}'");
        return parameter.Choices![(int)this[name]];
    }

    /// <summary>Every value by name, in declaration order.</summary>
    public IReadOnlyDictionary<string, double> Values => Parameters.ToDictionary(p => p.Name, p => values[p.Name]);
}
