using System.Globalization;

namespace FlushLab.StressTests;

/// <summary>Command line of the stress tool. Hand-rolled like Dekaf's: case-insensitive, unknown flags ignored.</summary>
internal sealed class StressOptions
{
    internal const int DefaultDurationMinutes = 1;
    internal const int DefaultMessageSize = 1000;
    internal const string DefaultOutput = "./results";

    internal IReadOnlyList<ScenarioDefinition> Scenarios { get; private init; } = ScenarioCatalog.All;

    internal string ScenarioArgument { get; private init; } = "all";

    internal int DurationMinutes { get; private init; } = DefaultDurationMinutes;

    internal int MessageSize { get; private init; } = DefaultMessageSize;

    internal string OutputDirectory { get; private init; } = DefaultOutput;

    internal string Client { get; private init; } = "flushlab";

    internal bool ShowHelp { get; private init; }

    /// <summary>Parses the arguments; throws <see cref="FormatException"/> or <see cref="ArgumentException"/> on bad values.</summary>
    internal static StressOptions Parse(string[] args)
    {
        string scenario = "all";
        int duration = DefaultDurationMinutes;
        int messageSize = DefaultMessageSize;
        string output = DefaultOutput;
        string client = "flushlab";
        bool help = false;

        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i].ToLowerInvariant())
            {
                case "--help":
                case "-h":
                case "-?":
                    help = true;
                    break;
                case "--scenario":
                    scenario = Value(args, ref i).ToLowerInvariant();
                    break;
                case "--duration":
                    // Whole minutes, parsed like Dekaf's tool: "0.5" is an error, not 30 seconds.
                    duration = int.Parse(Value(args, ref i), NumberStyles.Integer, CultureInfo.InvariantCulture);
                    if (duration < 0)
                    {
                        throw new ArgumentException("--duration must be a whole number of minutes, 0 or more.");
                    }

                    break;
                case "--message-size":
                    messageSize = int.Parse(Value(args, ref i), NumberStyles.Integer, CultureInfo.InvariantCulture);
                    if (messageSize < 1 || messageSize > ScenarioRunner.MaxMessageSize)
                    {
                        throw new ArgumentException(
                            $"--message-size must be between 1 and {ScenarioRunner.MaxMessageSize} bytes.");
                    }

                    break;
                case "--client":
                    client = Value(args, ref i).ToLowerInvariant();
                    if (client is not ("flushlab" or "dekaf"))
                    {
                        throw new ArgumentException($"--client '{client}' is not supported: use flushlab (or dekaf, an alias).");
                    }

                    break;
                case "--output":
                    output = Value(args, ref i);
                    break;
                default:
                    // Unknown flags (and their values) are ignored, as in Dekaf's stress tool.
                    break;
            }
        }

        IReadOnlyList<ScenarioDefinition> scenarios = scenario == "all"
            ? ScenarioCatalog.All
            : [ScenarioCatalog.Find(scenario)
               ?? throw new ArgumentException($"Unknown scenario '{scenario}'. Run with --help for the list.")];

        return new StressOptions
        {
            Scenarios = scenarios,
            ScenarioArgument = scenario,
            DurationMinutes = duration,
            MessageSize = messageSize,
            OutputDirectory = output,
            Client = client,
            ShowHelp = help,
        };
    }

    private static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length)
        {
            throw new ArgumentException($"{args[i]} needs a value.");
        }

        return args[++i];
    }

    internal static void PrintHelp(TextWriter writer)
    {
        writer.WriteLine("FlushLab stress tests: drives the FlushLab producer (in process, no Kafka) with one seeded");
        writer.WriteLine("performance problem per scenario. Console output follows Dekaf's stress tool.");
        writer.WriteLine();
        writer.WriteLine("Usage: FlushLab.StressTests [options]");
        writer.WriteLine();
        writer.WriteLine("Options:");
        writer.WriteLine("  --scenario <name>      Scenario to run (default: all)");
        writer.WriteLine("  --duration <minutes>   Measured phase per scenario, whole minutes (default: 1)");
        writer.WriteLine("  --message-size <bytes> Payload size per message (default: 1000)");
        writer.WriteLine("  --client <name>        Accepted for compatibility and ignored: flushlab or dekaf only");
        writer.WriteLine("  --output <dir>         Directory for stress-test-results-*.json (default: ./results)");
        writer.WriteLine("  --help                 Show this help");
        writer.WriteLine();
        writer.WriteLine("Scenarios:");
        foreach (ScenarioDefinition definition in ScenarioCatalog.All)
        {
            writer.WriteLine($"  {definition.Name,-16} {definition.Description}");
        }

        writer.WriteLine($"  {"all",-16} Every scenario above, one after another");
        writer.WriteLine();
        writer.WriteLine("The measured phase starts at the line '  Running FlushLab <scenario> stress test for N minutes...'.");
        writer.WriteLine("Exit code: 0 on success, 1 on bad arguments or when progress stalled (CORRECTNESS FAILURES DETECTED).");
    }
}
