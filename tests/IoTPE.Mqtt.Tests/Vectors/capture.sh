#!/usr/bin/env bash
# Re-records the MQTT test vectors in this folder from real peers:
#   Debian's mosquitto broker  <-  record_proxy.py  <-  mosquitto_pub / mosquitto_sub / MQTT.js (mqtt pub|sub)
# Each scenario writes <name>.txt with one line per MQTT control packet:
#   c2s|s2c <connection number> <packet as hex>
# Needs: mosquitto, mosquitto-clients (apt), mqtt (npm install -g mqtt), python3.
# Usage: ./capture.sh            (rewrites every *.txt in this folder; takes about a minute)
# The tests (VectorTests.cs) decode every line, assert the fields of selected packets and that
# re-encoding gives identical bytes. Client ids are fixed; MQTT.js picks random packet identifiers,
# so its files change between recordings, and the tests assert only fields that stay the same.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
broker_port=$((20000 + RANDOM % 10000))
proxy_port=$((broker_port + 1))
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$broker_port" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "running" "$work/mosquitto.log" && break; sleep 0.1; done

# scenario NAME COMMAND...: runs COMMAND (a shell snippet using $P as the proxy port) through a fresh proxy.
scenario() {
  local name=$1; shift
  rm -f "$name.txt"
  rm -f "$work/ready"
  python3 record_proxy.py "$proxy_port" "$broker_port" "$name.txt" "$work/ready" &
  local proxy=$!
  for _ in $(seq 100); do [ -e "$work/ready" ] && break; sleep 0.1; done
  [ -e "$work/ready" ] || { echo "the recording proxy did not start" >&2; exit 1; }
  P=$proxy_port bash -c "$*"
  sleep 0.3
  kill "$proxy"; wait "$proxy" 2>/dev/null || true
  echo "recorded $name.txt: $(wc -l < "$name.txt") packets"
}

H='-h 127.0.0.1'

# MQTT 3.1.1, mosquitto clients: will, user name/password, QoS 0/1/2, retain, subscribe, unsubscribe.
scenario mosquitto-v311 "
  mosquitto_sub $H -p \$P -V mqttv311 -i sub-v311 -q 2 -t 'vectors/v311/#' -C 3 -W 10 &
  sleep 0.5
  mosquitto_pub $H -p \$P -V mqttv311 -i pub-v311-q1 -u user -P secret --will-topic vectors/will --will-payload gone --will-qos 1 --will-retain -q 1 -t vectors/v311/a -m hello
  mosquitto_pub $H -p \$P -V mqttv311 -i pub-v311-q2 -q 2 -t vectors/v311/b -m 'QoS two'
  mosquitto_pub $H -p \$P -V mqttv311 -i pub-v311-q0 -q 0 -r -t vectors/v311/c -m retained
  wait
  mosquitto_sub $H -p \$P -V mqttv311 -i unsub-v311 -t vectors/v311/c -U vectors/v311/c -C 1 -W 2 || true
  mosquitto_pub $H -p \$P -V mqttv311 -i clear-v311 -r -n -t vectors/v311/c
"

# MQTT 3.1 (MQIsdp), mosquitto clients.
scenario mosquitto-v31 "
  mosquitto_pub $H -p \$P -V mqttv31 -i pub-v31 -q 1 -t vectors/v31 -m 'protocol 3.1'
"

# MQTT 5.0, mosquitto clients with every property they can send.
scenario mosquitto-v5 "
  mosquitto_sub $H -p \$P -V mqttv5 -i sub-v5 -q 2 -t 'vectors/v5/#' -C 2 -W 10 \
    -D connect session-expiry-interval 30 -D connect receive-maximum 20 -D connect maximum-packet-size 65536 \
    -D connect topic-alias-maximum 5 -D connect request-problem-information 1 -D connect request-response-information 1 \
    -D connect user-property client mosquitto_sub -D subscribe subscription-identifier 7 -D subscribe user-property sub scribe \
    -D disconnect session-expiry-interval 0 -D disconnect user-property bye now &
  sleep 0.5
  mosquitto_pub $H -p \$P -V mqttv5 -i pub-v5-q1 -q 1 -t vectors/v5/a -m '{\"t\":21.5}' \
    -D publish payload-format-indicator 1 -D publish message-expiry-interval 300 -D publish content-type application/json \
    -D publish response-topic vectors/reply -D publish correlation-data 0102abcd -D publish user-property unit celsius \
    -D publish user-property unit kelvin \
    --will-topic vectors/will --will-payload gone --will-qos 2 \
    -D will will-delay-interval 10 -D will payload-format-indicator 1 -D will message-expiry-interval 60 \
    -D will content-type text/plain -D will response-topic vectors/will/reply -D will correlation-data 99 \
    -D will user-property w x
  mosquitto_pub $H -p \$P -V mqttv5 -i pub-v5-q2 -q 2 -t vectors/v5/b -m 'QoS two' -u user -P secret
  wait
  mosquitto_sub $H -p \$P -V mqttv5 -i unsub-v5 -t vectors/v5/c -U vectors/v5/c -C 1 -W 2 -D unsubscribe user-property un sub || true
"

# Keep-alive: PINGREQ / PINGRESP in both versions (mosquitto's minimum keep-alive is 5 s).
scenario mosquitto-ping "
  mosquitto_sub $H -p \$P -V mqttv311 -i ping-v311 -k 5 -t vectors/ping -W 7 || true &
  mosquitto_sub $H -p \$P -V mqttv5 -i ping-v5 -k 5 -t vectors/ping -W 7 || true
  wait
"

# MQTT.js, 3.1.1 and 5.0.
scenario mqttjs-v311 "
  timeout 5 mqtt sub -h 127.0.0.1 -p \$P -i js-sub-v311 -q 1 -t 'vectors/js/#' > /dev/null &
  sleep 1.5
  mqtt pub -h 127.0.0.1 -p \$P -i js-pub-v311 -q 1 -t vectors/js/a -m 'from MQTT.js' -u user -P secret \
    --will-topic vectors/will --will-message gone --will-qos 1
  mqtt pub -h 127.0.0.1 -p \$P -i js-pub-v311-q2 -q 2 -t vectors/js/b -m 'QoS two'
  wait || true
"
scenario mqttjs-v5 "
  timeout 5 mqtt sub -h 127.0.0.1 -p \$P -i js-sub-v5 -q 2 -t 'vectors/js5/#' --protocolVersion 5 \
    --properties.sessionExpiryInterval 60 --properties.receiveMaximum 100 > /dev/null &
  sleep 1.5
  mqtt pub -h 127.0.0.1 -p \$P -i js-pub-v5 -q 1 -t vectors/js5/a -m 'from MQTT.js v5' --protocolVersion 5 \
    --properties.userProperties.source mqttjs
  mqtt pub -h 127.0.0.1 -p \$P -i js-pub-v5-q2 -q 2 -t vectors/js5/b -m 'QoS two' --protocolVersion 5
  wait || true
"
