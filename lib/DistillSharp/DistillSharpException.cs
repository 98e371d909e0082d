namespace DistillSharp;

/// <summary>
/// An error caused by the user's input or environment (a missing dataset, an unknown model name, a bad
/// parameter value). Its message names the thing that is wrong and how to fix it; the command-line
/// program prints the message alone, without a stack trace.
/// </summary>
public sealed class DistillSharpException : Exception
{
    /// <summary>Creates the error with a message that names the problem and its fix.</summary>
    public DistillSharpException(string message) : base(message) { }

    /// <summary>Creates the error with a message and the lower-level cause.</summary>
    public DistillSharpException(string message, Exception inner) : base(message, inner) { }
}
