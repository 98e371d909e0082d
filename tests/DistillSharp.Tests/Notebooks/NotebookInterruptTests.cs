using System.Diagnostics;
using System.Runtime.InteropServices;
using DistillSharp.Cli;
using DistillSharp.Notebooks;
using static DistillSharp.Tests.Notebooks.NotebookFixtures;

namespace DistillSharp.Tests.Notebooks;

/// <summary>
/// Ctrl+C (SIGINT) while a cell runs: before, the process died and the notebook lost that cell's output and did not
/// say it was interrupted. Now the cell's output so far and a KeyboardInterrupt error are written, and the exit code is 130.
/// </summary>
public sealed class NotebookInterruptTests : IDisposable
{
    private const int SigInt = 2;
    private readonly string folder = Directory.CreateTempSubdirectory("distill-nbint-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private static Notebook SleepingNotebook() => Create(
        Code("Console.WriteLine(\"first cell\");"),
        Code("Console.WriteLine(\"before the sleep\");\nSystem.Threading.Thread.Sleep(120_000);\nConsole.WriteLine(\"after the sleep\");"),
        Code("Console.WriteLine(\"not run\");"));

    [Fact]
    public async Task SigintDuringACellWritesItsOutputSoFarAndAKeyboardInterruptAndExits130()
    {
        var input = Write(SleepingNotebook(), folder, "sleeps.ipynb");
        var output = Path.Combine(folder, "sleeps.out.ipynb");
        var cli = Path.Combine(AppContext.BaseDirectory, "distill.dll");
        var start = new ProcessStartInfo("dotnet", [cli, "run", input, "--out", output])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = folder,
        };
        using var child = Process.Start(start)!;
        try
        {
            var stderr = child.StandardError.ReadToEndAsync();
            // The terminal view passes a cell's output through as it is written: wait for the sleeping cell's line.
            var reached = Task.Run(() =>
            {
                for (string? line; (line = child.StandardOutput.ReadLine()) is not null;)
                {
                    if (line == "before the sleep") return true;
                }
                return false;
            });
            Assert.True(await reached.WaitAsync(TimeSpan.FromSeconds(120)), "the child never printed the sleeping cell's line");
            var clock = Stopwatch.StartNew();
            Assert.Equal(0, Kill(child.Id, SigInt));
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                await child.WaitForExitAsync(timeout.Token);                                      // throws when the run does not end
            }
            Assert.InRange(clock.Elapsed.TotalSeconds, 0, 60);                                 // long before the 120 s sleep ends

            Assert.Equal(CliApp.Interrupted, child.ExitCode);
            var err = await stderr;
            Assert.Matches(@"interrupted \(Ctrl\+C\): stopped after \d+\.\d s in cell 2; the cells after it did not run\. " +
                $"The notebook so far, with that cell's output, is in {System.Text.RegularExpressions.Regex.Escape(output)}", err);

            var text = File.ReadAllText(output);
            Assert.Empty(NbformatRules.Check(text));
            var written = NotebookFile.Read(output);
            Assert.Equal("first cell\n", Stdout(written.Cells[0]));
            var interrupted = written.Cells[1];
            Assert.Equal(2, interrupted.ExecutionCount);
            Assert.Equal(["stream", "error"], interrupted.Outputs.Select(o => o.OutputType));
            Assert.Equal("before the sleep\n", Stdout(interrupted));                              // and not "after the sleep"
            var error = Assert.IsType<ErrorOutput>(interrupted.Outputs[1]);
            Assert.Equal("KeyboardInterrupt", error.Name);
            Assert.Matches(@"^stopped after \d+\.\d s in cell 2; the cells after it did not run$", error.Value);
            Assert.Equal($"KeyboardInterrupt: {error.Value}", Assert.Single(error.Traceback));
            Assert.Equal("interrupted", interrupted.Metadata["distill"]!["status"]!.GetValue<string>());
            Assert.Null(written.Cells[2].ExecutionCount);                                         // not run
            Assert.Empty(written.Cells[2].Outputs);
            Assert.Equal("interrupted", written.Metadata["distill"]!["status"]!.GetValue<string>());
        }
        finally
        {
            if (!child.HasExited) child.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task ALibraryRunStopsWhenItsTokenFiresAndKeepsTheCellsOutput()
    {
        using var cancel = new CancellationTokenSource();
        var observer = new CancelOnLine("before the sleep", cancel);
        var output = Path.Combine(folder, "library.ipynb");
        var clock = Stopwatch.StartNew();
        var run = await NotebookRunner.RunAsync(SleepingNotebook(), new NotebookRunOptions { OutputPath = output, Observer = observer }, cancel.Token);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0, 60);

        Assert.True(run.Interrupted);
        Assert.False(run.Succeeded);
        Assert.Equal(2, run.Failure!.Cell);
        Assert.Equal(NotebookRunner.InterruptName, run.Failure.Error.Name);
        Assert.Equal("before the sleep\n", Stdout(run.Notebook.Cells[1]));
        var written = NotebookFile.Read(output);
        Assert.Equal(["stream", "error"], written.Cells[1].Outputs.Select(o => o.OutputType));
        Assert.Equal("interrupted", written.Metadata["distill"]!["status"]!.GetValue<string>());
        Assert.Contains("finished cell 2/3 KeyboardInterrupt", observer.Events);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private sealed class CancelOnLine(string line, CancellationTokenSource cancel) : INotebookRunObserver
    {
        public List<string> Events { get; } = new();

        public void CellStarted(string label) { }

        public void CellWrote(string label, string stream, string text)
        {
            if (text.Contains(line, StringComparison.Ordinal)) cancel.Cancel();
        }

        public void CellDisplayed(string label, RichOutput output) { }

        public void CellFinished(string label, TimeSpan elapsed, ErrorOutput? error)
        {
            lock (Events) Events.Add($"finished {label} {error?.Name ?? "ok"}");
        }
    }
}
