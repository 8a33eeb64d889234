using System.Diagnostics;
using System.Globalization;
using FlushLab.Producer;
using FlushLab.Protocol;

namespace FlushLab.StressTests;

internal sealed record ScenarioResult(
    string Scenario,
    SeededProblem Seed,
    long Messages,
    double MeasuredSeconds,
    double MessagesPerSecond,
    bool Stalled,
    double LongestStallSeconds,
    string? Error);

/// <summary>Runs one scenario: warm-up, marker line, measured phase with progress and watchdog, summary.</summary>
internal static class ScenarioRunner
{
    internal static readonly int MaxMessageSize = new ProducerOptions().BatchSizeBytes - RecordFormat.HeaderSize;

    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan WatchdogThreshold = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DisposeTimeout = TimeSpan.FromSeconds(15);
    private const int ProgressEverySeconds = 2;
    private const int MonitorEverySeconds = 5;

    internal static ScenarioResult Run(ScenarioDefinition scenario, StressOptions options)
    {
        string title = $"FlushLab {scenario.Name}";
        Console.WriteLine($"=== Running: {title} ===");
        Resources.Print("Initial");

        byte[] payload = CreatePayload(options.MessageSize);
        var producer = new MessageProducer(new ProducerOptions { Seed = scenario.Seed });
        Workload workload = Workload.Create(scenario.Kind, producer, payload);
        workload.Start();

        Thread.Sleep(WarmUp);
        long baseline = workload.MessageCount;
        Console.WriteLine(Invariant($"  Running {title} stress test for {options.DurationMinutes} minutes..."));
        workload.BeginMeasuredPhase();

        var clock = Stopwatch.StartNew();
        TimeSpan duration = TimeSpan.FromMinutes(options.DurationMinutes);
        long lastProgressCount = 0;
        TimeSpan lastProgressAt = TimeSpan.Zero;
        long lastSeenCount = 0;
        TimeSpan lastChangeAt = TimeSpan.Zero;
        bool stallReported = false;
        bool stalled = false;
        TimeSpan longestStall = TimeSpan.Zero;

        for (int second = 1; ; second++)
        {
            TimeSpan due = TimeSpan.FromSeconds(second);
            if (due > duration)
            {
                SleepUntil(clock, duration);
                break;
            }

            SleepUntil(clock, due);
            TimeSpan now = clock.Elapsed;
            long count = workload.MessageCount - baseline;

            if (count != lastSeenCount)
            {
                lastSeenCount = count;
                lastChangeAt = now;
                stallReported = false;
            }
            else
            {
                TimeSpan stalledFor = now - lastChangeAt;
                longestStall = stalledFor > longestStall ? stalledFor : longestStall;
                if (stalledFor >= WatchdogThreshold && !stallReported)
                {
                    stallReported = true;
                    stalled = true;
                    Console.Error.WriteLine(Invariant(
                        $"PROGRESS WATCHDOG: no progress for {(int)WatchdogThreshold.TotalSeconds} s (messages={count})"));
                }
            }

            if (second % ProgressEverySeconds == 0)
            {
                double instant = (count - lastProgressCount) / (now - lastProgressAt).TotalSeconds;
                double average = count / now.TotalSeconds;
                Console.WriteLine(Invariant(
                    $"  [{Clock()}] Progress: {count:N0} messages | instant: {instant:N0} msg/sec | avg: {average:N0} msg/sec"));
                lastProgressCount = count;
                lastProgressAt = now;
            }

            if (second % MonitorEverySeconds == 0)
            {
                Resources.Print("Monitor");
            }
        }

        long messages = workload.MessageCount - baseline;
        double seconds = clock.Elapsed.TotalSeconds;
        workload.RequestStop();

        string? error = workload.Failure?.Message;
        if (!stalled)
        {
            // Hung workers are left alone (they are background threads); healthy ones are joined and the
            // producer is disposed, which sends everything still buffered.
            if (!workload.WaitForExit(ExitTimeout))
            {
                error ??= "producer threads did not stop within 10 s";
            }
            else if (!producer.DisposeAsync().AsTask().Wait(DisposeTimeout))
            {
                error ??= "DisposeAsync did not complete within 15 s";
            }
        }

        Resources.Print("Final");
        double rate = seconds >= 1 ? messages / seconds : 0; // --duration 0 measures nothing
        Console.WriteLine(Invariant($"  Completed: {messages:N0} messages, {rate:N0} msg/sec"));
        return new ScenarioResult(
            scenario.Name, scenario.Seed, messages, seconds, rate, stalled, longestStall.TotalSeconds, error);
    }

    private static void SleepUntil(Stopwatch clock, TimeSpan due)
    {
        TimeSpan left = due - clock.Elapsed;
        if (left > TimeSpan.Zero)
        {
            Thread.Sleep(left);
        }
    }

    private static byte[] CreatePayload(int size)
    {
        var payload = new byte[size];
        new Random(12345).NextBytes(payload);
        return payload;
    }

    internal static string Clock() => DateTime.UtcNow.ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    internal static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

internal static class Resources
{
    private const double Megabyte = 1024 * 1024;

    /// <summary>Prints e.g. <c>  [12:00:01] Initial Resources: WorkingSet=182.4MB, ..., GC=[3/1/0]</c>.</summary>
    internal static void Print(string label) =>
        Console.WriteLine(ScenarioRunner.Invariant($"  [{ScenarioRunner.Clock()}] {label} Resources: {Describe()}"));

    private static string Describe()
    {
        using Process process = Process.GetCurrentProcess();
        double workingSet = process.WorkingSet64 / Megabyte;
        double privateBytes = process.PrivateMemorySize64 / Megabyte;
        double gcHeap = GC.GetTotalMemory(false) / Megabyte;
        int threads = process.Threads.Count;
        return ScenarioRunner.Invariant(
            $"WorkingSet={workingSet:F1}MB, Private={privateBytes:F1}MB, GCHeap={gcHeap:F1}MB, Threads={threads}, GC=[{GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}]");
    }
}
