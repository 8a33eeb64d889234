namespace FlushLab.Producer;

/// <summary>
/// The open batch of one producing thread. Only that thread appends to <see cref="Current"/>, so appends
/// need no lock; other threads (flush, linger) seal it with the <see cref="Writing"/> handshake.
/// </summary>
internal sealed class ProducerLane
{
    /// <summary>The open batch; replaced only by the owning thread.</summary>
    internal RecordBatch? Current;

    /// <summary>1 while the owner is inside its write section.</summary>
    internal int Writing;
}
