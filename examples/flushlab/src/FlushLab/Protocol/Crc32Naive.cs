using System.Runtime.CompilerServices;

namespace FlushLab.Protocol;

/// <summary>
/// Bit-by-bit CRC-32, the textbook reference implementation (eight shift/xor steps per byte, no table).
/// It exists to cross-check <see cref="Crc32Table"/> in tests. It is several times slower than the
/// table version and must never run per message.
/// </summary>
public static class Crc32Naive
{
    // NoInlining: keeps this frame in sampled stacks, so a profile names the method that burns the CPU
    // instead of folding its cost into the caller.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte value in data)
        {
            crc ^= value;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ Crc32Table.Polynomial : crc >> 1;
            }
        }

        return ~crc;
    }
}
