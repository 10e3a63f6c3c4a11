using System.Collections.Concurrent;
using System.Text;
using IoTPE.Broker.Tests.Infrastructure;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Tests;

/// <summary>The engine's durable in-process session: unacknowledged deliveries come back after a restart.</summary>
public sealed class InternalClientTests
{
    [Fact]
    public async Task Unacknowledged_deliveries_survive_a_restart_and_acknowledged_ones_do_not()
    {
        string folder = Directory.CreateTempSubdirectory("iotpe-internal-").FullName;
        var first = new BlockingCollection<InternalDelivery>();
        await using (RunningBroker broker = await RunningBroker.StartAsync(dataFolder: folder))
        {
            InternalClient client = broker.Broker.ConnectInternalClient("$iotpe/test", 10, first.Add);
            client.Subscribe("jobs/#");
            for (int i = 1; i <= 3; i++)
            {
                ProcessRun pub = await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-t", $"jobs/{i}", "-m", $"job {i}");
                Assert.Equal(0, pub.ExitCode);
            }
            InternalDelivery[] got = [.. Enumerable.Range(0, 3).Select(_ => first.Take(new CancellationTokenSource(5000).Token))];
            Assert.Equal(["jobs/1", "jobs/2", "jobs/3"], got.Select(d => d.Message.Topic));
            client.Acknowledge(got[0]); // job 1 done; 2 and 3 still in flight
            await Task.Delay(300);
        }

        var second = new BlockingCollection<InternalDelivery>();
        await using (RunningBroker broker = await RunningBroker.StartAsync(dataFolder: folder))
        {
            broker.Broker.ConnectInternalClient("$iotpe/test", 10, second.Add);
            InternalDelivery[] again = [.. Enumerable.Range(0, 2).Select(_ => second.Take(new CancellationTokenSource(5000).Token))];
            Assert.Equal(["job 2", "job 3"], again.Select(d => Encoding.UTF8.GetString(d.Message.Payload.Span)));
            Assert.All(again, d => Assert.Equal(QualityOfService.AtLeastOnce, d.QoS));
            Assert.False(second.TryTake(out _, 300));
        }
    }

    [Fact]
    public async Task Qos0_deliveries_not_yet_acknowledged_are_bounded_and_acknowledging_frees_room()
    {
        await using RunningBroker broker = await RunningBroker.StartAsync(options =>
        {
            options.MaxQueuedMessages = 5;
            options.QueueBackpressureMessages = int.MaxValue;
        });
        var deliveries = new BlockingCollection<InternalDelivery>();
        InternalClient client = broker.Broker.ConnectInternalClient("$iotpe/test", 10, deliveries.Add);
        client.Subscribe("jobs/#", QualityOfService.AtMostOnce);

        ProcessRun burst = await ProcessRun.RunAsync("mosquitto_pub",
            ["-h", "127.0.0.1", "-p", broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "jobs/a", "-l"],
            TimeSpan.FromSeconds(10), standardInput: "1\n2\n3\n4\n5\n6\n7\n8\n");
        Assert.Equal(0, burst.ExitCode);
        InternalDelivery[] held = [.. Enumerable.Range(0, 5).Select(_ => deliveries.Take(new CancellationTokenSource(5000).Token))];
        Assert.False(deliveries.TryTake(out _, 300), "no more than MaxQueuedMessages QoS 0 deliveries may wait");
        Assert.Equal(3L, broker.Broker.Counters.MessagesDropped);

        foreach (InternalDelivery delivery in held)
        {
            client.Acknowledge(delivery);
        }
        Assert.Equal(0, (await MosquittoClients.PublishAsync(broker.Port, "-t", "jobs/b", "-m", "after")).ExitCode);
        Assert.Equal("after", Encoding.UTF8.GetString(deliveries.Take(new CancellationTokenSource(5000).Token).Message.Payload.Span));
    }

