using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Analysis;
using Microsoft.Diagnostics.Tracing.Analysis.GC;
using Microsoft.Diagnostics.Tracing.Etlx;
using TraceLog = Microsoft.Diagnostics.Tracing.Etlx.TraceLog;
using Microsoft.Diagnostics.Tracing.EventPipe;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace TraceOracle;

// The JSON document. Names follow `pta analyze --json` where the two mean the same thing.
public record TraceSummary(long Events, double DurationS, string FirstEventUtc);
public record ThreadCounts(long ThreadId, long Samples, long Managed, long External);
public record TypeVolume(string Type, long Bytes, long Ticks);
public record Allocations(long Ticks, long Bytes, List<TypeVolume> ByType);
public record Contention(long Starts, long Stops, double TotalMs);
public record GenerationCount(int Generation, int Count, double PauseMs);
public record GcSummary(int Count, double TotalPauseMs, List<GenerationCount> ByGeneration);
public record Report(
    TraceSummary Trace,
    SortedDictionary<string, SortedDictionary<string, long>> EventsByProvider,
    List<ThreadCounts> Threads,
    CpuStacks Cpu,
    Allocations Allocations,
    Contention Contention,
    GcSummary Gc);

/// <summary>
/// One pass over the trace: the streaming EventPipeEventSource feeds both our own counters
/// (below) and TraceLog's conversion to .etlx, the indexed form TraceEvent's stack sources read
/// (the conversion is what dotnet-trace report/convert run too). Stacks are then read from it.
/// </summary>
public sealed class Tally
{
    readonly SortedDictionary<string, SortedDictionary<string, long>> _byProvider = new(StringComparer.Ordinal);
    readonly Dictionary<long, long[]> _threads = new(); // tid -> [managed, external]
    readonly Dictionary<string, long[]> _types = new(StringComparer.Ordinal); // type -> [bytes, ticks]
    readonly Dictionary<int, double> _contentionStartMs = new(); // tid -> open ContentionStart
    long _events, _ticks, _allocBytes, _starts, _stops;
    double _firstMs = double.MaxValue, _lastMs = double.MinValue, _contentionMs;
    DateTime _firstUtc;

    public static Report Read(string path, int top)
    {
        var tally = new Tally();
        string etlx = Path.Combine(Path.GetTempPath(), $"trace-oracle-{Environment.ProcessId}-{Guid.NewGuid():N}.etlx");
        try
        {
            using (var source = TraceFile.Open(path))
            {
                tally.Subscribe(source);
                TraceLog.CreateFromEventTraceLogFile(source, etlx, new TraceLogOptions { ConversionLog = TextWriter.Null });
            }
            using var log = new TraceLog(etlx);
            return tally.Summarize(CpuStacks.Read(log, top), GarbageCollections(log));
        }
        finally
        {
            File.Delete(etlx);
        }
    }

    /// <summary>
    /// TraceEvent's own GC accounting (TraceLoadedDotNetRuntime, PerfView's GCStats), replayed
    /// from the .etlx: it cannot ride on the conversion pass, whose process table it replaces.
    /// </summary>
    static TraceGC[] GarbageCollections(TraceLog log)
    {
        var source = log.Events.GetSource();
        source.NeedLoadedDotNetRuntimes();
        source.Process();
        return source.Processes()
            .Select(p => p.LoadedDotNetRuntime())
            .Where(r => r is not null)
            .SelectMany(r => r!.GC.GCs)
            .ToArray();
    }

    void Subscribe(EventPipeEventSource source)
    {
        source.AllEvents += OnEvent;
        source.Dynamic.All += _ => { };
        new SampleProfilerTraceEventParser(source).ThreadSample += OnSample;
        source.Clr.GCAllocationTick += OnAllocationTick;
        source.Clr.ContentionStart += e => { _starts++; _contentionStartMs[e.ThreadID] = e.TimeStampRelativeMSec; };
        source.Clr.ContentionStop += OnContentionStop;
    }

    void OnEvent(TraceEvent e)
    {
        _events++;
        var byId = _byProvider.TryGetValue(e.ProviderName, out var found)
            ? found
            : _byProvider[e.ProviderName] = new SortedDictionary<string, long>(StringComparer.Ordinal);
        string id = ((int)e.ID).ToString();
        byId[id] = byId.GetValueOrDefault(id) + 1;
        double ms = e.TimeStampRelativeMSec;
        if (ms < _firstMs) { _firstMs = ms; _firstUtc = e.TimeStamp.ToUniversalTime(); }
        if (ms > _lastMs) _lastMs = ms;
    }

    void OnSample(ClrThreadSampleTraceData e)
    {
        // Error samples (type 0) are neither managed nor external: counted nowhere, as in pta.
        if (e.Type is not (ClrThreadSampleType.Managed or ClrThreadSampleType.External)) return;
        if (!_threads.TryGetValue(e.ThreadID, out var counts)) _threads[e.ThreadID] = counts = new long[2];
        counts[e.Type == ClrThreadSampleType.Managed ? 0 : 1]++;
    }

    void OnAllocationTick(GCAllocationTickTraceData e)
    {
        long amount = e.Version >= 2 ? e.AllocationAmount64 : e.AllocationAmount;
        string type = e.Version >= 1 ? e.TypeName : "";
        _ticks++;
        _allocBytes += amount;
        if (!_types.TryGetValue(type, out var volume)) _types[type] = volume = new long[2];
        volume[0] += amount;
        volume[1]++;
    }

    void OnContentionStop(ContentionStopTraceData e)
    {
        _stops++;
        bool started = _contentionStartMs.Remove(e.ThreadID, out double startMs);
        // ContentionStop_V1 carries the runtime's own DurationNs; V0 is timed from its start.
        if (e.Version >= 1) _contentionMs += e.DurationNs / 1e6;
        else if (started) _contentionMs += e.TimeStampRelativeMSec - startMs;
    }

    Report Summarize(CpuStacks cpu, TraceGC[] gcs)
    {
        var trace = new TraceSummary(
            _events,
            _events == 0 ? 0 : (_lastMs - _firstMs) / 1000.0,
            _events == 0 ? "" : _firstUtc.ToString("O"));
        var threads = _threads
            .Select(kv => new ThreadCounts(kv.Key, kv.Value[0] + kv.Value[1], kv.Value[0], kv.Value[1]))
            .OrderByDescending(t => t.Samples).ThenBy(t => t.ThreadId)
            .ToList();
        var byType = _types
            .Select(kv => new TypeVolume(kv.Key, kv.Value[0], kv.Value[1]))
            .OrderByDescending(t => t.Bytes).ThenBy(t => t.Type, StringComparer.Ordinal)
            .ToList();
        var generations = gcs
            .GroupBy(gc => gc.Generation)
            .OrderBy(g => g.Key)
            .Select(g => new GenerationCount(g.Key, g.Count(), g.Sum(gc => gc.PauseDurationMSec)))
            .ToList();
        return new Report(
            trace,
            _byProvider,
            threads,
            cpu,
            new Allocations(_ticks, _allocBytes, byType),
            new Contention(_starts, _stops, _contentionMs),
            new GcSummary(gcs.Length, gcs.Sum(gc => gc.PauseDurationMSec), generations));
    }
}
