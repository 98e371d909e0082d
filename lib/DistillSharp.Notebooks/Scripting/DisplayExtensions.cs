namespace DistillSharp.Notebooks.Scripting;

/// <summary>
/// <c>value.Display()</c> for notebook cells, as .NET Interactive has it. The runner imports this namespace by
/// default; a notebook should not import it itself, or the call becomes ambiguous under .NET Interactive.
/// </summary>
public static class DisplayExtensions
{
    /// <summary>Shows <paramref name="value"/> in the running cell's outputs (see <see cref="NotebookGlobals.display"/>).</summary>
    public static DisplayHandle Display(this object? value) => DisplayHandle.Show(value);
}
