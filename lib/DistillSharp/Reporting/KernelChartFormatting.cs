using System.Reflection;
using Plotly.NET;

namespace DistillSharp.Reporting;

/// <summary>
/// Makes charts shown under the .NET Interactive kernel carry <see cref="ChartOutput"/>'s representations (the HTML
/// that draws without require.js, with the PNG inside it, the PNG itself, and text) instead of only Plotly.NET.Interactive's
/// require.js HTML, so that a notebook executed in Jupyter or VS Code and then committed still shows its charts in
/// viewers that run no scripts (GitHub, nbconvert). The library holds no reference to .NET Interactive: the kernel's
/// <c>Formatter.Register(Type, Action&lt;object, TextWriter&gt;, string)</c> and
/// <c>Formatter.SetPreferredMimeTypesFor(Type, string[])</c> are found by reflection in the process that hosts the
/// kernel, and nothing happens anywhere else (the distill program and the tests format charts themselves). The plotly
/// JSON representation is left out here: the kernel would send it as a string, which the plotly renderers cannot read.
/// </summary>
internal static class KernelChartFormatting
{
    private static int done;

    /// <summary>Registers the formatters once, when the kernel's formatting library is loaded; true when it did.</summary>
    public static bool TryRegister()
    {
        if (Volatile.Read(ref done) == 1) return true;
        var formatting = AppDomain.CurrentDomain.GetAssemblies()
            .FirstOrDefault(a => a.GetName().Name == "Microsoft.DotNet.Interactive.Formatting");
        var formatter = formatting?.GetType("Microsoft.DotNet.Interactive.Formatting.Formatter");
        var register = formatter?.GetMethod("Register", BindingFlags.Public | BindingFlags.Static, null,
            [typeof(Type), typeof(Action<object, TextWriter>), typeof(string)], null);
        var prefer = formatter?.GetMethod("SetPreferredMimeTypesFor", BindingFlags.Public | BindingFlags.Static, null,
            [typeof(Type), typeof(string[])], null);
        if (register is null || prefer is null) return false;
        if (Interlocked.Exchange(ref done, 1) == 1) return true;

        string[] mimeTypes = [ChartOutput.HtmlMimeType, ChartOutput.PngMimeType, ChartOutput.PlainTextMimeType];
        foreach (var mime in mimeTypes)
        {
            Action<object, TextWriter> write = (value, writer) =>
            {
                if (value is GenericChart chart && ChartOutput.Bundle(chart).TryGetValue(mime, out var text)) writer.Write(text);
            };
            register.Invoke(null, [typeof(GenericChart), write, mime]);
        }
        prefer.Invoke(null, [typeof(GenericChart), mimeTypes]);
        return true;
    }
}
