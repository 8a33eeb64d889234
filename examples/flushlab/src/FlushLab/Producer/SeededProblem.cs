namespace FlushLab.Producer;

/// <summary>
/// One deliberately planted performance problem, so a profiler has something known to find.
/// <see cref="None"/> is the healthy control. Each seeded code path is marked "SEEDED ON PURPOSE" in the
/// source, next to what an expert reading a trace should conclude.
/// </summary>
public enum SeededProblem
{
    /// <summary>No planted problem (the control).</summary>
    None = 0,

    /// <summary>Every record is re-verified with the bit-by-bit <c>Crc32Naive.Compute</c>: one method dominates CPU.</summary>
    HotChecksum,

    /// <summary>Every record is encoded into a fresh <c>byte[]</c> before it is copied into the batch.</summary>
    PerMessageAllocation,

    /// <summary>Every append takes one lock shared by all producer threads.</summary>
    GlobalAppendLock,

    /// <summary>The flush path and the sender take <c>_batchLock</c> and <c>_sendLock</c> in opposite order.</summary>
    LockOrderDeadlock,

    /// <summary>A flush waiter registered after its batches were already sent is never completed.</summary>
    LostFlushWaiter,

    /// <summary><c>Produce</c> hands each message to the thread pool and blocks there on the async path.</summary>
    SyncOverAsync,
}
