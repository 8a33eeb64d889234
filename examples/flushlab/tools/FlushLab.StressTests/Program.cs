using System.Globalization;
using System.Text.Json;
using FlushLab.StressTests;

StressOptions options;
try
{
    options = StressOptions.Parse(args);
}
catch (Exception exception) when (exception is FormatException or ArgumentException or OverflowException)
{
    Console.Error.WriteLine($"Invalid arguments: {exception.Message}");
    Console.Error.WriteLine("Run with --help for usage.");
    return 1;
}

if (options.ShowHelp)
{
    StressOptions.PrintHelp(Console.Out);
    return 0;
}

DateTime startedAt = DateTime.UtcNow;
Console.WriteLine(ScenarioRunner.Invariant(
    $"Process started at {startedAt:HH:mm:ss.fff} UTC, PID: {Environment.ProcessId}"));

var results = new List<ScenarioResult>();
foreach (ScenarioDefinition scenario in options.Scenarios)
{
    results.Add(ScenarioRunner.Run(scenario, options));
    Console.WriteLine();
}

string resultsPath = ResultsFile.Write(options, startedAt, results);
Console.WriteLine($"Results saved to: {resultsPath}");

List<ScenarioResult> stalled = results.FindAll(static r => r.Stalled);
List<ScenarioResult> failed = results.FindAll(static r => !r.Stalled && r.Error is not null);
if (stalled.Count > 0 || failed.Count > 0)
{
    Console.WriteLine(stalled.Count > 0
        ? "CORRECTNESS FAILURES DETECTED: progress stalled"
        : "CORRECTNESS FAILURES DETECTED: producer errors");
    foreach (ScenarioResult result in stalled)
    {
        Console.WriteLine(ScenarioRunner.Invariant(
            $"  - FlushLab {result.Scenario}: no progress for {result.LongestStallSeconds:F0} s (messages={result.Messages})"));
    }

    foreach (ScenarioResult result in failed)
    {
        Console.WriteLine($"  - FlushLab {result.Scenario}: {result.Error}");
    }

    // Deadlocked or hung workers may still exist: exit without waiting for anything.
    Console.Out.Flush();
    Environment.Exit(1);
}

return 0;

internal static class ResultsFile
{
    internal static string Write(StressOptions options, DateTime startedAt, List<ScenarioResult> results)
    {
        Directory.CreateDirectory(options.OutputDirectory);
        string fileName = $"stress-test-results-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}.json";
        string path = Path.Combine(options.OutputDirectory, fileName);

        using (FileStream stream = File.Create(path))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("tool", "FlushLab.StressTests");
            json.WriteString("client", options.Client);
            json.WriteNumber("processId", Environment.ProcessId);
            json.WriteString("startedAtUtc", startedAt);
            json.WriteString("scenarioArgument", options.ScenarioArgument);
            json.WriteNumber("durationMinutes", options.DurationMinutes);
            json.WriteNumber("messageSize", options.MessageSize);
            json.WriteNumber("processorCount", Environment.ProcessorCount);
            json.WriteStartArray("scenarios");
            foreach (ScenarioResult result in results)
            {
                json.WriteStartObject();
                json.WriteString("scenario", result.Scenario);
                json.WriteString("seed", result.Seed.ToString());
                json.WriteNumber("messages", result.Messages);
                json.WriteNumber("measuredSeconds", Math.Round(result.MeasuredSeconds, 3));
                json.WriteNumber("messagesPerSecond", Math.Round(result.MessagesPerSecond, 1));
                json.WriteBoolean("stalled", result.Stalled);
                json.WriteNumber("longestStallSeconds", Math.Round(result.LongestStallSeconds, 1));
                if (result.Error is null)
                {
                    json.WriteNull("error");
                }
                else
                {
                    json.WriteString("error", result.Error);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return path;
    }
}
