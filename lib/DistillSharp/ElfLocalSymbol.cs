using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace DistillSharp;

/// <summary>
/// Looks up a function in an ELF64 shared library's full symbol table (<c>.symtab</c>), which also lists the local
/// symbols that the dynamic symbol table omits. Used by <see cref="OneDnnCacheSizes"/>; reads only the two tables.
/// </summary>
internal static class ElfLocalSymbol
{
    private const uint ShtSymtab = 2;
    private const int SymbolEntrySize = 24;
    private const int Chunk = 8 << 20;
    private static readonly byte[] ElfMagic = [0x7F, (byte)'E', (byte)'L', (byte)'F'];

    /// <summary>The value (address relative to the load base) and size of the defined function named <paramref name="name"/>, or null.</summary>
    public static (ulong Value, ulong Size)? Find(string path, string name)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var header = Read(file, 0, 64);
        if (!header.AsSpan(0, 4).SequenceEqual(ElfMagic) || header[4] != 2 || header[5] != 1)
            throw new InvalidDataException($"{path} is not a 64-bit little-endian ELF file");
        var sectionsAt = (long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(0x28));
        int sectionSize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3A));
        int sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3C));
        var sections = Read(file, sectionsAt, sectionSize * sectionCount);

        for (int i = 0; i < sectionCount; i++)
        {
            var s = sections.AsSpan(i * sectionSize, sectionSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(s[4..]) != ShtSymtab) continue;
            var symbolsAt = (long)BinaryPrimitives.ReadUInt64LittleEndian(s[0x18..]);
            var symbolsSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(s[0x20..]);
            var link = (int)BinaryPrimitives.ReadUInt32LittleEndian(s[0x28..]);
            var strings = sections.AsSpan(link * sectionSize, sectionSize);
            var stringsAt = (long)BinaryPrimitives.ReadUInt64LittleEndian(strings[0x18..]);
            var stringsSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(strings[0x20..]);

            var names = NameOffsets(file, stringsAt, stringsSize, Encoding.ASCII.GetBytes(name + "\0"));
            if (names.Count == 0) return null;
            return Lookup(file, symbolsAt, symbolsSize, names);
        }
        return null;
    }

    /// <summary>Offsets within the string table at which <paramref name="needle"/> (the name and its terminator) starts.</summary>
    private static HashSet<uint> NameOffsets(SafeFileHandle file, long at, long size, byte[] needle)
    {
        var found = new HashSet<uint>();
        var buffer = new byte[Chunk + needle.Length];
        for (long done = 0; done < size;)
        {
            int count = (int)Math.Min(buffer.Length, size - done);
            ReadExactly(file, at + done, buffer.AsSpan(0, count));
            var span = buffer.AsSpan(0, count);
            for (int from = 0; ;)
            {
                int hit = span[from..].IndexOf(needle);
                if (hit < 0) break;
                found.Add((uint)(done + from + hit));
                from += hit + 1;
            }
            if (done + count >= size) break;
            done += count - needle.Length + 1;   // overlap so that a name across two chunks is seen
        }
        return found;
    }

    private static (ulong, ulong)? Lookup(SafeFileHandle file, long at, long size, HashSet<uint> names)
    {
        var buffer = new byte[Chunk / SymbolEntrySize * SymbolEntrySize];
        for (long done = 0; done < size; done += buffer.Length)
        {
            int count = (int)Math.Min(buffer.Length, size - done);
            ReadExactly(file, at + done, buffer.AsSpan(0, count));
            for (int e = 0; e + SymbolEntrySize <= count; e += SymbolEntrySize)
            {
                var entry = buffer.AsSpan(e, SymbolEntrySize);
                if (!names.Contains(BinaryPrimitives.ReadUInt32LittleEndian(entry))) continue;
                bool function = (entry[4] & 0xF) == 2;
                bool defined = BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]) != 0;
                var value = BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]);
                if (function && defined && value != 0) return (value, BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]));
            }
        }
        return null;
    }

    private static byte[] Read(SafeFileHandle file, long at, int count)
    {
        var bytes = new byte[count];
        ReadExactly(file, at, bytes);
        return bytes;
    }

    private static void ReadExactly(SafeFileHandle file, long at, Span<byte> into)
    {
        while (into.Length > 0)
        {
            int n = RandomAccess.Read(file, into, at);
            if (n <= 0) throw new InvalidDataException("the ELF file ends inside a table its headers describe");
            into = into[n..];
            at += n;
        }
    }
}
