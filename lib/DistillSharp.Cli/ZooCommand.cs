using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using DistillSharp.Models;
using Spectre.Console;

namespace DistillSharp.Cli;

/// <summary><c>distill zoo</c>: every model with its parameter count, multiply-accumulates and feature shapes.</summary>
internal static class ZooCommand
{
    private static readonly string[] Formats = ["table", "csv", "json"];

    public static Command Create()
    {
        var format = new Option<string>("--format") { Description = "Output format: table | csv | json.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(Formats);
        var classes = new NumberOption("--classes", "Number of classes (parameter counts depend on it)", ValueRange.Whole(1, 100_000), 100);
        var channels = new NumberOption("--in-channels", "Input channels", ValueRange.Whole(1, 1024), 3);
        var size = new NumberOption("--image-size", "Input size for MACs and shapes (default: 32, and 224 for the *_imagenet models; the CIFAR models take only 32)", ValueRange.Whole(32, 4096));
        var command = new Command("zoo", "List every model with parameters, multiply-accumulates and feature shapes.") { format, classes.Option, channels.Option, size.Option };
        command.SetAction(parse =>
        {
            int n = classes.IntValue(parse)!.Value, c = channels.IntValue(parse)!.Value;
            int? given = size.IntValue(parse);
            var summaries = ModelZoo.Names
                .Select(name => ModelZoo.Describe(name, n, c, given ?? (name.EndsWith("_imagenet", StringComparison.Ordinal) ? 224 : 32)))
                .ToList();
            var output = parse.InvocationConfiguration.Output;
            switch (parse.GetRequiredValue(format))
            {
                case "csv":
                    output.WriteLine("model,parameters,macs,image_size,features,logits");
                    foreach (var s in summaries)
                    {
                        output.WriteLine(string.Join(',', s.Name, s.Parameters.ToString(CultureInfo.InvariantCulture), s.Macs.ToString(CultureInfo.InvariantCulture),
                            s.ImageSize.ToString(CultureInfo.InvariantCulture), Shapes(s.FeatureShapes).Replace(',', 'x'), Shape(s.LogitsShape).Replace(',', 'x')));
                    }
                    break;
                case "json":
                    var rows = summaries.Select(s => new
                    {
                        model = s.Name, parameters = s.Parameters, macs = s.Macs, imageSize = s.ImageSize,
                        features = s.FeatureShapes, preactFeatures = s.PreActFeatureShapes, logits = s.LogitsShape,
                    });
                    output.WriteLine(JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
                    break;
                default:
                    var table = new Table().Border(TableBorder.Simple);
                    table.AddColumns("model", "parameters", "MACs", "input", "features (without batch)", "logits");
                    foreach (var col in new[] { 1, 2 }) table.Columns[col].RightAligned();
                    foreach (var s in summaries)
                    {
                        table.AddRow(s.Name, s.Parameters.ToString("N0", CultureInfo.InvariantCulture), FormatMacs(s.Macs),
                            $"{c}x{s.ImageSize}x{s.ImageSize}", Markup.Escape(Shapes(s.FeatureShapes)), Markup.Escape(Shape(s.LogitsShape)));
                    }
                    var console = AnsiConsole.Create(new AnsiConsoleSettings
                    {
                        Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
                    });
                    console.Profile.Width = 200;
                    console.Write(table);
                    output.WriteLine($"{summaries.Count} models, {n} classes; MACs count convolutions and linear layers for one image.");
                    break;
            }
            return 0;
        });
        return command;
    }

    private static string Shape(long[] s) => "[" + string.Join(',', s.Skip(1)) + "]";

    private static string Shapes(IEnumerable<long[]> shapes) => string.Join(' ', shapes.Select(Shape));

    private static string FormatMacs(long macs) => macs >= 1_000_000_000
        ? (macs / 1e9).ToString("F3", CultureInfo.InvariantCulture) + "G"
        : (macs / 1e6).ToString("F1", CultureInfo.InvariantCulture) + "M";
}
