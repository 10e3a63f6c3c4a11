// Subscribes with a persistent session and prints "got PAYLOAD" for every message handed to the
// application, reconnecting on its own. Prints "subscribed" once the SUBACK arrived.
// Usage: node sequence-subscriber.js URL TOPIC QOS CLIENT_ID PROTOCOL_VERSION
const mqtt = require('mqtt');
const [url, topic, qosText, clientId, versionText] = process.argv.slice(2);
const client = mqtt.connect(url, {
  clientId, clean: false, protocolVersion: Number(versionText), reconnectPeriod: 200, connectTimeout: 5000,
  protocolId: Number(versionText) === 3 ? 'MQIsdp' : 'MQTT',
  properties: Number(versionText) === 5 ? { sessionExpiryInterval: 3600 } : undefined,
});
let subscribed = false;
client.on('connect', (connack) => {
  if (!subscribed) {
    client.subscribe(topic, { qos: Number(qosText) }, (err) => {
      if (err) { console.error('subscribe failed ' + err.message); process.exit(2); }
      subscribed = true;
      console.log('subscribed');
    });
  }
});
client.on('message', (t, payload) => console.log('got ' + payload.toString()));
client.on('error', (e) => console.error('client error ' + e.message));
