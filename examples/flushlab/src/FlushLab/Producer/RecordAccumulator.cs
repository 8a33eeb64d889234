using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using FlushLab.Protocol;

namespace FlushLab.Producer;

/// <summary>
/// Collects records into batches. Each producing thread appends to its own lane (no lock per record);
/// full batches are queued for the <see cref="SenderLoop"/> under <c>_batchLock</c> (one lock per batch).
/// </summary>
internal sealed class RecordAccumulator : IDisposable
{
    private readonly ProducerOptions _options;
    private readonly ThreadLocal<ProducerLane> _lanes;
    private readonly object _laneRegistryLock = new();
    private ProducerLane[] _allLanes = [];

    // Guards _ready and _lastSequence. Taken once per batch, never per record.
    private readonly object _batchLock = new();
    private readonly Queue<RecordBatch> _ready = new();
    private long _lastSequence;

    // Only the seeded GlobalAppendLock path uses this.
    private readonly object _appendLock = new();

    // Open plus queued batches; a producer waits here when the sender falls behind.
    private readonly SemaphoreSlim _batchSlots;
    private readonly long _lingerTicks;
    private Action? _batchReady;

    internal RecordAccumulator(ProducerOptions options)
    {
        _options = options;
        _lanes = new ThreadLocal<ProducerLane>(RegisterLane);
        _batchSlots = new SemaphoreSlim(options.MaxBatchesInFlight, options.MaxBatchesInFlight);
        _lingerTicks = (long)(options.Linger.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Called (without locks held) after a batch is queued.</summary>
    internal void OnBatchReady(Action signal) => _batchReady = signal;

    internal long LastSequence
    {
        get
        {
            lock (_batchLock)
            {
                return _lastSequence;
            }
        }
    }

    // ---------------------------------------------------------------- append (synchronous)

    /// <summary>Appends one record, waiting for a free batch slot if the sender is behind.</summary>
    internal void Append(ReadOnlySpan<byte> payload)
    {
        switch (_options.Seed)
        {
            case SeededProblem.HotChecksum:
                AppendVerified(payload);
                return;
            case SeededProblem.PerMessageAllocation:
                AppendEncodedCopy(payload);
                return;
            case SeededProblem.GlobalAppendLock:
                AppendUnderGlobalLock(payload);
                return;
            default:
                AppendRecord(payload, Crc32Table.Compute(payload));
                return;
        }
    }

    // SEEDED ON PURPOSE (SeededProblem.HotChecksum). A "paranoid" re-check of every record with the
    // bit-by-bit reference CRC, left on after debugging. It breaks the rule "table-driven checksums only".
    // Expert finding: FlushLab.Protocol.Crc32Naive.Compute is the top exclusive method of a CPU profile
    // (roughly half or more of the busy threads' samples), called per message from
    // RecordAccumulator.AppendVerified; the fix is to drop the check (the table CRC is already computed).
    // NoInlining: keeps this frame in sampled stacks so the caller of the hot method is visible.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AppendVerified(ReadOnlySpan<byte> payload)
    {
        uint checksum = Crc32Table.Compute(payload);
        if (Crc32Naive.Compute(payload) != checksum)
        {
            throw new InvalidOperationException("CRC mismatch between table and reference implementation.");
        }

        AppendRecord(payload, checksum);
    }

    // SEEDED ON PURPOSE (SeededProblem.PerMessageAllocation). Encodes each record into a fresh byte[]
    // ("so the batch copy is a single memcpy") and copies that into the batch: one System.Byte[] of
    // payload+8 bytes per message, breaking "zero allocation in hot paths".
    // Expert finding: in an allocation profile, System.Byte[] allocated from
    // FlushLab.Producer.RecordAccumulator.EncodeRecord dominates (~1 KB per message at the default size),
    // whereas the legitimate per-batch allocations (FlushLab.Producer.RecordBatch and its System.Int32[]
    // from RecordAccumulator.OpenBatch / RecordBatch..ctor) are about 4 bytes per message.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AppendEncodedCopy(ReadOnlySpan<byte> payload)
    {
        byte[] record = EncodeRecord(payload, Crc32Table.Compute(payload));
        AppendEncoded(record);
    }

    // SEEDED ON PURPOSE (part of SeededProblem.PerMessageAllocation): the per-message allocation site.
    // NoInlining: keeps the allocating frame distinct in allocation stacks.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte[] EncodeRecord(ReadOnlySpan<byte> payload, uint checksum)
    {
        var record = new byte[RecordFormat.SizeOf(payload.Length)];
        RecordFormat.Write(record, payload, checksum);
        return record;
    }

    // SEEDED ON PURPOSE (SeededProblem.GlobalAppendLock). Someone "fixed" a flush race by serialising
    // every append (checksum included) behind one lock shared by all producer threads: a per-message
    // lock, against the rule "no per-message locks; prefer lanes/channels".
    // Expert finding: thousands of ContentionStart/Stop events per second, all on one lock object taken in
    // FlushLab.Producer.RecordAccumulator.AppendUnderGlobalLock, owned in turn by each producer thread;
    // producer threads spend much of their time waiting in Monitor.Enter.
    // NoInlining: keeps the frame that takes the lock in sampled and contention stacks.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AppendUnderGlobalLock(ReadOnlySpan<byte> payload)
    {
        bool slotHeld = false;
        while (true)
        {
            lock (_appendLock)
            {
                if (TryAppendRecord(payload, Crc32Table.Compute(payload), ref slotHeld))
                {
                    break;
                }
            }

            // Waits for back-pressure outside the lock (the one thing this code gets right).
            _batchSlots.Wait();
            slotHeld = true;
        }

        if (slotHeld)
        {
            _batchSlots.Release();
        }
    }

    private void AppendRecord(ReadOnlySpan<byte> payload, uint checksum)
    {
        bool slotHeld = false;
        while (!TryAppendRecord(payload, checksum, ref slotHeld))
        {
            _batchSlots.Wait();
            slotHeld = true;
        }

        if (slotHeld)
        {
            _batchSlots.Release();
        }
    }

    private void AppendEncoded(byte[] record)
    {
        ProducerLane lane = _lanes.Value!;
        while (true)
        {
            Interlocked.Exchange(ref lane.Writing, 1);
            RecordBatch? batch = lane.Current;
            if (batch is not null && batch.TryAppendEncoded(record))
            {
                Volatile.Write(ref lane.Writing, 0);
                if (batch.IsFullFor(record.Length))
                {
                    SealByOwner(batch);
                }

                return;
            }

            Volatile.Write(ref lane.Writing, 0);
            RetireCurrent(lane, batch);
            _batchSlots.Wait();
            Volatile.Write(ref lane.Current, OpenBatch());
        }
    }

    // ---------------------------------------------------------------- append (asynchronous)

    internal ValueTask AppendAsync(ReadOnlyMemory<byte> payload)
    {
        uint checksum = Crc32Table.Compute(payload.Span);
        bool slotHeld = false;
        if (TryAppendRecord(payload.Span, checksum, ref slotHeld))
        {
            return default;
        }

        return AppendSlowAsync(payload, checksum);
    }

    internal async ValueTask AppendWithChecksumAsync(ReadOnlyMemory<byte> payload, uint checksum)
    {
        bool slotHeld = false;
        while (!TryAppendRecord(payload.Span, checksum, ref slotHeld))
        {
            await _batchSlots.WaitAsync().ConfigureAwait(false);
            slotHeld = true;
        }

        if (slotHeld)
        {
            _batchSlots.Release();
        }
    }

    private async ValueTask AppendSlowAsync(ReadOnlyMemory<byte> payload, uint checksum)
    {
        await _batchSlots.WaitAsync().ConfigureAwait(false);
        bool slotHeld = true;
        while (!TryAppendRecord(payload.Span, checksum, ref slotHeld))
        {
            await _batchSlots.WaitAsync().ConfigureAwait(false);
            slotHeld = true;
        }

        if (slotHeld)
        {
            _batchSlots.Release();
        }
    }

    /// <summary>
    /// Appends to the calling thread's lane. Returns false when a new batch is needed and no slot is free;
    /// <paramref name="slotHeld"/> says the caller already acquired one (it is consumed if used).
    /// </summary>
    private bool TryAppendRecord(ReadOnlySpan<byte> payload, uint checksum, ref bool slotHeld)
    {
        int recordSize = RecordFormat.SizeOf(payload.Length);
        if (recordSize > _options.BatchSizeBytes)
        {
            throw new ArgumentException(
                $"A {payload.Length}-byte message does not fit a {_options.BatchSizeBytes}-byte batch.",
                nameof(payload));
        }

        ProducerLane lane = _lanes.Value!;
        while (true)
        {
            // Handshake with SealFromOutside: announce the write, then look at the batch. A sealer sets the
            // batch's sealed flag first and then waits for Writing == 0 (both sides use full fences).
            Interlocked.Exchange(ref lane.Writing, 1);
            RecordBatch? batch = lane.Current;
            if (batch is not null && batch.TryAppend(payload, checksum))
            {
                Volatile.Write(ref lane.Writing, 0);
                if (batch.IsFullFor(recordSize))
                {
                    SealByOwner(batch);
                }

                return true;
            }

            Volatile.Write(ref lane.Writing, 0);
            RetireCurrent(lane, batch);
            if (!slotHeld && !_batchSlots.Wait(0))
            {
                return false;
            }

            slotHeld = false;
            Volatile.Write(ref lane.Current, OpenBatch());
        }
    }

    private void RetireCurrent(ProducerLane lane, RecordBatch? batch)
    {
        if (batch is not null)
        {
            SealByOwner(batch);
            Volatile.Write(ref lane.Current, null);
        }
    }

    // The legitimate per-batch allocation site: one RecordBatch (+ its Int32[] of record offsets) per
    // ~1000 records. The data buffer itself is pooled.
    // NoInlining: keeps this frame distinct from the per-message sites in allocation stacks.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private RecordBatch OpenBatch() =>
        new(ArrayPool<byte>.Shared.Rent(_options.BatchSizeBytes), _options.MaxRecordsPerBatch, Stopwatch.GetTimestamp());

    // ---------------------------------------------------------------- sealing and queueing

    private void SealByOwner(RecordBatch batch)
    {
        if (batch.TrySeal())
        {
            QueueOrDiscard(batch);
        }
    }

    /// <summary>Seals another thread's open batch (flush, linger). Returns true if a batch was queued.</summary>
    private bool SealFromOutside(ProducerLane lane)
    {
        RecordBatch? batch = Volatile.Read(ref lane.Current);
        if (batch is null || batch.Count == 0 || !batch.TrySeal())
        {
            return false;
        }

        // The owner may be in the middle of an append to this batch: wait until it leaves its write section.
        SpinWait spinner = default;
        while (Volatile.Read(ref lane.Writing) != 0)
        {
            spinner.SpinOnce();
        }

        QueueOrDiscard(batch);
        return true;
    }

    private void QueueOrDiscard(RecordBatch batch)
    {
        if (batch.Count == 0)
        {
            Release(batch);
            return;
        }

        lock (_batchLock)
        {
            batch.Sequence = ++_lastSequence;
            _ready.Enqueue(batch);
        }

        _batchReady?.Invoke();
    }

    /// <summary>Next batch to send, in sequence order; null when none is queued.</summary>
    internal RecordBatch? TakeReady()
    {
        lock (_batchLock)
        {
            return _ready.TryDequeue(out RecordBatch? batch) ? batch : null;
        }
    }

    /// <summary>Returns a sent (or empty) batch's buffer and slot.</summary>
    internal void Release(RecordBatch batch)
    {
        ArrayPool<byte>.Shared.Return(batch.Buffer);
        _batchSlots.Release();
    }

    /// <summary>Seals every open, non-empty batch; returns the sequence a flush must wait for.</summary>
    internal long SealAll()
    {
        foreach (ProducerLane lane in Volatile.Read(ref _allLanes))
        {
            SealFromOutside(lane);
        }

        return LastSequence;
    }

    // SEEDED ON PURPOSE (SeededProblem.LockOrderDeadlock). The flush path holds _batchLock for the whole
    // seal ("so no batch slips in between"), pauses to let in-flight appends settle, and then kicks the
    // sender, which takes _sendLock. SenderLoop.DrainOnce takes the same two locks in the opposite order
    // (_sendLock, then _batchLock in TakeReady). The pause makes the window wide enough that the sender
    // always comes round: the flush thread and the sender thread deadlock on the first flush.
    // Expert finding: two threads blocked in Monitor.Enter, each owning the lock the other wants
    // (RecordAccumulator.SealAllUnderBatchLock -> SenderLoop.WakeForFlush waiting for _sendLock;
    // SenderLoop.DrainOnce -> RecordAccumulator.TakeReady waiting for _batchLock); producers then pile up
    // behind _batchLock. Fix: never call into the sender while holding _batchLock (one global lock order).
    // NoInlining: keeps the frame that holds the first lock in stacks.
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal long SealAllUnderBatchLock(SenderLoop sender)
    {
        lock (_batchLock)
        {
            foreach (ProducerLane lane in Volatile.Read(ref _allLanes))
            {
                SealFromOutside(lane);
            }

            Thread.Sleep(50); // "let in-flight appends settle": widens the deadlock window on purpose
            sender.WakeForFlush();
            return _lastSequence;
        }
    }

    /// <summary>Sealing by the sender for batches that sat open longer than the linger time.</summary>
    internal void SealLingering()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (ProducerLane lane in Volatile.Read(ref _allLanes))
        {
            RecordBatch? batch = Volatile.Read(ref lane.Current);
            if (batch is not null && !batch.IsSealed && now - batch.CreatedTimestamp >= _lingerTicks)
            {
                SealFromOutside(lane);
            }
        }
    }

    private ProducerLane RegisterLane()
    {
        var lane = new ProducerLane();
        lock (_laneRegistryLock)
        {
            ProducerLane[] lanes = _allLanes;
            var grown = new ProducerLane[lanes.Length + 1];
            lanes.CopyTo(grown, 0);
            grown[^1] = lane;
            Volatile.Write(ref _allLanes, grown);
        }

        return lane;
    }

    public void Dispose()
    {
        _lanes.Dispose();
        _batchSlots.Dispose();
    }
}
