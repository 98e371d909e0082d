// An MSBuild task, compiled by RoslynCodeTaskFactory (see TorchSharpNative.targets).
//
// TorchSharp 0.107's libLibTorchSharp.so was linked against GCC 13's libstdc++ and so lists the version
// GLIBCXX_3.4.32 among the versions it needs from libstdc++.so.6, for one symbol
// (std::ios_base_library_init) that no relocation uses. glibc refuses to load a library that needs a
// version the system libstdc++ lacks (Debian 12 and Ubuntu 22.04 ship 3.4.30). ELF lets a version need
// be marked weak (VER_FLG_WEAK in its Vernaux entry): the loader then accepts its absence. This task sets
// that flag in the copy of the library in the build output, only when the system libstdc++ lacks the
// version. The file in the NuGet cache is never opened for writing: the patched bytes are written to a
// temporary file that replaces the output copy by rename.
#nullable enable
using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class WeakenElfVersionNeed : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    /// <summary>The ELF files to patch (missing ones are skipped).</summary>
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The version need to mark weak, e.g. GLIBCXX_3.4.32.</summary>
    [Required] public string VersionName { get; set; } = "";

    /// <summary>Candidate paths of the system library that would provide the version.</summary>
    [Required] public string[] ProviderCandidates { get; set; } = Array.Empty<string>();

    public override bool Execute()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return true;
        foreach (var candidate in ProviderCandidates)
        {
            if (File.Exists(candidate) && Contains(File.ReadAllBytes(candidate), Encoding.ASCII.GetBytes(VersionName)))
            {
                Log.LogMessage(MessageImportance.Low, $"{candidate} provides {VersionName}: no native patch needed.");
                return true;
            }
        }
        foreach (var item in Files)
        {
            var path = item.ItemSpec;
            if (!File.Exists(path)) continue;
            var bytes = File.ReadAllBytes(path);
            string? error;
            var changed = MarkWeak(bytes, VersionName, out error);
            if (error != null) { Log.LogWarning($"{path}: {error}; TorchSharp may fail to load on this system."); continue; }
            if (!changed) continue;
            var temp = path + ".weak.tmp";
            File.WriteAllBytes(temp, bytes);
            File.Replace(temp, path, null); // a rename: the old inode (never the NuGet cache) is left alone
            Log.LogMessage(MessageImportance.High,
                $"DistillSharp: marked the {VersionName} requirement weak in {path} (this system's libstdc++ lacks it; see README, 'Native compatibility').");
        }
        return true;
    }

    /// <summary>Sets VER_FLG_WEAK on every Vernaux entry named <paramref name="version"/>; true when a byte changed.</summary>
    public static bool MarkWeak(byte[] elf, string version, out string? error)
    {
        error = null;
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
        { error = "not an ELF file"; return false; }
        if (elf[4] != 2 || elf[5] != 1) { error = "not a 64-bit little-endian ELF file"; return false; }
        ulong shoff = BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A);
        int shnum = BitConverter.ToUInt16(elf, 0x3C);
        bool changed = false;
        for (int i = 0; i < shnum; i++)
        {
            int sh = checked((int)shoff + i * shentsize);
            uint type = BitConverter.ToUInt32(elf, sh + 4);
            if (type != ShtGnuVerneed) continue;
            int offset = checked((int)BitConverter.ToUInt64(elf, sh + 0x18));
            int link = (int)BitConverter.ToUInt32(elf, sh + 0x28);
            int strtab = checked((int)BitConverter.ToUInt64(elf, checked((int)shoff + link * shentsize) + 0x18));
            int need = offset;
            while (true)
            {
                int count = BitConverter.ToUInt16(elf, need + 2);
                int aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
                for (int a = 0; a < count; a++)
                {
                    int nameOffset = strtab + (int)BitConverter.ToUInt32(elf, aux + 8);
                    int end = Array.IndexOf(elf, (byte)0, nameOffset);
                    string name = Encoding.ASCII.GetString(elf, nameOffset, end - nameOffset);
                    ushort flags = BitConverter.ToUInt16(elf, aux + 4);
                    if (name == version && (flags & VerFlagWeak) == 0)
                    {
                        flags |= VerFlagWeak;
                        elf[aux + 4] = (byte)(flags & 0xff);
                        elf[aux + 5] = (byte)(flags >> 8);
                        changed = true;
                    }
                    uint nextAux = BitConverter.ToUInt32(elf, aux + 12);
                    if (nextAux == 0) break;
                    aux += (int)nextAux;
                }
                uint next = BitConverter.ToUInt32(elf, need + 12);
                if (next == 0) break;
                need += (int)next;
            }
        }
        return changed;
    }

    private static bool Contains(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }
}
