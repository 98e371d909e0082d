using System.Globalization;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace DistillSharp.Notebooks;

/// <summary>The types a notebook parameter can have (what <c>-p name=value</c> can set).</summary>
public enum ParameterType
{
    /// <summary>A type the runner cannot set from the command line; the default stays.</summary>
    Unsupported,

    /// <summary><c>int</c>.</summary>
    Int,

    /// <summary><c>long</c>.</summary>
    Long,

    /// <summary><c>double</c>.</summary>
    Double,

    /// <summary><c>float</c>.</summary>
    Float,

    /// <summary><c>bool</c> (<c>true</c> or <c>false</c>).</summary>
    Bool,

    /// <summary><c>string</c> (the value as typed).</summary>
    String,

    /// <summary><c>int[]</c> (<c>1,2,3</c> or <c>[1,2,3]</c>).</summary>
    IntArray,

    /// <summary><c>double[]</c>.</summary>
    DoubleArray,

    /// <summary><c>string[]</c>.</summary>
    StringArray,
}

/// <summary>A parameter declared in a notebook's parameters cell: its name, type and default as written.</summary>
/// <param name="Name">The variable name.</param>
/// <param name="Type">Its type, as declared or as the literal default implies for <c>var</c>.</param>
/// <param name="Default">The default's source text (the initializer).</param>
public sealed record NotebookParameter(string Name, ParameterType Type, string Default)
{
    /// <summary>The C# name of the type (<c>int</c>, <c>double[]</c>, ...), or "unsupported".</summary>
    public string TypeName => NotebookParameters.TypeName(Type);
}

/// <summary>
/// Papermill's parameter convention for C# notebooks: the code cell tagged <c>parameters</c> declares the defaults
/// as simple declarations (<c>var epochs = 5;</c>, <c>double alpha = 0.9;</c>, <c>string profile = "smoke";</c>);
/// values given on the command line go into a new cell right after it, tagged <c>injected-parameters</c>, that
/// declares the same variables again with the new values (a later declaration replaces an earlier one in a C#
/// scripting session).
/// </summary>
public static class NotebookParameters
{
    /// <summary>The tag of the cell that holds the defaults.</summary>
    public const string ParametersTag = "parameters";

    /// <summary>The tag of the cell the runner inserts with the given values.</summary>
    public const string InjectedTag = "injected-parameters";

    /// <summary>The index of the first code cell tagged <c>parameters</c>, or -1.</summary>
    public static int FindCell(Notebook notebook) =>
        notebook.Cells.FindIndex(c => c.Type == CellType.Code && c.HasTag(ParametersTag));

    /// <summary>The parameters the notebook's parameters cell declares (empty when it has none).</summary>
    public static IReadOnlyList<NotebookParameter> Declared(Notebook notebook)
    {
        int index = FindCell(notebook);
        return index < 0 ? [] : Parse(notebook.Cells[index].Source);
    }

