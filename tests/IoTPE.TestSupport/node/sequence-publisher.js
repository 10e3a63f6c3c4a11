// Publishes messages "1".."count" to one topic with MQTT.js and prints "acked N" when the broker
// acknowledged N (PUBACK at QoS 1, PUBCOMP at QoS 2). Keeps a window of unacknowledged messages,
// reconnects on its own (persistent session), and prints "done" when every message is acknowledged.
// With SLOW_AFTER, each publish after the first SLOW_AFTER acknowledgements waits 2 ms, so that a
// test that acts on "acked N" still finds the stream running, with messages in flight, on a fast
// machine.
// Usage: node sequence-publisher.js URL TOPIC QOS COUNT CLIENT_ID PROTOCOL_VERSION [WINDOW] [SLOW_AFTER]
const mqtt = require('mqtt');
const [url, topic, qosText, countText, clientId, versionText, windowText, slowAfterText] = process.argv.slice(2);
const qos = Number(qosText), count = Number(countText), window = Number(windowText || 20);
const slowAfter = slowAfterText ? Number(slowAfterText) : Infinity;
const client = mqtt.connect(url, {
  clientId, clean: false, protocolVersion: Number(versionText), reconnectPeriod: 200, connectTimeout: 5000,
  protocolId: Number(versionText) === 3 ? 'MQIsdp' : 'MQTT',
  properties: Number(versionText) === 5 ? { sessionExpiryInterval: 3600 } : undefined,
});
let next = 1, inFlight = 0, acked = 0, waiting = false, pumping = false;
// QoS 0 acknowledgements arrive inside publish(): the guard keeps pump from recursing once per
// message (5,000 deep overflows the stack); the loop that is running picks the freed slot up.
function pump() {
  if (pumping) return;
  pumping = true;
  try {
    if (acked >= slowAfter) {
      if (!waiting && next <= count && inFlight < window) {
        waiting = true;
        setTimeout(() => { waiting = false; send(); pump(); }, 2);
      }
      return;
    }
    while (next <= count && inFlight < window) send();
  } finally {
    pumping = false;
  }
}
function send() {
  const seq = next++;
  inFlight++;
  client.publish(topic, String(seq), { qos }, (err) => {
    if (err) { console.error('error ' + seq + ' ' + err.message); return; }
    inFlight--; acked++;
    console.log('acked ' + seq);
    if (acked === count) { console.log('done'); client.end(false, {}, exitWhenWritten); }
    pump();
  });
}
// Standard output to the test is written asynchronously: exiting at once lost the last ~100 lines
// ("done" among them) after 10,000 "acked" lines. A write's callback comes after every earlier write.
function exitWhenWritten() { process.stdout.write('', () => process.exit(0)); }
client.on('connect', () => { console.log('connected'); pump(); });
client.on('error', (e) => console.error('client error ' + e.message));
