using System.Runtime.CompilerServices;
using FlushLab.Protocol;

namespace FlushLab.Producer;

/// <summary>
/// A tiny in-process producer shaped like a Kafka client: each record gets a CRC-32 and is appended to
/// the calling thread's batch (about 1000 records, batch CRC maintained on the way), a dedicated sender
/// thread "sends" each sealed batch (copies it into a sink, no I/O), and <see cref="FlushAsync"/> waits
/// until everything appended so far has been sent.
/// </summary>
public sealed class MessageProducer : IAsyncDisposable
{
    // Upper bound of messages handed to the thread pool at once (seeded SyncOverAsync path only).
    private const int MaxPendingHandoffs = 32;

    private readonly ProducerOptions _options;
    private readonly RecordAccumulator _accumulator;
    private readonly SenderLoop _sender;
    private readonly SemaphoreSlim _handoffs = new(MaxPendingHandoffs, MaxPendingHandoffs);
    private int _disposed;

    public MessageProducer(ProducerOptions? options = null)
    {
        _options = options ?? new ProducerOptions();
        _options.Validate();
        _accumulator = new RecordAccumulator(_options);
        _sender = new SenderLoop(_accumulator, _options);
        _sender.Start();
    }

    public SeededProblem Seed => _options.Seed;

    /// <summary>Records written to the sink so far.</summary>
    public long SentMessages => _sender.SentRecords;

    /// <summary>Batches written to the sink so far.</summary>
    public long SentBatches => _sender.SentBatches;

    /// <summary>Bytes (headers included) written to the sink so far.</summary>
    public long SentBytes => _sender.SentBytes;

    /// <summary>
    /// Appends one message (fire and forget). Returns once the message is in a batch; blocks only when
    /// the sender is behind by <see cref="ProducerOptions.MaxBatchesInFlight"/> batches.
    /// </summary>
    public void Produce(ReadOnlyMemory<byte> payload)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_options.Seed == SeededProblem.SyncOverAsync)
        {
            ProduceOnThreadPool(payload);
            return;
        }

        _accumulator.Append(payload.Span);
    }

    /// <summary>Appends one message; completes synchronously unless it has to wait for a batch slot.</summary>
    public ValueTask ProduceAsync(ReadOnlyMemory<byte> payload)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _options.Seed == SeededProblem.SyncOverAsync
            ? ProduceWithOffloadedChecksumAsync(payload)
            : _accumulator.AppendAsync(payload);
    }

    /// <summary>Completes when every message appended before the call has been sent.</summary>
    public async Task FlushAsync()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        long target = _options.Seed == SeededProblem.LockOrderDeadlock
            ? _accumulator.SealAllUnderBatchLock(_sender)
            : _accumulator.SealAll();
        await _sender.WhenSentAsync(target).ConfigureAwait(false);
    }

    // SEEDED ON PURPOSE (SeededProblem.SyncOverAsync), with ProduceBlocking and
    // ProduceWithOffloadedChecksumAsync. "Produce must never block the caller", so each message is handed
    // to the thread pool, where ProduceBlocking blocks (GetAwaiter().GetResult()) on the async produce
    // path (the one ProduceAsync takes under this seed), which needs another pool thread for its
    // offloaded checksum. Blocked pool threads wait for work queued behind them: the pool starves,
    // throughput collapses and the pool grows a thread at a time. Breaks "never .Result / .Wait() /
    // GetAwaiter().GetResult() in src/" and "no Task.Run or capturing lambdas in hot paths".
    // Expert finding: ThreadPoolWorkerThreadAdjustment events (reason Starvation or CooperativeBlocking),
    // a steadily rising pool thread count, many pool threads parked in Task waits under
    // FlushLab.Producer.MessageProducer.ProduceBlocking, and throughput far below the healthy run.
    // NoInlining (here and below): keeps these frames in sampled stacks.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ProduceOnThreadPool(ReadOnlyMemory<byte> payload)
    {
        _handoffs.Wait();
        _ = Task.Run(() => ProduceBlocking(payload));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ProduceBlocking(ReadOnlyMemory<byte> payload)
    {
        try
        {
            ProduceWithOffloadedChecksumAsync(payload).AsTask().GetAwaiter().GetResult();
        }
        finally
        {
            _handoffs.Release();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private async ValueTask ProduceWithOffloadedChecksumAsync(ReadOnlyMemory<byte> payload)
    {
        uint checksum = await Task.Run(() => Crc32Table.Compute(payload.Span)).ConfigureAwait(false);
        await _accumulator.AppendWithChecksumAsync(payload, checksum).ConfigureAwait(false);
    }

    /// <summary>Sends everything still buffered and stops the sender. Call after producing has stopped.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        for (int i = 0; i < MaxPendingHandoffs; i++)
        {
            await _handoffs.WaitAsync().ConfigureAwait(false);
        }

        await _sender.StopAsync().ConfigureAwait(false);
        _accumulator.Dispose();
        _handoffs.Dispose();
    }
}
