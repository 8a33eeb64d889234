using FlushLab.Protocol;

namespace FlushLab.Producer;

/// <summary>
/// Up to <see cref="ProducerOptions.MaxRecordsPerBatch"/> encoded records in one pooled buffer.
/// Written only by the thread that owns its <see cref="ProducerLane"/> until it is sealed; read by the
/// sender afterwards.
/// </summary>
internal sealed class RecordBatch
{
    private readonly byte[] _buffer;
    private readonly int[] _recordOffsets;
    private int _length;
    private int _count;
    private int _sealed;
    private uint _runningCrc = 0xFFFFFFFFu;

    internal RecordBatch(byte[] buffer, int maxRecords, long createdTimestamp)
    {
        _buffer = buffer;
        // Per-batch allocation (one small array per ~1000 records): acceptable by the project's rules.
        _recordOffsets = new int[maxRecords];
        CreatedTimestamp = createdTimestamp;
    }

    internal long CreatedTimestamp { get; }

    /// <summary>Position in send order, assigned when the batch is queued.</summary>
    internal long Sequence { get; set; }

    internal int Count => Volatile.Read(ref _count);

    internal int Length => _length;

    internal bool IsSealed => Volatile.Read(ref _sealed) != 0;

    internal byte[] Buffer => _buffer;

    internal ReadOnlySpan<byte> Data => _buffer.AsSpan(0, _length);

    /// <summary>CRC-32 of <see cref="Data"/>, maintained as records are appended.</summary>
    internal uint Checksum => ~_runningCrc;

    /// <summary>True once for the one caller that seals the batch (owner, flush or linger).</summary>
    internal bool TrySeal() => Interlocked.Exchange(ref _sealed, 1) == 0;

    /// <summary>Appends one record unless the batch is sealed or lacks room. Owner thread only.</summary>
    internal bool TryAppend(ReadOnlySpan<byte> payload, uint checksum)
    {
        int count = _count;
        int size = RecordFormat.SizeOf(payload.Length);
        if (IsSealed || count == _recordOffsets.Length || _buffer.Length - _length < size)
        {
            return false;
        }

        _recordOffsets[count] = _length;
        Span<byte> record = _buffer.AsSpan(_length, size);
        RecordFormat.Write(record, payload, checksum);
        _runningCrc = Crc32Table.Update(_runningCrc, record);
        _length += size;
        Volatile.Write(ref _count, count + 1);
        return true;
    }

    /// <summary>Appends an already encoded record. Owner thread only.</summary>
    internal bool TryAppendEncoded(ReadOnlySpan<byte> record)
    {
        int count = _count;
        if (IsSealed || count == _recordOffsets.Length || _buffer.Length - _length < record.Length)
        {
            return false;
        }

        _recordOffsets[count] = _length;
        record.CopyTo(_buffer.AsSpan(_length));
        _runningCrc = Crc32Table.Update(_runningCrc, record);
        _length += record.Length;
        Volatile.Write(ref _count, count + 1);
        return true;
    }

    /// <summary>True when another record of <paramref name="recordSize"/> bytes would not fit.</summary>
    internal bool IsFullFor(int recordSize) =>
        _count == _recordOffsets.Length || _buffer.Length - _length < recordSize;
}
