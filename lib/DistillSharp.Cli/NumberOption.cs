using System.CommandLine;
using System.Globalization;
using System.Numerics;

namespace DistillSharp.Cli;

/// <summary>
/// A numeric option that this program parses itself: System.CommandLine sees a string, so a value that is not a
/// number, NaN, an infinity, outside float32's range, or a whole number too large for its type gets the project's
/// one-line error naming the option and its valid range ("--lr must be a number in (0, 10]; got 'inf'.") instead of a
/// message with a .NET type name, and no value that libtorch cannot take gets through.
/// </summary>
internal sealed class NumberOption
{
    /// <summary>Creates <paramref name="name"/>; the help text is <paramref name="description"/> followed by the range.</summary>
    public NumberOption(string name, string description, ValueRange range, double? defaultValue = null, params string[] aliases)
    {
        Range = range;
        Option = new Option<string?>(name, aliases) { Description = $"{description}: {range}." };
        if (defaultValue is double d)
        {
            string text = ValueRange.Format(d);
            Option.DefaultValueFactory = _ => text;
        }
    }

    /// <summary>The option to add to a command.</summary>
    public Option<string?> Option { get; }

    /// <summary>The values it accepts.</summary>
    public ValueRange Range { get; }

    /// <summary>The value given (or the default), null when there is neither.</summary>
    /// <exception cref="DistillSharpException">The text is not a number in <see cref="Range"/>.</exception>
    public double? Value(ParseResult parse) => parse.GetValue(Option) is { } text ? Parse(Option.Name, text, Range) : null;

    /// <summary><see cref="Value"/> as an int (the range must be of whole numbers within int's).</summary>
    public int? IntValue(ParseResult parse) => Value(parse) is double v ? checked((int)v) : null;

    /// <summary><see cref="Value"/> as a long (the range must be of whole numbers).</summary>
    public long? LongValue(ParseResult parse) => Value(parse) is double v ? checked((long)v) : null;

    /// <summary>
    /// <paramref name="text"/> as a number in <paramref name="range"/>: a whole number in decimal digits for an
    /// integer range, else any finite number that float32 can hold, in invariant notation (<c>0.05</c>, <c>5e-4</c>).
    /// </summary>
    /// <exception cref="DistillSharpException">"NAME must be RANGE; got 'TEXT'."</exception>
    public static double Parse(string name, string text, ValueRange range)
    {
        ArgumentNullException.ThrowIfNull(range);
        var trimmed = text.Trim();
        double value;
        if (range.Integer)
        {
            // Any length of digits parses, so a value beyond long's range is "out of range", never an overflow.
            bool whole = BigInteger.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big);
            value = whole && BigInteger.Abs(big) <= new BigInteger(1L << 53) ? (double)big : double.NaN;
        }
        else if (!double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out value) || Math.Abs(value) > float.MaxValue)
        {
            value = double.NaN;   // not a number, or beyond float32 (parsed as an infinity or a huge double)
        }
        if (!range.Contains(value) || Math.Abs(value) > float.MaxValue)
        {
            throw new DistillSharpException($"{name} must be {range}; got '{text}'.");
        }
        return value;
    }
}
