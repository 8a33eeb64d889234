// TraceOracle: what TraceEvent (the parser behind dotnet-trace and PerfView) finds in a trace,
// printed as one JSON document so tests/oracle/test_equality.py can hold `pta analyze --json`
// against it, and timed so bench/bench_oracle.py can put both side by side.
//
//   dotnet TraceOracle.dll tally <trace> [--top N]     the JSON document (see docs/traceevent-oracle.md)
//   dotnet TraceOracle.dll time <trace> [--only bare|tally]
//                                                      seconds, events and peak RSS of a bare parse
//                                                      (every event dispatched, nothing kept) and
//                                                      of the full tally
//
// <trace> is a .nettrace/.netperf file or a .zip holding one (read from the zip member's stream).

using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
using Microsoft.Diagnostics.Tracing.Stacks;
using TraceOracle;

return Cli.Run(args);

namespace TraceOracle
{
    static class Cli
    {
        const string Usage =
            "usage: TraceOracle tally <trace> [--top N] | TraceOracle time <trace> [--only bare|tally]";

        public static int Run(string[] args)
        {
            if (args.Length < 2 || !File.Exists(args[1]))
            {
                Console.Error.WriteLine(Usage);
                return 2;
            }
            string mode = args[0], path = args[1];
            string? option = args.Length >= 4 ? args[3] : null;
            switch (mode, args.Length >= 3 ? args[2] : null)
            {
                case ("tally", null):
                    Print(Tally.Read(path, top: 20));
                    return 0;
                case ("tally", "--top") when int.TryParse(option, out int top):
                    Print(Tally.Read(path, top));
                    return 0;
                case ("time", null):
                    Print(new[] { Timing.Bare(path), Timing.Full(path) });
                    return 0;
                case ("time", "--only") when option is "bare":
                    Print(new[] { Timing.Bare(path) });
                    return 0;
                case ("time", "--only") when option is "tally":
                    Print(new[] { Timing.Full(path) });
                    return 0;
                default:
                    Console.Error.WriteLine(Usage);
                    return 2;
            }
        }

        static void Print<T>(T value) =>
            Console.WriteLine(JsonSerializer.Serialize(value, new JsonSerializerOptions
            {
                PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
                WriteIndented = true,
            }));
    }

    /// <summary>Opens a trace file, or the one trace inside a .zip.</summary>
    static class TraceFile
    {
        public static EventPipeEventSource Open(string path)
        {
            if (!path.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
                return new EventPipeEventSource(path);
            // The source owns the stream; the archive stays open with it (one member, small).
            var archive = ZipFile.OpenRead(path);
            var member = archive.Entries.Single(e => e.Length > 0);
            return new EventPipeEventSource(new BufferedStream(member.Open(), 1 << 16));
        }
    }

    static class Timing
    {
        public record Result(string Mode, double Seconds, double CpuSeconds, long Events, double PeakRssMb, long Bytes);

        /// <summary>Every event dispatched to one no-op callback, nothing kept.</summary>
        public static Result Bare(string path)
        {
            var clock = Stopwatch.StartNew();
            long events = 0;
            using (var source = TraceFile.Open(path))
            {
                source.AllEvents += _ => events++;
                source.Process();
            }
            return new Result("bare", clock.Elapsed.TotalSeconds, CpuSeconds(), events, PeakRssMb(), new FileInfo(path).Length);
        }

        /// <summary>Everything `tally` computes, the JSON document built but not printed.</summary>
        public static Result Full(string path)
        {
            var clock = Stopwatch.StartNew();
            var report = Tally.Read(path, top: 20);
            return new Result("tally", clock.Elapsed.TotalSeconds, CpuSeconds(), report.Trace.Events, PeakRssMb(), new FileInfo(path).Length);
        }

        // The process's CPU time so far (runtime start-up included: a few tens of ms).
        static double CpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

        // On Linux PeakWorkingSet64 is the process's VmHWM (peak resident set).
        static double PeakRssMb() => Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}
