namespace FlushLab.Producer;

/// <summary>
/// Where sent batches go. The sample does no I/O: the sink copies each batch into one reusable
/// "socket buffer" (standing in for the kernel copy of a socket write) and counts what it receives.
/// </summary>
internal sealed class BatchSink(int capacity)
{
    private readonly byte[] _wire = new byte[capacity];
    private long _bytes;
    private long _batches;
    private uint _digest;

    internal long Bytes => Volatile.Read(ref _bytes);

    internal long Batches => Volatile.Read(ref _batches);

    internal uint Digest => _digest;

    /// <summary>Not thread-safe: callers hold the sender's <c>_sendLock</c>.</summary>
    internal void Write(ReadOnlySpan<byte> data, uint batchChecksum)
    {
        data.CopyTo(_wire);
        _digest = (_digest * 31) ^ batchChecksum;
        Volatile.Write(ref _bytes, _bytes + data.Length);
        Volatile.Write(ref _batches, _batches + 1);
    }
}
