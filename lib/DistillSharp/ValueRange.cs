using System.Globalization;

namespace DistillSharp;

/// <summary>
/// The valid values of a numeric setting: a closed or half-open interval of finite numbers, whole numbers only when
/// <paramref name="Integer"/> is set. Written in messages as <c>(0, 10]</c> or <c>a whole number in [1, 100000]</c>.
/// </summary>
/// <param name="Min">The lower bound.</param>
/// <param name="Max">The upper bound.</param>
/// <param name="ExcludeMin">Whether <paramref name="Min"/> itself is excluded.</param>
/// <param name="ExcludeMax">Whether <paramref name="Max"/> itself is excluded.</param>
/// <param name="Integer">Whether only whole numbers are valid.</param>
public sealed record ValueRange(double Min, double Max, bool ExcludeMin = false, bool ExcludeMax = false, bool Integer = false)
{
    /// <summary>Every finite number a float32 can hold: what libtorch can take at all.</summary>
    public static readonly ValueRange Float32 = new(-float.MaxValue, float.MaxValue);

    /// <summary>Whole numbers in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static ValueRange Whole(double min, double max) => new(min, max, Integer: true);

    /// <summary>Whether <paramref name="value"/> is finite and in the range.</summary>
    public bool Contains(double value) =>
        double.IsFinite(value)
        && (ExcludeMin ? value > Min : value >= Min)
        && (ExcludeMax ? value < Max : value <= Max)
        && (!Integer || Math.Floor(value) == value);

    /// <summary>Throws the error "<paramref name="name"/> must be RANGE; got VALUE." unless the range holds <paramref name="value"/>.</summary>
    /// <exception cref="DistillSharpException">The value is not in the range (NaN and infinities never are).</exception>
    public double Check(string name, double value)
    {
        if (!Contains(value)) throw new DistillSharpException($"{name} must be {this}; got {Format(value)}.");
        return value;
    }

    /// <summary>"a number in (0, 10]", "a whole number in [1, 100000]", or "a finite float32 number (at most ±3.4028235E+38)".</summary>
    public override string ToString() => ReferenceEquals(this, Float32) || this == Float32
        ? $"a finite float32 number (at most ±{Format(float.MaxValue)})"
        : $"{(Integer ? "a whole number" : "a number")} in {(ExcludeMin ? '(' : '[')}{Format(Min)}, {Format(Max)}{(ExcludeMax ? ')' : ']')}";

    /// <summary>A number as messages show it: invariant culture, shortest round-trip form.</summary>
    public static string Format(double value) => value == float.MaxValue || value == -float.MaxValue
        ? ((float)value).ToString("R", CultureInfo.InvariantCulture)
        : value.ToString("R", CultureInfo.InvariantCulture);
}