    [Fact]
    public async Task Connecting_again_takes_the_session_over_as_a_network_CONNECT_does()
    {
        await using RunningBroker broker = await RunningBroker.StartAsync();
        var first = new BlockingCollection<InternalDelivery>();
        InternalClient old = broker.Broker.ConnectInternalClient("$iotpe/test", 1, first.Add);
        old.Subscribe("jobs/#");
        for (int i = 1; i <= 2; i++)
        {
            Assert.Equal(0, (await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-t", $"jobs/{i}", "-m", $"job {i}")).ExitCode);
        }
        InternalDelivery held = first.Take(new CancellationTokenSource(5000).Token); // job 1 in flight, job 2 queued behind it

        var second = new BlockingCollection<InternalDelivery>();
        InternalClient current = broker.Broker.ConnectInternalClient("$iotpe/test", 1, second.Add);
        InternalDelivery resent = second.Take(new CancellationTokenSource(5000).Token);
        Assert.Equal("jobs/1", resent.Message.Topic);
        Assert.True(resent.Redelivered, "what was in flight to the old client is resent to the new one as a duplicate (§4.4)");

        old.Acknowledge(held); // a PUBACK on a connection that was taken over does not count
        Assert.False(second.TryTake(out _, 300), "the old client's acknowledgement freed the new client's window");
        current.Acknowledge(resent);
        Assert.Equal("jobs/2", second.Take(new CancellationTokenSource(5000).Token).Message.Topic);
        Assert.False(first.TryTake(out _, 300), "the old client still received deliveries after the take-over");
        Assert.Equal(0, broker.Broker.Counters.ClientsConnected); // in-process clients are not counted as network clients
    }

    [Fact]
    public async Task The_handler_is_called_after_the_pass_released_the_broker_lock_and_in_the_order_sent()
    {
        // The handler wakes the client's consumer thread. Called inside the pass, that thread found
        // the broker lock held by the thread it had preempted and spun for it.
        await using RunningBroker broker = await RunningBroker.StartAsync();
        var deliveries = new BlockingCollection<(InternalDelivery Delivery, bool LockFree)>();
        InternalClient client = broker.Broker.ConnectInternalClient("$iotpe/test", 100, delivery =>
        {
            // Another thread takes the broker lock (any query does): it finishes only if this thread does not hold it.
            bool lockFree = Task.Run(() => broker.Broker.ResidentDeliveries).Wait(TimeSpan.FromSeconds(2));
            deliveries.Add((delivery, lockFree));
        });
        client.Subscribe("jobs/#");

        string lines = string.Concat(Enumerable.Range(1, 20).Select(i => $"{i}\n"));
        ProcessRun pub = await ProcessRun.RunAsync("mosquitto_pub",
            ["-h", "127.0.0.1", "-p", broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-q", "1", "-t", "jobs/a", "-l"],
            TimeSpan.FromSeconds(30), standardInput: lines);
        Assert.Equal(0, pub.ExitCode);
        var got = Enumerable.Range(0, 20).Select(_ => deliveries.Take(new CancellationTokenSource(10_000).Token)).ToList();
        Assert.All(got, d => Assert.True(d.LockFree, "the handler was called while its thread held the broker lock"));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            got.Select(d => Encoding.UTF8.GetString(d.Delivery.Message.Payload.Span)));
    }

    [Fact]
    public async Task A_client_that_receives_before_commit_gets_the_message_at_once_while_the_publisher_waits_for_the_writer()
    {
        FailingStore? store = null;
        await using RunningBroker broker = await RunningBroker.StartAsync(wrapStore: s => store = new FailingStore(s));
        var early = new BlockingCollection<InternalDelivery>();
        InternalClient engine = broker.Broker.ConnectInternalClient("$iotpe/early", 10, early.Add, queueLimit: null, receiveBeforeCommit: true);
        engine.Subscribe("jobs/#");
        var usual = new BlockingCollection<InternalDelivery>();
        broker.Broker.ConnectInternalClient("$iotpe/usual", 10, usual.Add).Subscribe("other/#");

        using RawConnection publisher = await RawConnection.OpenAsync(broker.Port);
        await publisher.SendAsync(RawMqtt.Connect("publisher", 4, cleanStart: true));
        Assert.Equal(0x20, (await publisher.ReadPacketAsync(TimeSpan.FromSeconds(5))).Type);
        store!.HoldCommits(); // the disk stops answering
        await publisher.SendAsync(RawMqtt.Publish("jobs/1", 1, "job", 4));
        await publisher.SendAsync(RawMqtt.Publish("other/1", 2, "other", 4));
        Task<(byte Type, byte[] Body)> firstAck = publisher.ReadPacketAsync(TimeSpan.FromSeconds(20));

        // Handed over before its commit; a client that did not ask for it waits for the commit as before.
        Assert.True(early.TryTake(out InternalDelivery? job, 5000), "the delivery waited for the commit");
        Assert.Equal("jobs/1", job!.Message.Topic);
        Assert.False(usual.TryTake(out _, 300), "a client that did not ask to receive before the commit got a message whose commit is held");
        // The publisher's PUBACK still waits for the store's verdict, done or not. (Acknowledged on
        // another thread: the verdict may be given in the acknowledging pass, and the held store blocks it.)
        _ = Task.Run(() => engine.Acknowledge(job));
        await Task.Delay(300);
        Assert.False(firstAck.IsCompleted, "the publisher was acknowledged before the store's writer answered");

        store.ReleaseCommits();
        (byte type, byte[] body) = await firstAck;
        Assert.Equal((0x40, 1), (type, body[0] << 8 | body[1]));
        (type, body) = await publisher.ReadPacketAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((0x40, 2), (type, body[0] << 8 | body[1])); // in the order of the PUBLISH packets (§4.6)
        Assert.True(usual.TryTake(out InternalDelivery? other, 5000));
        Assert.Equal("other/1", other!.Message.Topic);
    }

    [Fact]
    public async Task Network_clients_cannot_use_the_reserved_client_id_prefix()
    {
        await using RunningBroker broker = await RunningBroker.StartAsync();
        ProcessRun pub = await MosquittoClients.PublishAsync(broker.Port, "-i", "$iotpe/engine", "-t", "x", "-m", "x");
        Assert.NotEqual(0, pub.ExitCode);
    }
}
