using System.Runtime.CompilerServices;

namespace FlushLab.Producer;

/// <summary>
/// Drains queued batches on one dedicated thread and writes each, with the batch CRC its producer
/// maintained while appending, to the sink (no I/O), then completes the flush waiters whose batches have gone out.
/// </summary>
internal sealed class SenderLoop
{
    private readonly RecordAccumulator _accumulator;
    private readonly ProducerOptions _options;
    private readonly BatchSink _sink;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Guards the sink: batches go out one at a time, in sequence order.
    private readonly object _sendLock = new();

    private readonly object _waiterLock = new();
    private readonly List<FlushWaiter> _waiters = [];
    private int _waiterCount;

    private long _sentSequence;
    private long _sentRecords;
    private volatile bool _stopping;
    private volatile bool _flushRequested;

    internal SenderLoop(RecordAccumulator accumulator, ProducerOptions options)
    {
        _accumulator = accumulator;
        _options = options;
        _sink = new BatchSink(options.BatchSizeBytes);
        _accumulator.OnBatchReady(Signal);
        _thread = new Thread(Run) { IsBackground = true, Name = "FlushLab sender" };
    }

    internal long SentSequence => Volatile.Read(ref _sentSequence);

    internal long SentRecords => Volatile.Read(ref _sentRecords);

    internal long SentBytes => _sink.Bytes;

    internal long SentBatches => _sink.Batches;

    internal void Start() => _thread.Start();

    internal void Signal() => _wake.Set();

    /// <summary>Asks the sender to send right away instead of lingering (used by the flush path).</summary>
    internal void WakeForFlush()
    {
        lock (_sendLock)
        {
            _flushRequested = true;
            _wake.Set();
        }
    }

    /// <summary>Stops the loop after everything queued so far has been sent.</summary>
    internal Task StopAsync()
    {
        _stopping = true;
        _wake.Set();
        return _stopped.Task;
    }

    /// <summary>Completes when the batch with sequence <paramref name="target"/> (and all before it) is sent.</summary>
    internal Task WhenSentAsync(long target) =>
        _options.Seed == SeededProblem.LostFlushWaiter ? ParkFlushWaiter(target) : RegisterFlushWaiter(target);

    private Task RegisterFlushWaiter(long target)
    {
        if (target <= SentSequence)
        {
            return Task.CompletedTask;
        }

        var waiter = new FlushWaiter(target);
        lock (_waiterLock)
        {
            _waiters.Add(waiter);
            _waiterCount = _waiters.Count;
        }

        // The sender may have sent the target while we registered: check again.
        if (target <= SentSequence)
        {
            CompleteFlushWaiters();
        }

        _wake.Set();
        return waiter.Task;
    }

    // SEEDED ON PURPOSE (SeededProblem.LostFlushWaiter). The waiter is parked without the "already sent?"
    // checks of RegisterFlushWaiter, on the assumption that the sender's next send will complete it. When
    // the batches the flush waits for all went out before it registered (the producer paused and the
    // sender is idle between drains), no send ever follows and the TaskCompletionSource is never
    // completed: FlushAsync hangs in an await. No thread is blocked and no lock is held.
    // Expert finding: progress stops with every thread idle; the only trace is a pending
    // MessageProducer.FlushAsync state machine awaiting a TaskCompletionSource created in
    // SenderLoop.ParkFlushWaiter. Fix: re-check SentSequence after registering (as RegisterFlushWaiter does).
    // NoInlining: keeps this frame in stacks and in the task-creation stack of the lost waiter.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Task ParkFlushWaiter(long target)
    {
        var waiter = new FlushWaiter(target);
        lock (_waiterLock)
        {
            _waiters.Add(waiter);
            _waiterCount = _waiters.Count;
        }

        return waiter.Task;
    }

    private void Run()
    {
        try
        {
            while (true)
            {
                if (DrainOnce())
                {
                    continue;
                }

                if (_stopping)
                {
                    _accumulator.SealAll();
                    if (!DrainOnce())
                    {
                        break;
                    }

                    continue;
                }

                _wake.Wait(_options.Linger);
                _wake.Reset();
            }

            CompleteFlushWaiters();
            _stopped.TrySetResult();
        }
        catch (Exception exception)
        {
            _stopped.TrySetException(exception);
        }
    }

    // Takes _sendLock and then _batchLock (inside TakeReady and when sealing). This order is the project's
    // lock order; the seeded RecordAccumulator.SealAllUnderBatchLock takes them the other way round.
    // NoInlining: keeps the frame that holds _sendLock in stacks.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool DrainOnce()
    {
        lock (_sendLock)
        {
            RecordBatch? batch = _accumulator.TakeReady();
            if (batch is null)
            {
                // Nothing queued: seal what has lingered, or everything when a flush asked for it.
                if (_flushRequested)
                {
                    _flushRequested = false;
                    _accumulator.SealAll();
                }
                else
                {
                    _accumulator.SealLingering();
                }

                batch = _accumulator.TakeReady();
                if (batch is null)
                {
                    return false;
                }
            }

            Send(batch);
        }

        CompleteFlushWaiters();
        return true;
    }

    private void Send(RecordBatch batch)
    {
        _sink.Write(batch.Data, batch.Checksum);
        Volatile.Write(ref _sentRecords, _sentRecords + batch.Count);
        long sequence = batch.Sequence;
        _accumulator.Release(batch);
        Volatile.Write(ref _sentSequence, sequence);
    }

    private void CompleteFlushWaiters()
    {
        if (Volatile.Read(ref _waiterCount) == 0)
        {
            return;
        }

        long sent = SentSequence;
        lock (_waiterLock)
        {
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Target <= sent)
                {
                    _waiters[i].Complete();
                    _waiters.RemoveAt(i);
                }
            }

            _waiterCount = _waiters.Count;
        }
    }

    private sealed class FlushWaiter(long target)
    {
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal long Target { get; } = target;

        internal Task Task => _completion.Task;

        internal void Complete() => _completion.TrySetResult();
    }
}
