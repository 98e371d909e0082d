namespace DistillSharp.Reporting;

/// <summary>
/// Where a program that runs notebooks (the headless host in lib/DistillSharp.Notebooks, behind <c>distill run</c>)
/// plugs into the library, so that the library's notebook-facing code (<see cref="NotebookResults"/>,
/// <see cref="NotebookProgress"/>) needs no notebook machinery of its own. Under .NET Interactive nothing is set,
/// and both fall back to what works there.
/// </summary>
public static class NotebookHost
{
    /// <summary>
    /// The results table's path for the calling code (the host answers for the notebook run the code belongs to),
    /// or null to fall back to the environment variable; null when no host is installed.
    /// </summary>
    public static Func<string?>? ResultsPath { get; set; }

    /// <summary>
    /// Shows a value in the running cell and returns the action that replaces it in place, or null outside a host
    /// (then <see cref="NotebookProgress"/> prints its status lines instead).
    /// </summary>
    public static Func<object?, Action<object?>>? Display { get; set; }
}
