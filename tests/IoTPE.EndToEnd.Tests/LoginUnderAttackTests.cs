using System.Diagnostics;
using System.Net;
using System.Text;
using IoTPE.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// Password guessing against the published binary (real PBKDF2 hashes, real sockets from many
/// loopback addresses): guesses are counted before they are hashed, and a legitimate login keeps
/// getting through while hundreds of bad ones arrive at once.
/// </summary>
public sealed class LoginUnderAttackTests(ITestOutputHelper output) : IAsyncLifetime
{
    // CONNACK return codes of MQTT 3.1.1 (section 3.2.2.3).
    private const byte Accepted = 0;
    private const byte ServerUnavailable = 3; // the limiter's "not checked, try again"
    private const byte BadUserNameOrPassword = 4;

    private IotpeServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await IotpeServer.StartAsync(allowAnonymous: false);
        await _server.AddAccountAsync("acme", "right-password");
        await _server.AddAccountAsync("bob", "bobs-password");
        await _server.AddAccountAsync("carol", "carols-password");
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 3 accounts"), _server.Output);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>Sends a 3.1.1 CONNECT with credentials and returns the CONNACK's return code (or -1: no CONNACK).</summary>
    private async Task<int> LoginAsync(string user, string password, IPAddress from)
    {
        using RawConnection connection = await RawConnection.OpenAsync(_server.Port, from);
        await connection.SendAsync(ConnectPacket("c" + Guid.NewGuid().ToString("N")[..12], user, password));
        byte[] connack = await connection.ReadAsync(4, TimeSpan.FromSeconds(30));
        return connack is [0x20, 0x02, _, var code] ? code : -1;
    }

    private static byte[] ConnectPacket(string clientId, string user, string password)
    {
        var body = new List<byte> { 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 0x04, 0xC2, 0x00, 0x3C };
        foreach (string field in new[] { clientId, user, password })
        {
            byte[] bytes = Encoding.UTF8.GetBytes(field);
            body.Add((byte)(bytes.Length >> 8));
            body.Add((byte)bytes.Length);
            body.AddRange(bytes);
        }
        return [0x10, (byte)body.Count, .. body];
    }

    private static IPAddress Loopback(int host) => new([127, 0, (byte)(host >> 8), (byte)host]);

    [Fact]
    public async Task Hundreds_of_parallel_guesses_get_a_handful_of_checks_and_a_legitimate_login_stays_under_a_second()
    {
        // A first login without an attack, for comparison (it also loads the crypto library).
        var quiet = Stopwatch.StartNew();
        Assert.Equal(Accepted, await LoginAsync("carol", "carols-password", Loopback(5000)));
        TimeSpan quietLogin = quiet.Elapsed;

        // 60 guesses at acme from one address (the broker admits 64 unauthenticated connections per
        // address), 200 from 200 other addresses, 200 at accounts that do not exist: all at once.
        var atAcme = new List<Task<int>>();
        var atNobody = new List<Task<int>>();
        for (int i = 0; i < 200; i++)
        {
            if (i < 60)
            {
                atAcme.Add(LoginAsync("acme", "guess" + i, Loopback(1)));
            }
            atAcme.Add(LoginAsync("acme", "guess" + i, Loopback(1000 + i)));
            atNobody.Add(LoginAsync("nobody" + i, "guess", Loopback(2000 + i)));
        }
        // Meanwhile bob logs in for the first time (nothing remembered) from his own address.
        var stopwatch = Stopwatch.StartNew();
        int bob = await LoginAsync("bob", "bobs-password", Loopback(3000));
        TimeSpan bobsLogin = stopwatch.Elapsed;
        int[] acmeCodes = await Task.WhenAll(atAcme);
        int[] nobodyCodes = await Task.WhenAll(atNobody);

        int checkedAtAcme = acmeCodes.Count(c => c == BadUserNameOrPassword);
        int held = acmeCodes.Count(c => c == ServerUnavailable);
        output.WriteLine($"a first login without attack: {quietLogin.TotalMilliseconds:F0} ms; bob's login under attack: {bobsLogin.TotalMilliseconds:F0} ms; guesses at acme checked: {checkedAtAcme} of {acmeCodes.Length}, held back: {held}; " +
            $"answers at acme: {string.Join(", ", acmeCodes.GroupBy(c => c).Select(g => $"{g.Key}×{g.Count()}"))}; at unknown accounts: {string.Join(", ", nobodyCodes.GroupBy(c => c).Select(g => $"{g.Key}×{g.Count()}"))}");

        Assert.Equal(Accepted, bob);
        // Under a second on an idle 2-core machine (about 0.3 s: one PBKDF2 check); on a machine
        // busy with other work a check itself takes longer, so the bound is relative to the
        // quiet login then: the attack may cost bob one other check's time, not a queue of them.
        Assert.True(bobsLogin < TimeSpan.FromSeconds(1) || bobsLogin < quietLogin * 2.5,
            $"bob's login took {bobsLogin.TotalMilliseconds:F0} ms under attack, {quietLogin.TotalMilliseconds:F0} ms without");
        Assert.All(nobodyCodes, c => Assert.Equal(BadUserNameOrPassword, c));
        Assert.All(acmeCodes, c => Assert.True(c is BadUserNameOrPassword or ServerUnavailable, $"answer {c}")); // every guess answered, none let in
        // The account allows 5 free failures, then one check at a time after a doubling delay.
        Assert.InRange(checkedAtAcme, 1, 8);
        Assert.Equal(acmeCodes.Length, checkedAtAcme + held);

        // The owner, whose address never guessed, still gets in once the guessing stops: first
        // logins to an attacked account wait at most the current delay.
        int acme = -1;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(20) && (acme = await LoginAsync("acme", "right-password", Loopback(4000))) == ServerUnavailable)
        {
            await Task.Delay(250); // a client's own retry interval
        }
        Assert.Equal(Accepted, acme);
        // Held-back logins are logged: waiting too long behind the running checks, or delayed by failures.
        Assert.True(await _server.WaitForOutputAsync("; not checked, try again"), _server.Output);
    }
}
