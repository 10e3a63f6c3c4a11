using System.Device.Gpio;
using System.Text;
using System.Text.Json;
using IoTPE.Broker;
using IoTPE.Broker.Storage.Sqlite;
using IoTPE.Gpio.Chips;
using IoTPE.Gpio.Configuration;
using IoTPE.Gpio.Mqtt;
using IoTPE.Mqtt;
using IoTPE.TestSupport;

namespace IoTPE.Gpio.Tests;

/// <summary>The pins' topics on a real broker over a real SQLite store, observed by an in-process subscriber.</summary>
public sealed class GpioMqttBridgeTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private readonly SimulatedChips _chips = new();
    private readonly List<ApplicationMessage> _seen = [];
    private SqliteBrokerStore? _store;
    private Broker.Broker? _broker;
    private GpioPins? _pins;
    private GpioMqttBridge? _bridge;
    private InternalClient? _observer;

    public Task InitializeAsync()
    {
        _store = new SqliteBrokerStore(_folder.Path);
        _broker = new Broker.Broker(new BrokerOptions(), _store);
        _broker.LoadState();
        _observer = _broker.ConnectInternalClient("$iotpe/test-observer", 1000, delivery =>
        {
            lock (_seen)
            {
                _seen.Add(delivery.Message);
            }
            _observer!.Acknowledge(delivery);
        });
        _observer.Subscribe("/acme/#");
        _observer.Subscribe("$SYS/broker/gpio/#", QualityOfService.AtMostOnce);
        _pins = new GpioPins(
        [
            new PinSettings { Name = "led", Account = "acme", Chip = 0, Line = 17, Direction = PinDirection.Output },
            new PinSettings { Name = "button", Account = "acme", Chip = 0, Line = 27, Direction = PinDirection.Input, Bias = PinBias.PullDown, MaxEdgesPerSecond = 2 },
        ], _chips);
        _bridge = new GpioMqttBridge(_pins, _broker);
        _bridge.Start();
        _pins.Open();
        return Task.CompletedTask;
    }

    private async Task<ApplicationMessage> WaitForAsync(string topic, Func<JsonElement, bool>? where = null)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            lock (_seen)
            {
                foreach (ApplicationMessage message in _seen)
                {
                    if (message.Topic == topic && (where is null || where(JsonDocument.Parse(message.Payload).RootElement)))
                    {
                        return message;
                    }
                }
            }
            await Task.Delay(5);
        }
        lock (_seen)
        {
            Assert.Fail($"no message on {topic}; seen: {string.Join("; ", _seen.Select(m => m.Topic + " " + Encoding.UTF8.GetString(m.Payload.Span)))}");
        }
        return null!;
    }

    private void PublishAsClient(string topic, string payload) =>
        _broker!.Publish(new ApplicationMessage(topic, Encoding.UTF8.GetBytes(payload), QualityOfService.AtLeastOnce, retain: false));

    [Fact]
    public async Task Every_state_is_published_as_json_at_qos_1()
    {
        ApplicationMessage led = await WaitForAsync("/acme/gpio/led");
        JsonElement state = JsonDocument.Parse(led.Payload).RootElement;
        Assert.Equal(0, state.GetProperty("value").GetInt32());
        Assert.Equal(JsonValueKind.Null, state.GetProperty("edge").ValueKind);
        Assert.True(state.TryGetProperty("timestamp", out _));

        _chips.Chip(0).Drive(27, PinValue.High);
        await WaitForAsync("/acme/gpio/button", s => s.GetProperty("edge").GetString() == "rising" && s.GetProperty("value").GetInt32() == 1);

        Assert.Equal(QualityOfService.AtLeastOnce, led.QoS);
    }

    [Fact]
    public async Task A_set_drives_an_output_and_its_state_follows()
    {
        await WaitForAsync("/acme/gpio/led");
        PublishAsClient("/acme/gpio/led/set", "1");
        await WaitForAsync("/acme/gpio/led", s => s.GetProperty("value").GetInt32() == 1 && s.GetProperty("edge").GetString() == "rising");
        Assert.Equal(PinValue.High, _chips.Chip(0).Level(17));
        PublishAsClient("/acme/gpio/led/set", """{"value": false}""");
        await WaitForAsync("/acme/gpio/led", s => s.GetProperty("edge").GetString() == "falling");
        Assert.Equal(PinValue.Low, _chips.Chip(0).Level(17));
    }

    [Theory]
    [InlineData("/acme/gpio/button/set", "1", "pin 'button' is an input; only outputs can be written")]
    [InlineData("/acme/gpio/led/set", "on", "malformed value: expected 0, 1, true, false or {\"value\": 0|1|true|false}")]
    [InlineData("/acme/gpio/led/set", "2", "malformed value: expected 0, 1, true, false or {\"value\": 0|1|true|false}")]
    [InlineData("/acme/gpio/fan/set", "1", "account acme has no pin 'fan'")]
    public async Task A_set_that_cannot_be_done_is_refused_with_its_reason_on_the_error_topic(string topic, string payload, string reason)
    {
        await WaitForAsync("/acme/gpio/led");
        PublishAsClient(topic, payload);
        ApplicationMessage refusal = await WaitForAsync(topic + "/error");
        JsonElement body = JsonDocument.Parse(refusal.Payload).RootElement;
        Assert.Equal(reason, body.GetProperty("error").GetString());
        Assert.Equal(topic.Split('/')[3], body.GetProperty("pin").GetString());
        Assert.Contains(refusal.Properties!.UserProperties, p => p is { Name: "status", Value: "error" });
        Assert.Equal(PinValue.Low, _chips.Chip(0).Level(17));
    }

    [Fact]
    public async Task Coalesced_edges_are_counted_under_sys()
    {
        await WaitForAsync("/acme/gpio/button");
        for (int i = 0; i < 10; i++)
        {
            _chips.Chip(0).Drive(27, i % 2 == 0 ? PinValue.High : PinValue.Low);
        }
        await WaitForAsync("$SYS/broker/gpio/edges/coalesced", _ => true);
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline && LastText("$SYS/broker/gpio/edges/coalesced") != "8")
        {
            await Task.Delay(20);
        }
        Assert.Equal("8", LastText("$SYS/broker/gpio/edges/coalesced"));
    }

    private string? LastText(string topic)
    {
        lock (_seen)
        {
            return _seen.LastOrDefault(m => m.Topic == topic) is { } m ? Encoding.UTF8.GetString(m.Payload.Span) : null;
        }
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("0", 0)]
    [InlineData("true", 1)]
    [InlineData(" false ", 0)]
    [InlineData("""{"value":1,"by":"dashboard"}""", 1)]
    [InlineData("""{"value":true}""", 1)]
    [InlineData("", null)]
    [InlineData("1 2", null)]
    [InlineData("\"1\"", null)]
    [InlineData("""{"on":1}""", null)]
    [InlineData("""{"value":0.5}""", null)]
    public void Set_values_are_read_strictly(string payload, int? expected) =>
        Assert.Equal(expected, PinStateJson.ParseSetValue(Encoding.UTF8.GetBytes(payload)));

    public async Task DisposeAsync()
    {
        if (_bridge is not null)
        {
            await _bridge.DisposeAsync();
        }
        if (_pins is not null)
        {
            await _pins.DisposeAsync();
        }
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
        _folder.Dispose();
    }
}
