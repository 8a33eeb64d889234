using Microsoft.Diagnostics.Symbols;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.EventPipe;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
using Microsoft.Diagnostics.Tracing.Stacks;

namespace TraceOracle;

public record MethodCount(string Name, long Samples);
public record MethodTime(string Name, double Ms);
public record ThreadTime(long ThreadId, double CpuMs, double BlockedMs);

/// <summary>
/// CPU stacks as TraceEvent's own stack sources attribute them.
///
/// Sample counts: a <see cref="TraceEventStackSource"/> over the SampleProfiler ThreadSample
/// events (Managed and External; Error samples left out), one sample of metric 1 per event,
/// its stack the event's call stack as TraceLog resolved it. Leaf = the frame nearest the
/// leaf below TraceEvent's pseudo frames ("Thread (tid)", "Process…", "ROOT"); inclusive = each
/// distinct frame name of the stack once. EventPipe stacks hold managed frames only, so an
/// External sample's leaf is the managed frame that called out (no native frame counts); a
/// frame no method covers is TraceLog's "?!?" / "module!?".
///
/// Thread time: <see cref="SampleProfilerThreadTimeComputer"/> into a
/// <see cref="MutableTraceEventStackSource"/> with OnlyManagedCodeStacks, exactly what
/// `dotnet-trace convert`/`report` run, EventSource events left out of the clock: per thread, the
/// interval to the next sample is credited to the sample that starts it, as CPU_TIME after a
/// Managed sample and UNMANAGED_CODE_TIME after an External one; GCAllocationTick events take
/// part as on-CPU samples.
/// </summary>
public record CpuStacks(
    string Attribution,
    long Samples,
    List<MethodCount> TopSelf,
    List<MethodCount> TopInclusive,
    double ThreadTimeMs,
    List<MethodTime> TopSelfTime,
    List<ThreadTime> ThreadTimes)
{
    public const string NoStack = "(no managed frames)";
    const string CpuTime = "CPU_TIME", UnmanagedTime = "UNMANAGED_CODE_TIME";

    public static CpuStacks Read(TraceLog log, int top)
    {
        var samples = log.Events.Filter(e =>
            e is ClrThreadSampleTraceData s && s.Type is ClrThreadSampleType.Managed or ClrThreadSampleType.External);
        var counted = new TraceEventStackSource(samples);
        var self = new Dictionary<string, long>(StringComparer.Ordinal);
        var inclusive = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        counted.ForEach(sample =>
        {
            var frames = CodeFrames(counted, sample.StackIndex);
            long n = (long)sample.Metric;
            total += n;
            Add(self, frames.Count > 0 ? frames[0] : NoStack, n);
            foreach (var name in frames.Count > 0 ? new HashSet<string>(frames) : [NoStack])
                Add(inclusive, name, n);
        });
        var (timeTotal, selfTime, threadTimes) = ThreadTimeStacks(log, top);
        return new CpuStacks(
            "TraceEventStackSource(ThreadSample) counts; SampleProfilerThreadTimeComputer(IncludeEventSourceEvents=false) time",
            total, Top(self, top), Top(inclusive, top), timeTotal, selfTime, threadTimes);
    }

    static (double, List<MethodTime>, List<ThreadTime>) ThreadTimeStacks(TraceLog log, int top)
    {
        var timed = new MutableTraceEventStackSource(log) { OnlyManagedCodeStacks = true };
        // IncludeEventSourceEvents=false: by default the computer also clocks every EventSource
        // event as a blocked-thread sample (dotnet-trace report does); pta's thread clock runs on
        // ThreadSamples and allocation ticks only (docs/traceevent-oracle.md, "thread time").
        var computer = new SampleProfilerThreadTimeComputer(log, new SymbolReader(TextWriter.Null))
        {
            IncludeEventSourceEvents = false,
        };
        computer.GenerateThreadTimeStacks(timed);
        var self = new Dictionary<string, double>(StringComparer.Ordinal);
        var threads = new Dictionary<long, double[]>(); // tid -> [cpu, blocked]
        double total = 0;
        timed.ForEach(sample =>
        {
            var (frames, leafKind, tid) = TimedFrames(timed, sample.StackIndex);
            total += sample.Metric;
            string leaf = frames.Count > 0 ? frames[0] : NoStack;
            self[leaf] = self.GetValueOrDefault(leaf) + sample.Metric;
            if (!threads.TryGetValue(tid, out var split)) threads[tid] = split = new double[2];
            split[leafKind == CpuTime ? 0 : 1] += sample.Metric;
        });
        var selfTime = self.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(top).Select(kv => new MethodTime(kv.Key, kv.Value)).ToList();
        var threadTimes = threads.OrderBy(kv => kv.Key)
            .Select(kv => new ThreadTime(kv.Key, kv.Value[0], kv.Value[1])).ToList();
        return (total, selfTime, threadTimes);
    }

    /// <summary>Code frames leaf first: everything below the "Thread (tid)" pseudo frame.</summary>
    static List<string> CodeFrames(StackSource source, StackSourceCallStackIndex stack)
    {
        var frames = new List<string>();
        for (; stack != StackSourceCallStackIndex.Invalid; stack = source.GetCallerIndex(stack))
        {
            string name = source.GetFrameName(source.GetFrameIndex(stack), false);
            if (name.StartsWith("Thread (", StringComparison.Ordinal)) break;
            frames.Add(name);
        }
        return frames;
    }

    /// <summary>A thread-time stack: code frames leaf first, its time kind and its thread.</summary>
    static (List<string>, string, long) TimedFrames(StackSource source, StackSourceCallStackIndex stack)
    {
        var frames = new List<string>();
        string kind = "";
        long tid = -1;
        for (; stack != StackSourceCallStackIndex.Invalid; stack = source.GetCallerIndex(stack))
        {
            string name = source.GetFrameName(source.GetFrameIndex(stack), false);
            if (name is CpuTime or UnmanagedTime) { kind = name; continue; }
            if (name.StartsWith("Thread (", StringComparison.Ordinal))
            {
                tid = long.Parse(name.AsSpan(8, name.IndexOf(')') - 8));
                break;
            }
            frames.Add(name);
        }
        return (frames, kind, tid);
    }

    static void Add(Dictionary<string, long> table, string name, long n) =>
        table[name] = table.GetValueOrDefault(name) + n;

    static List<MethodCount> Top(Dictionary<string, long> table, int top) =>
        table.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Take(top).Select(kv => new MethodCount(kv.Key, kv.Value)).ToList();
}
