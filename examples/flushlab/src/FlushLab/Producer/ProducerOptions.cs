namespace FlushLab.Producer;

/// <summary>Settings of a <see cref="MessageProducer"/>.</summary>
public sealed class ProducerOptions
{
    /// <summary>Capacity of one batch buffer in bytes (records plus their 8-byte headers).</summary>
    public int BatchSizeBytes { get; init; } = 1024 * 1024;

    /// <summary>Maximum records per batch; a batch is sealed as soon as it is full.</summary>
    public int MaxRecordsPerBatch { get; init; } = 1000;

    /// <summary>Open plus queued batches allowed before producers wait (back-pressure).</summary>
    public int MaxBatchesInFlight { get; init; } = 16;

    /// <summary>How long an idle, partly filled batch may wait before the sender seals it.</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>The planted problem, if any (<see cref="SeededProblem.None"/> for the healthy control).</summary>
    public SeededProblem Seed { get; init; } = SeededProblem.None;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSizeBytes, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRecordsPerBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBatchesInFlight, 2);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Linger, TimeSpan.Zero);
    }
}
