// Simulated bridged gateways for build/central-bench.sh, with MQTT.js (NODE_PATH must name the
// global node_modules).
//
//   node central-bench.js gateways URL USER PASSWORD N SECONDS PREFIX
//     Opens N persistent MQTT 5.0 sessions (clean start off, session expiry 1 h), as a gateway's
//     bridge keeps at the central, and one persistent QoS 2 subscriber on PREFIX/+. Once all are
//     connected, each gateway publishes one QoS 2 message per second to PREFIX/<i> (phases spread over
//     the second) for SECONDS, after 3 s of warm-up that are not counted. Each message carries its
//     send time; subscriber and gateways are in this process, so both times come from one clock.
//     Prints "RESULT gateways=N sent=S received=R lost=L dup=D p50_ms=.. p99_ms=.. max_ms=..
//     ack_p50_ms=.. ack_p99_ms=.. connect_failures=F tool_cpu_s=..", where p50/p99/max are publish ->
//     delivery at the subscriber and ack_* publish -> PUBCOMP at the gateway. Every session is ended
//     with a Session Expiry of 0 when done, so the next step finds none of this step's sessions.
const mqtt = require('mqtt');
const { performance } = require('perf_hooks');
const [mode, ...args] = process.argv.slice(2);

if (mode !== 'gateways') {
  console.error('usage: node central-bench.js gateways URL USER PASSWORD N SECONDS PREFIX');
  process.exit(2);
}

const [url, username, password, countText, secondsText, prefix] = args;
const count = Number(countText), seconds = Number(secondsText);
const warmupMs = 3000;
const run = Math.random().toString(16).slice(2, 8);
const options = (clientId) => ({
  clientId, username, password, protocolVersion: 5, clean: false, reconnectPeriod: 0, connectTimeout: 30000,
  keepalive: 60, properties: { sessionExpiryInterval: 3600 },
});

function connect(clientId) {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, options(clientId));
    client.once('connect', () => resolve(client));
    client.once('error', () => { client.end(true); resolve(null); });
    client.once('close', () => resolve(null));
  });
}

function end(client) {
  return new Promise((resolve) => client.end(false, { properties: { sessionExpiryInterval: 0 } }, resolve));
}

const quantile = (sorted, q) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(2) : 'nan';

(async () => {
  const latencies = [], acks = [];
  const seen = new Set();
  let dup = 0, sent = 0, measuring = false, measureFrom = 0, measureTo = Infinity;

  const subscriber = await connect(`bench-sub-${run}`);
  if (!subscriber) { console.error('central-bench: the subscriber could not connect'); process.exit(2); }
  subscriber.on('message', (topic, payload) => {
    const [key, sentAt] = payload.toString().split(' ');
    if (seen.has(key)) { dup++; return; }
    seen.add(key);
    const at = Number(sentAt);
    if (at >= measureFrom && at < measureTo) latencies.push(performance.now() - at);
  });
  await new Promise((resolve, reject) => subscriber.subscribe(`${prefix}/+`, { qos: 2 }, (e) => (e ? reject(e) : resolve())));

  // Connected in batches: the broker bounds connections that have not completed CONNECT per address.
  const gateways = [];
  let failures = 0;
  for (let i = 0; i < count; i += 32) {
    const batch = await Promise.all(Array.from({ length: Math.min(32, count - i) }, (_, j) => connect(`bench-gw-${run}-${i + j}`)));
    for (const client of batch) { if (client) gateways.push(client); else failures++; }
  }

  const started = performance.now();
  measureFrom = started + warmupMs;
  measureTo = measureFrom + seconds * 1000;
  const timers = gateways.map((client, i) => {
    let seq = 0;
    const publish = () => {
      const at = performance.now();
      if (at >= measureTo) return;
      const counted = at >= measureFrom;
      if (counted) sent++;
      client.publish(`${prefix}/${i}`, `${i}:${seq++} ${at}`, { qos: 2 }, (e) => { if (!e && counted) acks.push(performance.now() - at); });
    };
    let interval;
    const first = setTimeout(() => { publish(); interval = setInterval(publish, 1000); }, (i * 1000) / Math.max(1, gateways.length));
    return () => { clearTimeout(first); clearInterval(interval); };
  });

  await new Promise((resolve) => setTimeout(resolve, warmupMs + seconds * 1000));
  timers.forEach((stop) => stop());
  // Drain: what was sent in the window may still be on its way.
  const drainUntil = performance.now() + 10000;
  while (latencies.length < sent && performance.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 50));

  latencies.sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  const cpu = process.cpuUsage();
  console.log(`RESULT gateways=${gateways.length} sent=${sent} received=${latencies.length} lost=${sent - latencies.length} dup=${dup}`
    + ` p50_ms=${quantile(latencies, 0.5)} p99_ms=${quantile(latencies, 0.99)} max_ms=${quantile(latencies, 1)}`
    + ` ack_p50_ms=${quantile(acks, 0.5)} ack_p99_ms=${quantile(acks, 0.99)} connect_failures=${failures}`
    + ` tool_cpu_s=${((cpu.user + cpu.system) / 1e6).toFixed(2)}`);
  await Promise.all([...gateways, subscriber].map((client) => Promise.race([end(client), new Promise((r) => setTimeout(r, 5000))])));
  process.exit(0);
})().catch((e) => { console.error('central-bench: ' + e.message); process.exit(2); });
