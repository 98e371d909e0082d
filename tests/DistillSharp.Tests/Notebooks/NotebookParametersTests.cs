using DistillSharp.Notebooks;
using static DistillSharp.Tests.Notebooks.NotebookFixtures;

namespace DistillSharp.Tests.Notebooks;

public sealed class NotebookParametersTests
{
    [Fact]
    public void TypesComeFromTheDeclarationsOrTheLiteralDefaults()
    {
        var declared = NotebookParameters.Parse("""
            // defaults
            var epochs = 5;
            long seed = 1L;
            double alpha = 0.9;
            var temperature = 4.0;
            float beta = 1f;
            var negative = -3;
            bool flag = false;
            string profile = "smoke";
            var dataset = "fashion-mnist";
            int[] widths = { 16, 32 };
            var rates = new[] { 0.1, 1 };
            var models = new string[] { "resnet8", "resnet32" };
            var when = DateTime.Now;
            Console.WriteLine("not a declaration");
            """);
        var types = declared.ToDictionary(p => p.Name, p => p.TypeName);
        Assert.Equal(new Dictionary<string, string>
        {
            ["epochs"] = "int", ["seed"] = "long", ["alpha"] = "double", ["temperature"] = "double", ["beta"] = "float",
            ["negative"] = "int", ["flag"] = "bool", ["profile"] = "string", ["dataset"] = "string", ["widths"] = "int[]",
            ["rates"] = "double[]", ["models"] = "string[]", ["when"] = "unsupported",
        }, types);
        Assert.Equal("\"smoke\"", declared.Single(p => p.Name == "profile").Default);
    }

    [Theory]
    [InlineData(ParameterType.Int, "10", "10")]
    [InlineData(ParameterType.Int, "-3", "-3")]
    [InlineData(ParameterType.Long, "12345678901", "12345678901L")]
    [InlineData(ParameterType.Double, "0.5", "0.5d")]
    [InlineData(ParameterType.Double, "1e-3", "0.001d")]
    [InlineData(ParameterType.Double, "NaN", "double.NaN")]
    [InlineData(ParameterType.Float, "2.5", "2.5f")]
    [InlineData(ParameterType.Bool, "True", "true")]
    [InlineData(ParameterType.String, "say \"hi\"\\n", "\"say \\\"hi\\\"\\\\n\"")]
    [InlineData(ParameterType.IntArray, "[1, 2,3]", "new int[] { 1, 2, 3 }")]
    [InlineData(ParameterType.DoubleArray, "0.5,1", "new double[] { 0.5d, 1d }")]
    [InlineData(ParameterType.StringArray, "a, b", "new string[] { \"a\", \"b\" }")]
    [InlineData(ParameterType.IntArray, "[]", "new int[] {  }")]
    public void ValuesBecomeCSharpLiteralsOfTheDefaultsType(ParameterType type, string value, string literal) =>
        Assert.Equal(literal, NotebookParameters.Literal(new NotebookParameter("p", type, ""), value));

    [Fact]
    public void AWrongTypedValueNamesTheParameterTheTypeAndTheValue()
    {
        var notebook = Create(Parameters("var epochs = 5;\nbool flag = false;"));
        var e = Assert.Throws<DistillSharpException>(() => NotebookParameters.CreateInjectedCell(notebook, [new("epochs", "ten")]));
        Assert.Equal("parameter 'epochs' is an int; 'ten' is not an int.", e.Message);
        var b = Assert.Throws<DistillSharpException>(() => NotebookParameters.CreateInjectedCell(notebook, [new("flag", "yes")]));
        Assert.Equal("parameter 'flag' is a bool; 'yes' is not a bool.", b.Message);
        var array = Assert.Throws<DistillSharpException>(() => NotebookParameters.Literal(new NotebookParameter("w", ParameterType.IntArray, ""), "1,x"));
        Assert.Equal("parameter 'w' is an int[]; '1,x' is not an int[].", array.Message);
    }

    [Fact]
    public void AnUnknownParameterNamesWhatTheCellDeclares()
    {
        var notebook = Create(Code("// setup"), Parameters("var epochs = 5;\ndouble alpha = 0.9;"));
        var e = Assert.Throws<DistillSharpException>(() => NotebookParameters.CreateInjectedCell(notebook, [new("epoch", "3")]));
        Assert.Equal("unknown parameter 'epoch': the parameters cell (cell 2) declares epochs (int), alpha (double).", e.Message);
    }

    [Fact]
    public void ParametersWithoutAParametersCellAreAnError()
    {
        var notebook = Create(Code("var epochs = 5;"));
        var e = Assert.Throws<DistillSharpException>(() => NotebookParameters.CreateInjectedCell(notebook, [new("epochs", "3")]));
        Assert.Contains("no parameters cell", e.Message);
        Assert.Contains("\"parameters\"", e.Message);
        Assert.Null(NotebookParameters.CreateInjectedCell(notebook, []));
    }

    [Fact]
    public void TheInjectedCellRedeclaresTheGivenValuesAndIsTagged()
    {
        var notebook = Create(Parameters("var epochs = 5;\nstring profile = \"smoke\";"));
        var cell = NotebookParameters.CreateInjectedCell(notebook, [new("profile", "cpu"), new("epochs", "3"), new("epochs", "7")])!;
        Assert.True(cell.HasTag(NotebookParameters.InjectedTag));
        Assert.EndsWith("string profile = \"cpu\";\nint epochs = 7;", cell.Source);                  // the later epochs wins
    }

    [Fact]
    public void AssignmentsAndSweepListsSplitAsDocumented()
    {
        Assert.Equal(new KeyValuePair<string, string>("note", "a=b"), NotebookParameters.ParseAssignment("note=a=b"));
        Assert.Throws<DistillSharpException>(() => NotebookParameters.ParseAssignment("epochs"));
        Assert.Equal(new[] { "0.5", "0.9" }, NotebookParameters.SplitValues("0.5,0.9"));
        Assert.Equal(new[] { "[16,32]", "[32,64]" }, NotebookParameters.SplitValues("[16,32],[32,64]"));
    }
}