    /// <summary>The variables declared at the top level of <paramref name="source"/>, with their types.</summary>
    public static IReadOnlyList<NotebookParameter> Parse(string source)
    {
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest, kind: SourceCodeKind.Script));
        var result = new List<NotebookParameter>();
        foreach (var member in ((CompilationUnitSyntax)tree.GetRoot()).Members)
        {
            var declaration = member switch
            {
                BaseFieldDeclarationSyntax field => field.Declaration,
                GlobalStatementSyntax { Statement: LocalDeclarationStatementSyntax local } => local.Declaration,
                _ => null,
            };
            if (declaration is null) continue;
            foreach (var variable in declaration.Variables)
            {
                var initializer = variable.Initializer?.Value;
                var type = TypeOf(declaration.Type, initializer);
                result.Add(new NotebookParameter(variable.Identifier.ValueText, type, initializer?.ToString() ?? ""));
            }
        }
        return result;
    }

    /// <summary>Splits <c>name=value</c> at the first <c>=</c>.</summary>
    /// <exception cref="DistillSharpException">There is no <c>=</c> or no name.</exception>
    public static KeyValuePair<string, string> ParseAssignment(string text)
    {
        int eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new DistillSharpException($"-p {text}: expected NAME=VALUE, e.g. -p epochs=10.");
        }
        return new(text[..eq].Trim(), text[(eq + 1)..]);
    }

    /// <summary>
    /// Checks <paramref name="values"/> against the notebook's parameters cell and returns the injected cell that
    /// sets them (null when there are no values). A later value for the same name replaces an earlier one.
    /// </summary>
    /// <exception cref="DistillSharpException">
    /// Values are given but the notebook has no parameters cell, a name is not declared there, or a value does not
    /// parse as the type of the parameter's default.
    /// </exception>
    public static NotebookCell? CreateInjectedCell(Notebook notebook, IEnumerable<KeyValuePair<string, string>> values)
    {
        var given = new List<KeyValuePair<string, string>>();
        foreach (var pair in values)
        {
            given.RemoveAll(p => p.Key == pair.Key);
            given.Add(pair);
        }
        if (given.Count == 0) return null;

        int index = FindCell(notebook);
        if (index < 0)
        {
            throw new DistillSharpException(
                $"the notebook has no parameters cell, so -p cannot set {string.Join(", ", given.Select(p => p.Key))}. " +
                $"Tag the code cell that declares the defaults with \"{ParametersTag}\" (cell metadata \"tags\").");
        }
        var declared = Parse(notebook.Cells[index].Source);
        var code = new StringBuilder("// Parameters injected by distill run; they replace the defaults above.\n");
        foreach (var (name, value) in given)
        {
            var parameter = declared.FirstOrDefault(p => p.Name == name)
                ?? throw new DistillSharpException(
                    $"unknown parameter '{name}': the parameters cell (cell {index + 1}) declares " +
                    (declared.Count == 0 ? "none" : string.Join(", ", declared.Select(p => $"{p.Name} ({p.TypeName})"))) + ".");
            code.Append(CultureInfo.InvariantCulture, $"{TypeName(parameter.Type)} {name} = {Literal(parameter, value)};\n");
        }
        return NotebookCell.Code(code.ToString().TrimEnd('\n')).WithTag(InjectedTag);
    }

    /// <summary>Checks that <paramref name="value"/> parses as <paramref name="parameter"/>'s type; returns the C# literal.</summary>
    /// <exception cref="DistillSharpException">The value does not parse, or the parameter's type is unsupported.</exception>
    public static string Literal(NotebookParameter parameter, string value)
    {
        if (parameter.Type == ParameterType.Unsupported)
        {
            throw new DistillSharpException(
                $"parameter '{parameter.Name}' cannot be set: its default `{parameter.Default}` is not of a type the runner sets " +
                "(int, long, double, float, bool, string, int[], double[], string[]); declare it with one of these types.");
        }
        var literal = parameter.Type switch
        {
            ParameterType.IntArray => ArrayLiteral("int", value, ParameterType.Int),
            ParameterType.DoubleArray => ArrayLiteral("double", value, ParameterType.Double),
            ParameterType.StringArray => ArrayLiteral("string", value, ParameterType.String),
            var scalar => ScalarLiteral(scalar, value),
        };
        return literal ?? throw new DistillSharpException(
            $"parameter '{parameter.Name}' is {Article(parameter.TypeName)} {parameter.TypeName}; '{value}' is not {Article(parameter.TypeName)} {parameter.TypeName}.");
    }

    /// <summary>The C# name of <paramref name="type"/>.</summary>
    public static string TypeName(ParameterType type) => type switch
    {
        ParameterType.Int => "int",
        ParameterType.Long => "long",
        ParameterType.Double => "double",
        ParameterType.Float => "float",
        ParameterType.Bool => "bool",
        ParameterType.String => "string",
        ParameterType.IntArray => "int[]",
        ParameterType.DoubleArray => "double[]",
        ParameterType.StringArray => "string[]",
        _ => "unsupported",
    };

    /// <summary>
    /// Splits a list of values (a sweep's <c>-p seed=1,2,3</c>) at the commas that are not inside brackets, so
    /// array values can be swept as <c>[16,32],[32,64]</c>.
    /// </summary>
    public static IReadOnlyList<string> SplitValues(string values)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < values.Length; i++)
        {
            switch (values[i])
            {
                case '[': depth++; break;
                case ']': depth = Math.Max(0, depth - 1); break;
                case ',' when depth == 0:
                    parts.Add(values[start..i]);
                    start = i + 1;
                    break;
            }
        }
        parts.Add(values[start..]);
        return parts;
    }

    private static string Article(string typeName) => typeName.StartsWith('i') ? "an" : "a";

    private static string? ArrayLiteral(string element, string value, ParameterType elementType)
    {
        var inner = value.Trim();
        if (inner.StartsWith('[') && inner.EndsWith(']'))
        {
            inner = inner[1..^1];
        }
        var items = inner.Trim().Length == 0 ? [] : inner.Split(',');
        var literals = new List<string>();
        foreach (var item in items)
        {
            var literal = ScalarLiteral(elementType, elementType == ParameterType.String ? item.Trim() : item);
            if (literal is null) return null;
            literals.Add(literal);
        }
        return $"new {element}[] {{ {string.Join(", ", literals)} }}";
    }

    private static string? ScalarLiteral(ParameterType type, string value)
    {
        var inv = CultureInfo.InvariantCulture;
        switch (type)
        {
            case ParameterType.Int:
                return int.TryParse(value, NumberStyles.Integer, inv, out var i) ? i.ToString(inv) : null;
            case ParameterType.Long:
                return long.TryParse(value, NumberStyles.Integer, inv, out var l) ? l.ToString(inv) + "L" : null;
            case ParameterType.Double:
                if (!double.TryParse(value, NumberStyles.Float, inv, out var d)) return null;
                return double.IsNaN(d) ? "double.NaN"
                    : double.IsPositiveInfinity(d) ? "double.PositiveInfinity"
                    : double.IsNegativeInfinity(d) ? "double.NegativeInfinity"
                    : d.ToString("R", inv) + "d";
            case ParameterType.Float:
                if (!float.TryParse(value, NumberStyles.Float, inv, out var f)) return null;
                return float.IsNaN(f) ? "float.NaN"
                    : float.IsPositiveInfinity(f) ? "float.PositiveInfinity"
                    : float.IsNegativeInfinity(f) ? "float.NegativeInfinity"
                    : f.ToString("R", inv) + "f";
            case ParameterType.Bool:
                return bool.TryParse(value.Trim(), out var b) ? (b ? "true" : "false") : null;
            case ParameterType.String:
                return SymbolDisplay.FormatLiteral(value, quote: true);
            default:
                return null;
        }
    }

    private static ParameterType TypeOf(TypeSyntax type, ExpressionSyntax? initializer)
    {
        if (type.IsVar)
        {
            return initializer is null ? ParameterType.Unsupported : TypeOfExpression(initializer);
        }
        return type switch
        {
            PredefinedTypeSyntax p => Keyword(p.Keyword.Kind()),
            ArrayTypeSyntax { ElementType: PredefinedTypeSyntax e } a when a.RankSpecifiers.Count == 1 && a.RankSpecifiers[0].Rank == 1 =>
                ArrayOf(Keyword(e.Keyword.Kind())),
            _ => ParameterType.Unsupported,
        };
    }

    private static ParameterType TypeOfExpression(ExpressionSyntax expression) => expression switch
    {
        LiteralExpressionSyntax literal => literal.Kind() switch
        {
            SyntaxKind.StringLiteralExpression => ParameterType.String,
            SyntaxKind.TrueLiteralExpression or SyntaxKind.FalseLiteralExpression => ParameterType.Bool,
            SyntaxKind.NumericLiteralExpression => literal.Token.Value switch
            {
                int => ParameterType.Int,
                long => ParameterType.Long,
                double => ParameterType.Double,
                float => ParameterType.Float,
                _ => ParameterType.Unsupported,
            },
            _ => ParameterType.Unsupported,
        },
        PrefixUnaryExpressionSyntax { Operand: LiteralExpressionSyntax operand } unary
            when unary.IsKind(SyntaxKind.UnaryMinusExpression) || unary.IsKind(SyntaxKind.UnaryPlusExpression) =>
            TypeOfExpression(operand) is var t && t is ParameterType.Int or ParameterType.Long or ParameterType.Double or ParameterType.Float
                ? t
                : ParameterType.Unsupported,
        InterpolatedStringExpressionSyntax => ParameterType.String,
        ArrayCreationExpressionSyntax { Type: { ElementType: PredefinedTypeSyntax e } a } when a.RankSpecifiers.Count == 1 =>
            ArrayOf(Keyword(e.Keyword.Kind())),
        ImplicitArrayCreationExpressionSyntax implicitArray => ImplicitArrayType(implicitArray.Initializer.Expressions),
        _ => ParameterType.Unsupported,
    };

    private static ParameterType ImplicitArrayType(IReadOnlyCollection<ExpressionSyntax> items)
    {
        var types = items.Select(TypeOfExpression).Distinct().ToList();
        if (types.Count == 1) return ArrayOf(types[0]);
        if (types.Count == 2 && types.Contains(ParameterType.Int) && types.Contains(ParameterType.Double)) return ParameterType.DoubleArray;
        return ParameterType.Unsupported;
    }

    private static ParameterType ArrayOf(ParameterType element) => element switch
    {
        ParameterType.Int => ParameterType.IntArray,
        ParameterType.Double => ParameterType.DoubleArray,
        ParameterType.String => ParameterType.StringArray,
        _ => ParameterType.Unsupported,
    };

    private static ParameterType Keyword(SyntaxKind kind) => kind switch
    {
        SyntaxKind.IntKeyword => ParameterType.Int,
        SyntaxKind.LongKeyword => ParameterType.Long,
        SyntaxKind.DoubleKeyword => ParameterType.Double,
        SyntaxKind.FloatKeyword => ParameterType.Float,
        SyntaxKind.BoolKeyword => ParameterType.Bool,
        SyntaxKind.StringKeyword => ParameterType.String,
        _ => ParameterType.Unsupported,
    };
}
