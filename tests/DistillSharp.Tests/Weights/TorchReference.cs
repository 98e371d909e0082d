using System.Diagnostics;
using DistillSharp.Tests.Notebooks;
using TorchSharp;
using static TorchSharp.torch;

namespace DistillSharp.Tests.Weights;

/// <summary>
/// Runs tests/reference/weights_reference.py (and, by name, the other reference scripts) under Debian's PyTorch
/// (/usr/bin/python3 with python3-torch, which .ci/run installs). Without it the tests fail saying so: they are the
/// proof that the formats are PyTorch's.
/// </summary>
internal static class TorchReference
{
    private const string Python = "/usr/bin/python3";

    public static string Script => Path.Combine(SmokeRuns.RepositoryRoot(), "tests", "reference", "weights_reference.py");

    /// <summary>Runs the script with <paramref name="args"/>; returns its exit code and output.</summary>
    public static (int Code, string Output) Run(params string[] args) => RunScript(Script, args);

    /// <summary>Runs tests/reference/<paramref name="scriptName"/> with <paramref name="args"/> and asserts it succeeded.</summary>
    public static string RunScriptOk(string scriptName, params string[] args)
    {
        var (code, output) = RunScript(Path.Combine(SmokeRuns.RepositoryRoot(), "tests", "reference", scriptName), args);
        Assert.True(code == 0, $"{scriptName} {string.Join(' ', args)} exited {code}: {output}");
        return output;
    }

    private static (int Code, string Output) RunScript(string script, string[] args)
    {
        if (!File.Exists(Python)) Assert.Fail($"{Python} is missing: install Debian's python3-torch (apt-get install -y python3-torch; .ci/run does).");
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var output = stdout + stderr.Result;
        if (output.Contains("No module named 'torch'", StringComparison.Ordinal))
        {
            Assert.Fail("Debian's python3-torch is not installed (apt-get install -y python3-torch; .ci/run does): " + output);
        }
        return (process.ExitCode, output);
    }

    /// <summary>Runs the script and asserts it succeeded.</summary>
    public static string RunOk(params string[] args)
    {
        var (code, output) = Run(args);
        Assert.True(code == 0, $"weights_reference.py {string.Join(' ', args)} exited {code}: {output}");
        return output;
    }

    /// <summary>Reads a little-endian float32 file as a tensor of <paramref name="shape"/>.</summary>
    public static Tensor ReadFloats(string path, params long[] shape)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return torch.tensor(values).reshape(shape);
    }

    /// <summary>Writes <paramref name="t"/> as little-endian float32.</summary>
    public static void WriteFloats(string path, Tensor t)
    {
        using var c = t.detach().cpu().contiguous().to(ScalarType.Float32);
        var values = c.data<float>().ToArray();
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        File.WriteAllBytes(path, bytes);
    }
}
