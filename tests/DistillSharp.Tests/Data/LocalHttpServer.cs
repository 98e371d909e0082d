using System.Net;
using System.Net.Sockets;

namespace DistillSharp.Tests.Data;

/// <summary>
/// A tiny HTTP server on 127.0.0.1 that serves in-memory files (404 otherwise), for downloader tests.
/// It stops when disposed.
/// </summary>
internal sealed class LocalHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, byte[]> _files;
    private readonly Task _loop;

    public LocalHttpServer(Dictionary<string, byte[]> files)
    {
        _files = files;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/data/");

    public int Requests;

    /// <summary>A loopback port that nothing listens on (bound and released at once).</summary>
    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            Interlocked.Increment(ref Requests);
            var name = context.Request.Url!.AbsolutePath.Replace("/data/", "", StringComparison.Ordinal);
            using var response = context.Response;
            if (_files.TryGetValue(Uri.UnescapeDataString(name), out var body))
            {
                response.StatusCode = 200;
                response.ContentLength64 = body.Length;
                await response.OutputStream.WriteAsync(body);
            }
            else
            {
                response.StatusCode = 404;
            }
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
