namespace FlushLab.Protocol;

/// <summary>
/// Table-driven CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), one table lookup per byte.
/// This is the checksum every hot path uses: System.IO.Hashing is deliberately not referenced.
/// </summary>
public static class Crc32Table
{
    public const uint Polynomial = 0xEDB88320u;

    private static readonly uint[] s_table = CreateTable();

    /// <summary>CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(0xFFFFFFFFu, data);

    /// <summary>Continues a running (pre-inverted) CRC over <paramref name="data"/>.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<uint> table = s_table;
        foreach (byte value in data)
        {
            crc = table[(byte)(crc ^ value)] ^ (crc >> 8);
        }

        return crc;
    }

    private static uint[] CreateTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < table.Length; i++)
        {
            uint entry = i;
            for (int bit = 0; bit < 8; bit++)
            {
                entry = (entry & 1) != 0 ? (entry >> 1) ^ Polynomial : entry >> 1;
            }

            table[i] = entry;
        }

        return table;
    }
}
