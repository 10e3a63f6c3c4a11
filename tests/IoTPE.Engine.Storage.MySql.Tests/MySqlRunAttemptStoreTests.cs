using IoTPE.Engine.Scripts;

namespace IoTPE.Engine.Storage.MySql.Tests;

/// <summary>
/// The central's run marks and quarantine (<see cref="MySqlRunAttemptStore"/>) against a real MariaDB
/// server: starts counted per request and durable across store instances (a restarted engine),
/// finished runs forgotten, start-up's sweep of every request no longer queued, quarantined runs per account.
/// </summary>
public sealed class MySqlRunAttemptStoreTests(MariaDbFixture fixture) : IClassFixture<MariaDbFixture>
{
    // Request ids are store ids; each test takes its own range, since the class shares one server.
    private MySqlRunAttemptStore Open() => new(fixture.OpenService());

    [Fact]
    public void Starts_are_counted_per_request_and_survive_a_new_store_until_the_run_finishes()
    {
        MySqlRunAttemptStore first = Open();
        Assert.Equal(0, first.MarkStarted(1_001));
        Assert.Equal(0, first.MarkStarted(1_002));
        // The process died during 1_001's run; the engine that starts next sees one earlier start.
        MySqlRunAttemptStore restarted = Open();
        Assert.Equal(1, restarted.MarkStarted(1_001));
        Assert.Equal(2, Open().MarkStarted(1_001));
        restarted.MarkFinished(1_001);
        Assert.Equal(0, Open().MarkStarted(1_001));
        Assert.Equal(1, Open().MarkStarted(1_002)); // untouched by 1_001's finish
        restarted.MarkFinished(9_999); // finishing a request never marked is harmless
    }

    [Fact]
    public void Forgetting_keeps_only_the_requests_still_queued()
    {
        MySqlRunAttemptStore store = Open();
        foreach (long id in (long[])[2_001, 2_002, 2_003, 2_004])
        {
            store.MarkStarted(id);
        }
        store.ForgetAllExcept([2_002, 2_004, 2_999]);
        Assert.Equal(0, store.MarkStarted(2_001));
        Assert.Equal(1, store.MarkStarted(2_002));
        Assert.Equal(0, store.MarkStarted(2_003));
        Assert.Equal(1, store.MarkStarted(2_004));

        store.ForgetAllExcept([]);
        Assert.Equal(0, store.MarkStarted(2_002));
    }

    [Fact]
    public void Quarantined_runs_are_listed_per_account_oldest_first_with_their_time()
    {
        MySqlRunAttemptStore store = Open();
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_767_000_000_123);
        store.AddQuarantined(new QuarantinedRun("qa", "/qa/run/report", at));
        store.AddQuarantined(new QuarantinedRun("qb", "/qb/run/other", at));
        store.AddQuarantined(new QuarantinedRun("qa", "/qa/run/crash", at.AddSeconds(1)));

        IReadOnlyList<QuarantinedRun> qa = Open().Quarantined("qa");
        Assert.Equal([new QuarantinedRun("qa", "/qa/run/report", at), new QuarantinedRun("qa", "/qa/run/crash", at.AddSeconds(1))], qa);
        Assert.Equal("/qb/run/other", Assert.Single(store.Quarantined("qb")).Topic);
        Assert.Empty(store.Quarantined("nobody"));
    }
}
