using System.Buffers.Binary;

namespace FlushLab.Protocol;

/// <summary>
/// Layout of one record inside a batch: <c>[int32 payload length][uint32 CRC-32 of payload][payload]</c>,
/// little-endian.
/// </summary>
public static class RecordFormat
{
    public const int HeaderSize = 8;

    public static int SizeOf(int payloadLength) => HeaderSize + payloadLength;

    public static void Write(Span<byte> destination, ReadOnlySpan<byte> payload, uint checksum)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], checksum);
        payload.CopyTo(destination[HeaderSize..]);
    }
}
