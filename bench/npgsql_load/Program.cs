// A steady read load through npgsql's pooled connections, the way a web service uses it: each
// worker opens a connection from the pool, runs one parameterised query, reads its rows and
// closes. Nothing is seeded: the trace shows where a healthy client spends its time.
//
//   NpgsqlLoad <connection string> <seconds> <workers>
// Prints "queries: N" at the end (the message count pta analyze --messages takes); exit 0.
using System.Diagnostics;
using Npgsql;

if (args.Length != 3 || !int.TryParse(args[1], out var seconds) || !int.TryParse(args[2], out var workers))
{
    Console.Error.WriteLine("usage: NpgsqlLoad <connection string> <seconds> <workers>");
    return 2;
}

await using var source = NpgsqlDataSource.Create(args[0]);
await Seed(source);

long queries = 0;
var clock = Stopwatch.StartNew();
var until = TimeSpan.FromSeconds(seconds);
await Task.WhenAll(Enumerable.Range(0, workers).Select(async worker =>
{
    var from = worker * 20 % 1000;
    while (clock.Elapsed < until)
    {
        await using var connection = await source.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(
            "SELECT id, name, score FROM items WHERE id > @from AND id <= @from + 20", connection);
        command.Parameters.AddWithValue("from", from);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            _ = reader.GetInt32(0) + reader.GetString(1).Length + reader.GetDouble(2);
        }
        Interlocked.Increment(ref queries);
        from = (from + 20) % 1000;
    }
}));

Console.WriteLine($"queries: {queries}");
Console.WriteLine($"per second: {queries / clock.Elapsed.TotalSeconds:F0}");
return 0;

// A thousand rows to read from, recreated on each run.
static async Task Seed(NpgsqlDataSource source)
{
    await using var command = source.CreateCommand(
        """
        DROP TABLE IF EXISTS items;
        CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, score double precision NOT NULL);
        INSERT INTO items SELECT i, 'item ' || i, i * 0.5 FROM generate_series(1, 1000) AS i;
        """);
    await command.ExecuteNonQueryAsync();
}
