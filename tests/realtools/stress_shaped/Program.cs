// Prints the line shapes trace_collect reads from the Dekaf stress tool, with the same .NET
// format strings ({:N0}, {:F1}, culture-dependent), while doing allocation-heavy work to trace.
using System.Diagnostics;

Console.WriteLine($"Process started at {DateTime.UtcNow:HH:mm:ss.fff} UTC, PID: {Environment.ProcessId}");
if (args.Contains("--help"))
{
    Console.WriteLine("  --scenario <name>       Run specific scenario: producer (default: producer)");
    return;
}
Console.WriteLine($"Using external Kafka at {Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP_SERVERS")}");
Console.WriteLine("=== Running: Dekaf producer ===");
Thread.Sleep(500);
var minutes = args.SkipWhile(a => a != "--duration").Skip(1).Select(int.Parse).FirstOrDefault(1);
Console.WriteLine($"  Running Dekaf producer stress test for {minutes} minutes...");
Resources("Initial");

var clock = Stopwatch.StartNew();
var nextMonitor = 0.5;
var nextProgress = 1.0;
long messages = 0;
var keep = new List<string>();
while (clock.Elapsed < TimeSpan.FromMinutes(minutes))
{
    keep.Add(new string('x', 64 + (int)(messages % 32)));
    if (keep.Count > 50_000) keep.Clear();
    messages++;
    var seconds = clock.Elapsed.TotalSeconds;
    if (seconds >= nextMonitor) { Resources("Monitor"); nextMonitor += 0.5; }
    if (seconds >= nextProgress)
    {
        var rate = messages / seconds * 1000;
        Console.WriteLine($"  [{DateTime.UtcNow:HH:mm:ss}] Progress: {messages * 1000:N0} messages | instant: {rate:N0} msg/sec | avg: {rate:N0} msg/sec");
        nextProgress += 1.0;
    }
}

static void Resources(string label)
{
    var process = Process.GetCurrentProcess();
    Console.WriteLine($"  [{DateTime.UtcNow:HH:mm:ss}] {label} Resources: " +
        $"WorkingSet={process.WorkingSet64 / 1048576.0:F1}MB, Private={process.PrivateMemorySize64 / 1048576.0:F1}MB, " +
        $"GCHeap={GC.GetTotalMemory(false) / 1048576.0:F1}MB, Threads={process.Threads.Count}, " +
        $"GC=[{GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}]");
}
