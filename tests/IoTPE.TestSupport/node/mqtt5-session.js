// One MQTT.js client session driven by a JSON plan (argv[2]), printing one JSON line per event:
//   {"event":"connack","sessionPresent":..,"reasonCode":..,"properties":{..}}
//   {"event":"suback","granted":[..]}
//   {"event":"message","topic":..,"payload":..,"qos":..,"retain":..,"dup":..,"properties":{..}}
//   {"event":"published","index":N,"error":null|"..."}
//   {"event":"disconnect","reasonCode":..}, {"event":"closed"}, {"event":"done"}
// Plan: { url, clientId, clean, protocolVersion (default 5), connectProperties, will,
//         subscribe: [{topic, qos, nl, rap, rh}], subscribeProperties,
//         publish: [{topic, payload, qos, retain, properties}], stayMs, exitAfterMessages,
//         withholdAcks (never send PUBACK/PUBREC: received QoS 1/2 messages stay in flight) }
const mqtt = require('mqtt');
const plan = JSON.parse(process.argv[2]);
const out = (o) => console.log(JSON.stringify(o));
const toPlain = (props) => {
  if (!props) return {};
  const r = {};
  for (const [k, v] of Object.entries(props)) r[k] = Buffer.isBuffer(v) ? v.toString() : v;
  return r;
};
const client = mqtt.connect(plan.url, {
  clientId: plan.clientId ?? '', clean: plan.clean ?? true, protocolVersion: plan.protocolVersion ?? 5,
  reconnectPeriod: 0, connectTimeout: 5000, properties: plan.connectProperties, will: plan.will,
  keepalive: plan.keepalive ?? 60, username: plan.username, password: plan.password,
});
if (plan.withholdAcks) {
  const send = client._sendPacket.bind(client);
  client._sendPacket = (packet, cb, ...rest) => {
    if (packet.cmd === 'puback' || packet.cmd === 'pubrec') { if (cb) cb(); return; }
    return send(packet, cb, ...rest);
  };
}
let messages = 0;
// Standard output is written asynchronously: exit once every earlier line is written, or the last ones are lost.
function finish() { out({ event: 'done' }); client.end(true, {}, () => process.stdout.write('', () => process.exit(0))); }
client.on('connect', async (connack) => {
  out({ event: 'connack', sessionPresent: connack.sessionPresent, reasonCode: connack.reasonCode ?? connack.returnCode ?? 0, properties: toPlain(connack.properties) });
  if (plan.subscribe && plan.subscribe.length) {
    const subs = {};
    for (const s of plan.subscribe) subs[s.topic] = { qos: s.qos ?? 0, nl: !!s.nl, rap: !!s.rap, rh: s.rh ?? 0 };
    const opts = plan.subscribeProperties ? { properties: plan.subscribeProperties } : {};
    await new Promise((res) => client.subscribe(subs, opts, (err, granted) => {
      out({ event: 'suback', error: err ? err.message : null, granted: (granted || []).map(g => g.qos) });
      res();
    }));
  }
  (plan.publish || []).forEach((p, index) => {
    const payload = p.payload ?? '';
    client.publish(p.topic, payload, { qos: p.qos ?? 0, retain: !!p.retain, properties: p.properties }, (err) => {
      out({ event: 'published', index, error: err ? err.message : null });
    });
  });
  setTimeout(finish, plan.stayMs ?? 1000);
});
client.on('message', (topic, payload, packet) => {
  out({ event: 'message', topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup, properties: toPlain(packet.properties) });
  if (plan.exitAfterMessages && ++messages >= plan.exitAfterMessages) finish();
});
client.on('disconnect', (packet) => out({ event: 'disconnect', reasonCode: packet.reasonCode }));
client.on('close', () => out({ event: 'closed' }));
client.on('error', (e) => out({ event: 'error', message: e.message, code: e.code ?? null }));
