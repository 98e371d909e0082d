using System.Net;
using System.Security.Cryptography;

namespace DistillSharp.Data;

/// <summary>The hash algorithm of a <see cref="Checksum"/>.</summary>
public enum ChecksumAlgorithm
{
    /// <summary>MD5: what most dataset authors publish (CIFAR, Fashion-MNIST, CINIC-10).</summary>
    Md5,

    /// <summary>SHA-256.</summary>
    Sha256,
}

/// <summary>An expected file hash, as lowercase hex.</summary>
/// <param name="Algorithm">The hash algorithm.</param>
/// <param name="Hex">The expected digest in hex (any case).</param>
public sealed record Checksum(ChecksumAlgorithm Algorithm, string Hex)
{
    /// <summary>An expected MD5 digest.</summary>
    public static Checksum Md5(string hex) => new(ChecksumAlgorithm.Md5, hex.ToLowerInvariant());

    /// <summary>An expected SHA-256 digest.</summary>
    public static Checksum Sha256(string hex) => new(ChecksumAlgorithm.Sha256, hex.ToLowerInvariant());

    /// <summary>The digest of a file with <paramref name="algorithm"/>, as lowercase hex.</summary>
    public static string Compute(string path, ChecksumAlgorithm algorithm)
    {
        using var stream = File.OpenRead(path);
        var hash = algorithm == ChecksumAlgorithm.Md5 ? MD5.HashData(stream) : SHA256.HashData(stream);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>True when the file exists and has this digest.</summary>
    public bool Matches(string path) =>
        File.Exists(path) && string.Equals(Compute(path, Algorithm), Hex, StringComparison.OrdinalIgnoreCase);

    /// <summary>The checksum as <c>md5:HEX</c> or <c>sha256:HEX</c>.</summary>
    public override string ToString() => $"{(Algorithm == ChecksumAlgorithm.Md5 ? "md5" : "sha256")}:{Hex}";
}

/// <summary>A file to fetch: its name below a base URI and its expected checksum.</summary>
/// <param name="FileName">The file name, appended to the base URI and used for the local file.</param>
/// <param name="Checksum">The published checksum the download must match.</param>
public sealed record RemoteFile(string FileName, Checksum Checksum);

/// <summary>
/// Fetches dataset files over HTTP(S), or from <c>file://</c> URIs (local mirrors, tests), verifying each
/// against its published checksum. Each file is written to a temporary file in the target folder, checked,
/// and only then renamed to its final name, so an interrupted or corrupt download never leaves a file that
/// looks complete. Files already present with the right checksum are skipped.
/// </summary>
public sealed class DatasetDownloader : IDisposable
{
    private readonly HttpClient _client;
    private readonly bool _ownsClient;

    /// <summary>
    /// Creates a downloader that uses <paramref name="client"/>, or its own client (20 s connect timeout,
    /// 30 min overall) when it is null.
    /// </summary>
    public DatasetDownloader(HttpClient? client = null)
    {
        if (client is null)
        {
            var handler = new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(20),
                AutomaticDecompression = DecompressionMethods.None,
            };
            _client = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(30) };
            _ownsClient = true;
        }
        else
        {
            _client = client;
        }
    }

    /// <summary>Progress and skip messages go here when set.</summary>
    public TextWriter? Log { get; init; }

    /// <summary>
    /// Fetches every file of <paramref name="files"/> from <paramref name="baseUri"/> into
    /// <paramref name="targetDirectory"/> (created if needed), verifying each checksum.
    /// </summary>
    /// <exception cref="DistillSharpException">A download failed or a file's checksum did not match;
    /// the message names the URL and the problem.</exception>
    public void Download(Uri baseUri, IReadOnlyList<RemoteFile> files, string targetDirectory)
    {
        ArgumentNullException.ThrowIfNull(baseUri);
        ArgumentNullException.ThrowIfNull(files);
        var basePath = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
        Directory.CreateDirectory(targetDirectory);
        foreach (var file in files)
        {
            var target = Path.Combine(targetDirectory, file.FileName);
            if (file.Checksum.Matches(target))
            {
                Log?.WriteLine($"{target}: already there, {file.Checksum.Algorithm} verified");
                continue;
            }
            var uri = new Uri(basePath, Uri.EscapeDataString(file.FileName));
            Fetch(uri, target, file.Checksum);
            Log?.WriteLine($"{target}: fetched from {uri}, {file.Checksum.Algorithm} verified");
        }
    }

    private void Fetch(Uri uri, string target, Checksum checksum)
    {
        var directory = Path.GetDirectoryName(target)!;
        var temp = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.part");
        try
        {
            string actual;
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            using (var hash = IncrementalHash.CreateHash(checksum.Algorithm == ChecksumAlgorithm.Md5 ? HashAlgorithmName.MD5 : HashAlgorithmName.SHA256))
            {
                using (var input = Open(uri))
                {
                    var buffer = new byte[1 << 16];
                    int read;
                    while ((read = input.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        hash.AppendData(buffer, 0, read);
                        output.Write(buffer, 0, read);
                    }
                }
                output.Flush(flushToDisk: true);
                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            if (!string.Equals(actual, checksum.Hex, StringComparison.OrdinalIgnoreCase))
            {
                throw new DistillSharpException(
                    $"{uri}: checksum mismatch: expected {checksum} but the download has " +
                    $"{(checksum.Algorithm == ChecksumAlgorithm.Md5 ? "md5" : "sha256")}:{actual}. The file is damaged or not the " +
                    $"published one; nothing was written to {target}. Try again, or use another mirror.");
            }
            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or UnauthorizedAccessException)
        {
            throw new DistillSharpException($"{uri}: download failed: {e.Message}", e);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private Stream Open(Uri uri)
    {
        if (uri.IsFile) return File.OpenRead(uri.LocalPath);
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            throw new DistillSharpException($"{uri}: unsupported URI scheme '{uri.Scheme}'; use http, https or file.");
        var response = _client.Send(new HttpRequestMessage(HttpMethod.Get, uri), HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
        {
            var status = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
            response.Dispose();
            throw new HttpRequestException(status);
        }
        return new ResponseStream(response);
    }

    /// <summary>Disposes the HTTP client if the downloader created it.</summary>
    public void Dispose()
    {
        if (_ownsClient) _client.Dispose();
    }

    /// <summary>The response body; disposing it disposes the response.</summary>
    private sealed class ResponseStream(HttpResponseMessage response) : Stream
    {
        private readonly Stream _inner = response.Content.ReadAsStream();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                response.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
