using FlushLab.Producer;

namespace FlushLab.StressTests;

/// <summary>Drives a producer and counts messages. Tool code: blocking calls are fine here (not in src/).</summary>
internal abstract class Workload
{
    protected static readonly TimeSpan CheckpointInterval = TimeSpan.FromSeconds(3);

    private readonly ManualResetEventSlim _measuredPhase = new(false);
    private readonly ManualResetEventSlim _stopRequested = new(false);
    private Exception? _failure;

    protected Workload(MessageProducer producer, ReadOnlyMemory<byte> payload)
    {
        Producer = producer;
        Payload = payload;
    }

    protected MessageProducer Producer { get; }

    protected ReadOnlyMemory<byte> Payload { get; }

    protected bool StopRequested => _stopRequested.IsSet;

    protected bool InMeasuredPhase => _measuredPhase.IsSet;

    internal Exception? Failure => Volatile.Read(ref _failure);

    internal abstract long MessageCount { get; }

    internal abstract void Start();

    /// <summary>Waits until the workers have exited (after <see cref="RequestStop"/>).</summary>
    internal abstract bool WaitForExit(TimeSpan timeout);

    internal void BeginMeasuredPhase() => _measuredPhase.Set();

    internal void RequestStop()
    {
        _stopRequested.Set();
        _measuredPhase.Set();
    }

    protected void WaitForMeasuredPhase() => _measuredPhase.Wait();

    /// <summary>Sleeps until <paramref name="timeout"/> passes; false if a stop was requested.</summary>
    protected bool Pause(TimeSpan timeout) => !_stopRequested.Wait(timeout);

    protected void RecordFailure(Exception exception)
    {
        if (Interlocked.CompareExchange(ref _failure, exception, null) is null)
        {
            Console.Error.WriteLine($"  Workload error: {exception.GetType().Name}: {exception.Message}");
        }
    }

    internal static Workload Create(WorkloadKind kind, MessageProducer producer, ReadOnlyMemory<byte> payload) =>
        kind switch
        {
            WorkloadKind.ProducerThreads => new ProducerThreadsWorkload(producer, payload, producerThreads: 4),
            WorkloadKind.AsyncCheckpoints => new AsyncCheckpointWorkload(producer, payload),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
}

/// <summary>
/// Dedicated producer threads call <see cref="MessageProducer.Produce"/> flat out; a dedicated checkpoint
/// thread calls <see cref="MessageProducer.FlushAsync"/> every 3 s of the measured phase.
/// </summary>
internal sealed class ProducerThreadsWorkload : Workload
{
    // One counter per thread, 128 bytes apart (no false sharing).
    private const int CounterStride = 16;

    private readonly long[] _counters;
    private readonly Thread[] _producers;
    private readonly Thread _checkpoints;

    internal ProducerThreadsWorkload(MessageProducer producer, ReadOnlyMemory<byte> payload, int producerThreads)
        : base(producer, payload)
    {
        _counters = new long[producerThreads * CounterStride];
        _producers = new Thread[producerThreads];
        for (int i = 0; i < producerThreads; i++)
        {
            int index = i;
            _producers[i] = new Thread(() => ProduceLoop(index)) { IsBackground = true, Name = $"FlushLab producer {i}" };
        }

        _checkpoints = new Thread(CheckpointLoop) { IsBackground = true, Name = "FlushLab checkpoint flusher" };
    }

    internal override long MessageCount
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _producers.Length; i++)
            {
                total += Volatile.Read(ref _counters[i * CounterStride]);
            }

            return total;
        }
    }

    internal override void Start()
    {
        foreach (Thread thread in _producers)
        {
            thread.Start();
        }

        _checkpoints.Start();
    }

    internal override bool WaitForExit(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        foreach (Thread thread in _producers)
        {
            if (!thread.Join(Remaining(deadline)))
            {
                return false;
            }
        }

        return _checkpoints.Join(Remaining(deadline));
    }

    private static TimeSpan Remaining(DateTime deadline)
    {
        TimeSpan left = deadline - DateTime.UtcNow;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private void ProduceLoop(int index)
    {
        ref long counter = ref _counters[index * CounterStride];
        ReadOnlyMemory<byte> payload = Payload;
        try
        {
            while (!StopRequested)
            {
                for (int i = 0; i < 64; i++)
                {
                    Producer.Produce(payload);
                    Volatile.Write(ref counter, counter + 1);
                }
            }
        }
        catch (Exception exception)
        {
            RecordFailure(exception);
        }
    }

    private void CheckpointLoop()
    {
        WaitForMeasuredPhase();
        try
        {
            while (Pause(CheckpointInterval))
            {
                Producer.FlushAsync().GetAwaiter().GetResult();
            }
        }
        catch (Exception exception)
        {
            RecordFailure(exception);
        }
    }
}

/// <summary>
/// One async loop calling <see cref="MessageProducer.ProduceAsync"/>. Every 3 s of the measured phase it
/// takes a checkpoint: it pauses long enough for lingering batches to go out, then awaits
/// <see cref="MessageProducer.FlushAsync"/> before producing again.
/// </summary>
internal sealed class AsyncCheckpointWorkload : Workload
{
    private static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(100);

    private long _count;
    private Task? _loop;

    internal AsyncCheckpointWorkload(MessageProducer producer, ReadOnlyMemory<byte> payload)
        : base(producer, payload)
    {
    }

    internal override long MessageCount => Volatile.Read(ref _count);

    internal override void Start() => _loop = Task.Run(ProduceLoopAsync);

    internal override bool WaitForExit(TimeSpan timeout) => _loop is null || _loop.Wait(timeout);

    private async Task ProduceLoopAsync()
    {
        try
        {
            DateTime nextCheckpoint = DateTime.MaxValue;
            while (!StopRequested)
            {
                for (int i = 0; i < 256; i++)
                {
                    await Producer.ProduceAsync(Payload).ConfigureAwait(false);
                    Volatile.Write(ref _count, _count + 1);
                }

                if (nextCheckpoint == DateTime.MaxValue && InMeasuredPhase)
                {
                    nextCheckpoint = DateTime.UtcNow + CheckpointInterval;
                }

                if (DateTime.UtcNow >= nextCheckpoint)
                {
                    await Task.Delay(QuietPeriod).ConfigureAwait(false);
                    await Producer.FlushAsync().ConfigureAwait(false);
                    nextCheckpoint += CheckpointInterval;
                }
            }
        }
        catch (Exception exception)
        {
            RecordFailure(exception);
        }
    }
}
