using System.Net;
using IoTPE.Engine.Security;
using IoTPE.TestSupport;

namespace IoTPE.Engine.Tests;

public class LoginLimiterTests
{
    private readonly ManualClock _clock = new();

    private LoginLimiter Create() => new(_clock) { FreeFailures = 3, BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(8), ForgetAfter = TimeSpan.FromMinutes(10) };

    private static IPAddress Ip(string text) => IPAddress.Parse(text);

    private static void Fail(LoginLimiter limiter, string? account, string address, int times = 1)
    {
        for (int i = 0; i < times; i++)
        {
            LoginAttempt? attempt = limiter.TryBegin(account, Ip(address), out TimeSpan wait);
            Assert.True(attempt is not null, $"attempt {i + 1} held back for {wait}");
            attempt!.Failed();
        }
    }

    [Fact]
    public void A_burst_of_parallel_logins_gets_only_a_few_checks_before_any_is_counted()
    {
        LoginLimiter limiter = Create();
        var started = new List<LoginAttempt>();
        for (int i = 0; i < 200; i++)
        {
            if (limiter.TryBegin("acme", Ip("192.0.2.1"), out _) is { } attempt)
            {
                started.Add(attempt);
            }
        }
        Assert.Single(started);
        started.ForEach(a => a.Failed());
    }

    [Fact]
    public void After_the_free_failures_each_check_waits_twice_as_long_up_to_the_cap()
    {
        LoginLimiter limiter = Create();
        Fail(limiter, "acme", "192.0.2.1", times: 3);
        foreach (int seconds in new[] { 1, 2, 4, 8, 8 })
        {
            Assert.Null(limiter.TryBegin("acme", Ip("192.0.2.1"), out TimeSpan wait));
            Assert.Equal(TimeSpan.FromSeconds(seconds), wait);
            _clock.Advance(wait - TimeSpan.FromMilliseconds(1));
            Assert.Null(limiter.TryBegin("acme", Ip("192.0.2.1"), out _));
            _clock.Advance(TimeSpan.FromMilliseconds(1));
            Fail(limiter, "acme", "192.0.2.1");
        }
    }

    [Fact]
    public void Beyond_the_free_failures_only_one_check_runs_at_a_time()
    {
        LoginLimiter limiter = Create();
        Fail(limiter, "acme", "192.0.2.1", times: 3);
        _clock.Advance(TimeSpan.FromSeconds(1));
        LoginAttempt? first = limiter.TryBegin("acme", Ip("192.0.2.1"), out _);
        Assert.NotNull(first);
        Assert.Null(limiter.TryBegin("acme", Ip("192.0.2.1"), out _));
        first!.Dispose(); // abandoned: counts as a failure
        Assert.Null(limiter.TryBegin("acme", Ip("192.0.2.1"), out TimeSpan wait));
        Assert.Equal(TimeSpan.FromSeconds(2), wait);
    }

    [Fact]
    public void An_address_guessing_at_one_account_does_not_hold_back_another_address()
    {
        LoginLimiter limiter = Create();
        Fail(limiter, null, "192.0.2.1", times: 3); // unknown accounts count on the address only
        Assert.Null(limiter.TryBegin("bob", Ip("192.0.2.1"), out _));
        Assert.NotNull(limiter.TryBegin("bob", Ip("192.0.2.2"), out _));
    }

    [Fact]
    public void A_pair_that_logged_in_before_is_held_back_only_by_its_own_failures()
    {
        LoginLimiter limiter = Create();
        limiter.TryBegin("acme", Ip("198.51.100.7"), out _)!.Succeeded();
        Fail(limiter, "acme", "192.0.2.1", times: 3);   // the account is under attack
        Fail(limiter, "bob", "198.51.100.7", times: 3);  // and someone at acme's address guesses at bob

        Assert.Null(limiter.TryBegin("acme", Ip("203.0.113.9"), out _));
        LoginAttempt? known = limiter.TryBegin("acme", Ip("198.51.100.7"), out _);
        Assert.NotNull(known);
        known!.Failed();
        Fail(limiter, "acme", "198.51.100.7", times: 1);
        Assert.NotNull(limiter.TryBegin("acme", Ip("198.51.100.7"), out _)); // its third failure is still free
    }

    [Fact]
    public void The_owner_logging_in_clears_the_account_but_not_the_guessing_address()
    {
        LoginLimiter limiter = Create();
        Fail(limiter, "acme", "192.0.2.1", times: 3);
        _clock.Advance(TimeSpan.FromSeconds(1));
        limiter.TryBegin("acme", Ip("192.0.2.1"), out _)!.Succeeded();
        Assert.NotNull(limiter.TryBegin("acme", Ip("203.0.113.9"), out _));
        // The address is still beyond its free failures: one check at a time.
        Assert.NotNull(limiter.TryBegin("bob", Ip("192.0.2.1"), out _));
        Assert.Null(limiter.TryBegin("carol", Ip("192.0.2.1"), out _));
    }

    [Fact]
    public void IPv6_addresses_count_per_64_bit_network()
    {
        LoginLimiter limiter = Create();
        Fail(limiter, null, "2001:db8:1:2::1", times: 3);
        Assert.Null(limiter.TryBegin(null, Ip("2001:db8:1:2:ffff::99"), out _));
        Assert.NotNull(limiter.TryBegin(null, Ip("2001:db8:1:3::1"), out _));
        Fail(limiter, null, "::ffff:192.0.2.1", times: 3);
        Assert.Null(limiter.TryBegin(null, Ip("192.0.2.1"), out _));
    }

    [Fact]
    public void Failures_are_forgotten_and_their_memory_is_bounded()
    {
        LoginLimiter limiter = Create();
        Fail(limiter, "acme", "192.0.2.1", times: 3);
        _clock.Advance(TimeSpan.FromMinutes(10));
        Assert.NotNull(limiter.TryBegin("acme", Ip("192.0.2.1"), out _));

        for (int i = 0; i < 12_000; i++)
        {
            limiter.TryBegin(null, new IPAddress(0x0A000000u + (uint)i), out _)!.Failed();
        }
        _clock.Advance(TimeSpan.FromMinutes(10));
        limiter.TryBegin(null, Ip("192.0.2.200"), out _)!.Failed();
        Assert.True(limiter.BucketCount < 100, $"{limiter.BucketCount} buckets kept");
    }
}
