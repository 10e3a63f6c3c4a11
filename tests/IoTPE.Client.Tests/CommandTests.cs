using System.Text.Json;
using System.Text.Json.Serialization;
using IoTPE.Client.Tests.Infrastructure;
using IoTPE.Mqtt;

namespace IoTPE.Client.Tests;

public sealed record PingRequest(int N);

public sealed record PingResult(int Pong);

[JsonSerializable(typeof(PingRequest))]
[JsonSerializable(typeof(PingResult))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
public sealed partial class TestJson : JsonSerializerContext;

/// <summary>Commands: resolve, reject, cancel, and calls answered across the callee's and the caller's absences.</summary>
[Collection(SharedBrokers.Name)]
public sealed class CommandTests(BrokerFixture brokers)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public static TheoryData<string, MqttProtocolVersion> Brokers() => new()
    {
        { "iotpe", MqttProtocolVersion.V500 },
        { "mosquitto", MqttProtocolVersion.V311 },
    };

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task A_call_resolves_with_the_handlers_result(string brokerName, MqttProtocolVersion version)
    {
        await using var setup = await Setup.StartAsync(brokers.Get(brokerName), version);
        await setup.Callee.RegisterCommandAsync(setup.Topic, (payload, _) =>
            ValueTask.FromResult(Json($"{{\"pong\":{payload.GetProperty("n").GetInt32() + 1}}}"))).WaitAsync(Timeout);

        CommandCall call = await setup.Caller.CallAsync(setup.Topic, Json("{\"n\":41}"));
        CommandResult result = await setup.ResultOf(call.MessageId);

        Assert.True(result.IsResolved);
        Assert.Equal(42, result.Result.GetProperty("pong").GetInt32());
        Assert.Equal(setup.Topic, result.Topic);
        await call.Delivered.WaitAsync(Timeout);
    }

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task A_thrown_error_rejects_the_call_with_its_message_code_and_details(string brokerName, MqttProtocolVersion version)
    {
        await using var setup = await Setup.StartAsync(brokers.Get(brokerName), version);
        await setup.Callee.RegisterCommandAsync(setup.Topic, (payload, _) => payload.GetProperty("kind").GetString() == "plain"
            ? throw new InvalidOperationException("boom")
            : throw new CommandRejectedException("not allowed", "E_DENIED", Json("{\"limit\":3}"))).WaitAsync(Timeout);

        CommandCall plain = await setup.Caller.CallAsync(setup.Topic, Json("{\"kind\":\"plain\"}"));
        CommandCall detailed = await setup.Caller.CallAsync(setup.Topic, Json("{\"kind\":\"detailed\"}"));

        CommandResult plainResult = await setup.ResultOf(plain.MessageId);
        Assert.False(plainResult.IsResolved);
        Assert.Equal("boom", plainResult.Error!.Message);
        Assert.Null(plainResult.Error.Code);

        CommandResult detailedResult = await setup.ResultOf(detailed.MessageId);
        Assert.Equal("not allowed", detailedResult.Error!.Message);
        Assert.Equal("E_DENIED", detailedResult.Error.Code);
        Assert.Equal(3, detailedResult.Error.Details!.Value.GetProperty("limit").GetInt32());
        Assert.Throws<InvalidOperationException>(() => detailedResult.GetResult(TestJson.Default.PingResult));
    }

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task Cancelling_a_call_cancels_the_running_handlers_token_and_rejects_it(string brokerName, MqttProtocolVersion version)
    {
        await using var setup = await Setup.StartAsync(brokers.Get(brokerName), version);
        (Task started, Task observed) = await RegisterUntilCancelledAsync(setup);

        CommandCall call = await setup.Caller.CallAsync(setup.Topic, default);
        await started.WaitAsync(Timeout);
        await call.CancelAsync().WaitAsync(Timeout);

        await observed.WaitAsync(Timeout);
        CommandResult result = await setup.ResultOf(call.MessageId);
        Assert.False(result.IsResolved);
        Assert.True(result.Error!.IsCancellation);
    }

    [Fact]
    public async Task A_restarted_caller_cancels_its_earlier_call_by_its_stored_message_id()
    {
        TestBroker broker = brokers.Mosquitto;
        await using var setup = await Setup.StartAsync(broker, MqttProtocolVersion.V500);
        (Task started, Task observed) = await RegisterUntilCancelledAsync(setup);

        string storedId = (await setup.Caller.CallAsync(setup.Topic, default)).MessageId;
        await started.WaitAsync(Timeout);
        await setup.Caller.DisposeAsync(); // The caller's process ends; the application kept only the message id.

        var results = new CommandResultLog();
        MqttClient caller = setup.Clients.Create(setup.Clients.Options(broker, setup.CallerId, MqttProtocolVersion.V500));
        Task subscribed = caller.SubscribeCommandResultsAsync(setup.Topic, results.Handler);
        await caller.StartAsync();
        await subscribed.WaitAsync(Timeout);
        await caller.CancelAsync(setup.Topic, storedId).WaitAsync(Timeout);

        await observed.WaitAsync(Timeout);
        Assert.True((await results.ResultOf(storedId, Timeout)).Error!.IsCancellation);
    }

    [Fact]
    public async Task Calls_run_concurrently_so_a_slow_one_does_not_hold_up_the_next()
    {
        await using var setup = await Setup.StartAsync(brokers.Iotpe, MqttProtocolVersion.V500);
        var release = new TaskCompletionSource();
        await setup.Callee.RegisterCommandAsync(setup.Topic, async (payload, token) =>
        {
            if (payload.GetString() == "slow")
            {
                await release.Task.WaitAsync(token);
            }

            return payload;
        }).WaitAsync(Timeout);

        CommandCall slow = await setup.Caller.CallAsync(setup.Topic, Json("\"slow\""));
        CommandCall fast = await setup.Caller.CallAsync(setup.Topic, Json("\"fast\""));
        Assert.Equal("fast", (await setup.ResultOf(fast.MessageId)).Result.GetString());
        Assert.False(setup.HasResult(slow.MessageId));
        release.SetResult();
        Assert.Equal("slow", (await setup.ResultOf(slow.MessageId)).Result.GetString());
    }

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task A_call_made_while_the_callee_is_offline_is_answered_when_it_comes_back(string brokerName, MqttProtocolVersion version)
    {
        TestBroker broker = brokers.Get(brokerName);
        await using var setup = await Setup.StartAsync(broker, version);
        await setup.Callee.RegisterCommandAsync(setup.Topic, Echo).WaitAsync(Timeout);
        await setup.Callee.DisposeAsync(); // Offline; its persistent session keeps its subscription.

        CommandCall call = await setup.Caller.CallAsync(setup.Topic, Json("\"while you were out\""));
        await call.Delivered.WaitAsync(Timeout); // The broker holds it for the callee.
        Assert.False(setup.HasResult(call.MessageId)); // No callee runs now: no waiting could make a result appear.

        MqttClient callee = setup.Clients.Create(setup.Clients.Options(broker, setup.CalleeId, version));
        Task registered = callee.RegisterCommandAsync(setup.Topic, Echo);
        await callee.StartAsync();
        await registered.WaitAsync(Timeout);

        Assert.Equal("while you were out", (await setup.ResultOf(call.MessageId)).Result.GetString());
    }

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task A_result_given_while_the_caller_is_offline_reaches_it_when_it_comes_back(string brokerName, MqttProtocolVersion version)
    {
        TestBroker broker = brokers.Get(brokerName);
        await using var setup = await Setup.StartAsync(broker, version);
        var release = new TaskCompletionSource();
        await setup.Callee.RegisterCommandAsync(setup.Topic, async (payload, token) =>
        {
            await release.Task.WaitAsync(token);
            return payload;
        }).WaitAsync(Timeout);

        // A bystander subscribed to the resolve topic: once it has the answer, the broker has routed it to the absent
        // caller's session as well.
        var resolves = new MessageLog();
        MqttClient bystander = setup.Clients.Create(setup.Clients.Options(broker, TestClients.NewClientId("bystander"), version));
        Task watching = bystander.SubscribeAsync(setup.Topic + "/resolve", resolves.Handler);
        await bystander.StartAsync();
        await watching.WaitAsync(Timeout);

        CommandCall call = await setup.Caller.CallAsync(setup.Topic, Json("7"));
        await call.Delivered.WaitAsync(Timeout);
        await setup.Caller.DisposeAsync();
        release.SetResult(); // Answered while the caller is away.
        Assert.True(await resolves.WaitForCountAsync(1, Timeout), "the callee answered");

        var results = new CommandResultLog();
        MqttClient caller = setup.Clients.Create(setup.Clients.Options(broker, setup.CallerId, version));
        Task subscribed = caller.SubscribeCommandResultsAsync(setup.Topic, results.Handler);
        await caller.StartAsync();
        await subscribed.WaitAsync(Timeout);

        Assert.Equal(7, (await results.ResultOf(call.MessageId, Timeout)).Result.GetInt32());
    }

    [Fact]
    public async Task Typed_commands_serialize_with_source_generated_metadata()
    {
        await using var setup = await Setup.StartAsync(brokers.Mosquitto, MqttProtocolVersion.V500);
        await setup.Callee.RegisterCommandAsync(
            setup.Topic,
            (PingRequest request, CancellationToken _) => ValueTask.FromResult(new PingResult(request.N * 2)),
            TestJson.Default.PingRequest,
            TestJson.Default.PingResult).WaitAsync(Timeout);

        CommandCall call = await setup.Caller.CallAsync(setup.Topic, new PingRequest(21), TestJson.Default.PingRequest);

        Assert.Equal(new PingResult(42), (await setup.ResultOf(call.MessageId)).GetResult(TestJson.Default.PingResult));
    }

    private static ValueTask<JsonElement> Echo(JsonElement payload, CancellationToken cancellationToken) => ValueTask.FromResult(payload);

    /// <summary>Serves the command with a handler that runs until cancelled: tasks for its start and for its token's cancellation.</summary>
    private static async Task<(Task Started, Task Observed)> RegisterUntilCancelledAsync(Setup setup)
    {
        var started = new TaskCompletionSource();
        var observed = new TaskCompletionSource();
        await setup.Callee.RegisterCommandAsync(setup.Topic, async (_, token) =>
        {
            using CancellationTokenRegistration registration = token.Register(() => observed.TrySetResult());
            started.TrySetResult();
            await Task.Delay(System.Threading.Timeout.Infinite, token);
            return default;
        }).WaitAsync(Timeout);
        return (started.Task, observed.Task);
    }

    private static JsonElement Json(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>A callee and a caller subscribed to the command's results.</summary>
    private sealed class Setup : IAsyncDisposable
    {
        private readonly CommandResultLog _results = new();

        private Setup(TestClients clients, string topic)
        {
            Clients = clients;
            Topic = topic;
        }

        public TestClients Clients { get; }

        public string Topic { get; }

        public string CalleeId { get; } = TestClients.NewClientId("callee");

        public string CallerId { get; } = TestClients.NewClientId("caller");

        public MqttClient Callee { get; private set; } = null!;

        public MqttClient Caller { get; private set; } = null!;

        public static async Task<Setup> StartAsync(TestBroker broker, MqttProtocolVersion version)
        {
            var setup = new Setup(new TestClients(), $"cmd/{Guid.NewGuid():N}/ping");
            setup.Callee = await setup.Clients.StartAsync(setup.Clients.Options(broker, setup.CalleeId, version));
            setup.Caller = await setup.Clients.StartAsync(setup.Clients.Options(broker, setup.CallerId, version));
            await setup.Caller.SubscribeCommandResultsAsync(setup.Topic, setup._results.Handler).WaitAsync(Timeout);
            return setup;
        }

        public bool HasResult(string messageId) => _results.HasResult(messageId);

        public Task<CommandResult> ResultOf(string messageId) => _results.ResultOf(messageId, Timeout);

        public async ValueTask DisposeAsync()
        {
            await Clients.DisposeAsync();
            Assert.Equal(0, _results.Duplicates); // Each call is answered once.
        }
    }
}
