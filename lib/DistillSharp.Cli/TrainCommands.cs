using System.CommandLine;
using System.Globalization;
using DistillSharp.Data;
using DistillSharp.Distillers;
using DistillSharp.Training;

namespace DistillSharp.Cli;

/// <summary><c>distill train</c> (a network alone: teachers and baselines) and <c>distill distill</c> (a method from a teacher).</summary>
internal static class TrainCommands
{
    public static Command Train()
    {
        var options = new RunOptions();
        var model = new Option<string?>("--model") { Description = "Network to train (see 'distill zoo'); default: the profile's teacher." };
        var command = new Command("train", "Train a network alone with cross-entropy (teachers and student baselines).") { model };
        options.AddTo(command);
        command.SetAction(parse =>
        {
            var spec = options.ToSpec(parse, StudentAlone.Name, parse.GetValue(model), null, new Dictionary<string, double>());
            return Execute(parse, options, spec);
        });
        return command;
    }

    public static Command Distill()
    {
        var options = new RunOptions();
        var method = new Option<string>("--method") { Description = $"Method: {string.Join(" | ", DistillerRegistry.Names)}.", Required = true };
        var teacher = new Option<string?>("--teacher") { Description = "Teacher: a run folder (its last checkpoint) or a checkpoint file." };
        var student = new Option<string?>("--student") { Description = "Student network (see 'distill zoo'); default: the profile's student." };
        // The method's own range applies too ('distill methods' lists it); here, what any number must be.
        var gamma = new NumberOption("--gamma", "Weight of the cross-entropy term (method parameter 'gamma')", ValueRange.Float32);
        var alpha = new NumberOption("--alpha", "Weight of the KD term (method parameter 'alpha')", ValueRange.Float32);
        var beta = new NumberOption("--beta", "Weight of the method's own term (method parameter 'beta')", ValueRange.Float32);
        var temperature = new NumberOption("--temperature", "KD temperature T (method parameter 'temperature')", ValueRange.Float32);
        var parameters = new Option<string[]>("--param", "-P") { Description = "Any method parameter as name=value (repeatable); 'distill methods' lists them.", AllowMultipleArgumentsPerToken = false };
        var command = new Command("distill", "Distil a teacher into a student with a method.") { method, teacher, student, gamma.Option, alpha.Option, beta.Option, temperature.Option, parameters };
        options.AddTo(command);
        command.SetAction(parse =>
        {
            var name = parse.GetRequiredValue(method);
            var entry = DistillerRegistry.Get(name);
            var items = parse.GetValue(parameters) ?? [];
            var given = ParseParameters(items, entry.Parameters);
            void Put(NumberOption option, string key)
            {
                if (option.Value(parse) is not double v) return;
                if (given.ContainsKey(key))
                {
                    var other = items.First(i => i.StartsWith(key + "=", StringComparison.Ordinal));
                    throw new DistillSharpException(
                        $"{option.Option.Name} {parse.GetValue(option.Option)} and -P {other} both set method parameter '{key}': give it once.");
                }
                given[key] = v;
            }
            Put(gamma, "gamma");
            Put(alpha, "alpha");
            Put(beta, "beta");
            Put(temperature, "temperature");
            var spec = options.ToSpec(parse, name, parse.GetValue(student), parse.GetValue(teacher), given);
            if (entry.NeedsTeacher && spec.Teacher is null)
            {
                throw new DistillSharpException($"method '{name}' needs --teacher: a run folder from 'distill train' or a checkpoint file.");
            }
            return Execute(parse, options, spec);
        });
        return command;
    }

    public static Command Methods()
    {
        var command = new Command("methods", "List the methods and their parameters with defaults.");
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            foreach (var name in DistillerRegistry.Names)
            {
                var e = DistillerRegistry.Get(name);
                output.WriteLine($"{e.Name}: {e.Summary}{(e.NeedsTeacher ? "" : " (no teacher)")}");
                foreach (var p in e.Parameters)
                {
                    string choices = p.Choices is null ? "" : $" (one of: {string.Join(" | ", p.Choices)})";
                    output.WriteLine($"    {p.Name,-12} {p.Format(p.Default),-8} {p.Description}{choices}");
                }
            }
            return 0;
        });
        return command;
    }

    private static int Execute(ParseResult parse, RunOptions options, RunSpec spec)
    {
        var output = parse.InvocationConfiguration.Output;
        // What Experiment.Run checks first, then whether the networks fit the dataset and its files are there: all
        // before a run folder is made.
        _ = new MethodSettings(spec.Method, DistillerRegistry.Get(spec.Method).Parameters, spec.MethodParameters);
        ModelDataFit.CheckRun(spec);
        DatasetCatalog.Check(spec.Dataset, DataLocation.Resolve(spec.DataDir));
        var folder = options.OutFolder(parse, spec);
        var progress = new ConsoleProgress(output, !Console.IsOutputRedirected && ReferenceEquals(output, Console.Out));
        bool resume = parse.GetValue(options.Resume), amend = parse.GetValue(options.Amend);
        if (amend && !resume) throw new DistillSharpException("--amend changes a run that is continued: use it with --resume.");
        var result = Experiment.Run(spec, folder, resume, progress, amend);
        output.WriteLine($"done: test top-1 {result.Last.TestTop1:F2}% after epoch {result.Last.Epoch} (best {result.Best.TestTop1:F2}% at epoch {result.Best.Epoch}); run folder {Path.GetFullPath(folder)}");
        return 0;
    }

    /// <summary>
    /// The <c>-P name=value</c> items by name; a name given twice is an error naming both items. The value of a choice
    /// parameter among <paramref name="known"/> may be the option's name, which becomes its code.
    /// </summary>
    internal static Dictionary<string, double> ParseParameters(IEnumerable<string> items, IEnumerable<MethodParameter>? known = null)
    {
        var choices = (known ?? []).Where(p => p.Choices is not null).GroupBy(p => p.Name).ToDictionary(g => g.Key, g => g.First());
        var result = new Dictionary<string, double>();
        var seen = new Dictionary<string, string>();
        foreach (var item in items)
        {
            int eq = item.IndexOf('=');
            if (eq <= 0)
            {
                throw new DistillSharpException($"--param '{item}' is not name=number, e.g. -P nce_k=4096.");
            }
            var name = item[..eq];
            if (seen.TryGetValue(name, out var first))
            {
                throw new DistillSharpException($"-P {first} and -P {item} both set method parameter '{name}': give it once.");
            }
            seen[name] = item;
            var text = item[(eq + 1)..];
            if (choices.TryGetValue(name, out var choice) && !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                result[name] = choice.ValueOf(text);
                continue;
            }
            // The method checks its own range later; no value beyond what libtorch can hold gets that far.
            result[name] = NumberOption.Parse($"--param {name}", text, ValueRange.Float32);
        }
        return result;
    }
}
