// Measures a bridge from outside with MQTT.js (build/bridge-bench.sh runs it; NODE_PATH must name
// the global node_modules).
//
//   node bridge-bench.js latency EDGE_URL CENTRAL_URL TOPIC RATE COUNT TIMEOUT_S
//     Subscribes at the central, then publishes COUNT QoS 2 messages at RATE msg/s at the edge, each
//     carrying its send time; prints "RESULT received=R lost=L dup=D p50_ms=.. p99_ms=.. max_ms=..".
//     Both clients are in this process, so both times come from one clock.
const mqtt = require('mqtt');
const { performance } = require('perf_hooks');
const [mode, ...args] = process.argv.slice(2);

function connect(url, options) {
  return mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 100, connectTimeout: 5000, ...options });
}

if (mode === 'latency') {
  const [edgeUrl, centralUrl, topic, rateText, countText, timeoutText] = args;
  const rate = Number(rateText), count = Number(countText);
  const latencies = [];
  const seen = new Set();
  let dup = 0;
  const finish = () => {
    latencies.sort((a, b) => a - b);
    const at = (q) => latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(2) : 'nan';
    console.log(`RESULT received=${seen.size} lost=${count - seen.size} dup=${dup} p50_ms=${at(0.5)} p99_ms=${at(0.99)} max_ms=${at(1)}`);
    process.exit(seen.size >= count ? 0 : 1);
  };
  setTimeout(finish, Number(timeoutText) * 1000);
  const central = connect(centralUrl, { clientId: 'bridge-bench-latency-sub', clean: true });
  central.on('message', (t, payload) => {
    const [seq, sentAt] = payload.toString().split(' ');
    if (seen.has(seq)) { dup++; return; }
    seen.add(seq);
    latencies.push(performance.now() - Number(sentAt));
    if (seen.size >= count) finish();
  });
  central.on('connect', () => central.subscribe(topic, { qos: 2 }, () => {
    // The bridge forwards to a central that now has the subscription: start the paced stream.
    const edge = connect(edgeUrl, { clientId: 'bridge-bench-latency-pub', clean: true });
    edge.on('connect', () => {
      let sent = 0;
      const started = performance.now();
      const tick = setInterval(() => {
        const due = Math.min(count, Math.floor((performance.now() - started) * rate / 1000));
        while (sent < due) { sent++; edge.publish(topic, `${sent} ${performance.now()}`, { qos: 2 }); }
        if (sent >= count) clearInterval(tick);
      }, 5);
    });
  }));
} else {
  console.error('usage: bridge-bench.js latency EDGE_URL CENTRAL_URL TOPIC RATE COUNT TIMEOUT_S');
  process.exit(2);
}
