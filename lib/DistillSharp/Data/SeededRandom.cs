namespace DistillSharp.Data;

/// <summary>
/// A small, fast pseudo-random generator (xoshiro256**, seeded through SplitMix64) whose output depends
/// only on its seed: not on libtorch's version, the device or the thread count. The loaders derive one
/// from (seed, stream, epoch[, batch]) with <see cref="Derive"/>, so any epoch (and any batch) can be
/// replayed on its own, e.g. after resuming a run.
/// </summary>
internal sealed class SeededRandom
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Creates a generator from a 64-bit seed.</summary>
    public SeededRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>A generator whose seed mixes all <paramref name="parts"/> (order matters).</summary>
    public static SeededRandom Derive(params long[] parts) => new(Mix(parts));

    /// <summary>Mixes the parts into one 64-bit seed; different part lists give unrelated seeds.</summary>
    public static ulong Mix(params long[] parts)
    {
        ulong h = 0x9E3779B97F4A7C15UL ^ (ulong)parts.Length;
        foreach (var p in parts)
        {
            ulong x = h ^ (ulong)p;
            h = SplitMix64(ref x) ^ (h * 0xBF58476D1CE4E5B9UL);
        }
        ulong y = h;
        return SplitMix64(ref y);
    }

    private static ulong SplitMix64(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        ulong z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform integer in [0, <paramref name="bound"/>) without modulo bias (Lemire's method).</summary>
    public long NextBelow(long bound)
    {
        if (bound <= 0) throw new ArgumentOutOfRangeException(nameof(bound), bound, "bound must be positive");
        ulong b = (ulong)bound;
        ulong x = NextUInt64();
        UInt128 m = (UInt128)x * b;
        ulong low = (ulong)m;
        if (low < b)
        {
            ulong threshold = (0UL - b) % b;
            while (low < threshold)
            {
                x = NextUInt64();
                m = (UInt128)x * b;
                low = (ulong)m;
            }
        }
        return (long)(m >> 64);
    }

    /// <summary>A uniform double in [0, 1): the top 53 bits of <see cref="NextUInt64"/> times 2^-53.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform double in [<paramref name="low"/>, <paramref name="high"/>): <c>low + (high - low) * NextDouble()</c>.</summary>
    public double NextUniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>A uniformly random permutation of 0..n-1 (Fisher-Yates).</summary>
    public long[] Permutation(long n)
    {
        var p = new long[n];
        for (long i = 0; i < n; i++) p[i] = i;
        Shuffle(p);
        return p;
    }

    /// <summary>Shuffles <paramref name="values"/> in place (Fisher-Yates).</summary>
    public void Shuffle(long[] values)
    {
        for (long i = values.LongLength - 1; i > 0; i--)
        {
            long j = NextBelow(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }
}

/// <summary>Stream identifiers that keep the seeded generators of different uses independent.</summary>
internal static class Streams
{
    public const long Shuffle = 0x5348_5546;   // "SHUF"
    public const long Augment = 0x4155_474D;   // "AUGM"
    public const long Subset = 0x5355_4253;    // "SUBS"
    public const long Crop = 0x4352_4F50;      // "CROP": decode-time crops of streamed images, per (epoch, sample)
}
