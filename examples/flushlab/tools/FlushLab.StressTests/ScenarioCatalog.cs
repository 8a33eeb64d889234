using FlushLab.Producer;

namespace FlushLab.StressTests;

internal enum WorkloadKind
{
    /// <summary>Producer threads calling Produce flat out, plus a checkpoint thread flushing every 3 s.</summary>
    ProducerThreads,

    /// <summary>One async loop calling ProduceAsync; every 3 s it pauses briefly and awaits FlushAsync.</summary>
    AsyncCheckpoints,
}

internal sealed record ScenarioDefinition(string Name, SeededProblem Seed, WorkloadKind Kind, string Description);

internal static class ScenarioCatalog
{
    internal static readonly IReadOnlyList<ScenarioDefinition> All =
    [
        new("healthy", SeededProblem.None, WorkloadKind.ProducerThreads,
            "Control: no seeded problem (table CRC, no per-message allocation or lock)"),
        new("hot", SeededProblem.HotChecksum, WorkloadKind.ProducerThreads,
            "CPU hot spot: bit-by-bit Crc32Naive.Compute re-verifies every record"),
        new("alloc", SeededProblem.PerMessageAllocation, WorkloadKind.ProducerThreads,
            "Per-message byte[] (RecordAccumulator.EncodeRecord) next to per-batch RecordBatch allocations"),
        new("lock", SeededProblem.GlobalAppendLock, WorkloadKind.ProducerThreads,
            "Lock contention: 4 producer threads take one shared lock per message"),
        new("sync-over-async", SeededProblem.SyncOverAsync, WorkloadKind.ProducerThreads,
            "Thread-pool starvation: Produce blocks pool threads on an async path that needs the pool"),
        new("async-hang", SeededProblem.LostFlushWaiter, WorkloadKind.AsyncCheckpoints,
            "Async hang: after ~3 s FlushAsync awaits a waiter nobody completes (no thread blocked)"),
        new("deadlock", SeededProblem.LockOrderDeadlock, WorkloadKind.ProducerThreads,
            "Deadlock: after ~3 s flush and sender take _batchLock/_sendLock in opposite order"),
    ];

    internal static ScenarioDefinition? Find(string name)
    {
        foreach (ScenarioDefinition definition in All)
        {
            if (string.Equals(definition.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return definition;
            }
        }

        return null;
    }
}
