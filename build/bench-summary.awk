# Summarizes build/bench.sh results: one line per run, "label=... broker=... key=value ...".
# Brokers: mosquitto, iotpe, mqttnet (MQTTnet.Server). Ratios are iotpe / Mosquitto; MQTTnet.Server has its own columns.
function median(list, n,   i, j, t, a) {
  split(list, a, " "); n = 0
  for (i in a) if (a[i] != "") n++
  for (i = 2; i <= n; i++) { t = a[i]; j = i - 1; while (j > 0 && a[j] + 0 > t + 0) { a[j+1] = a[j]; j-- } a[j+1] = t }
  if (n == 0) return "";
  return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "–" : sprintf("%.2f", a / b) }
# A median printed as a whole number, or "–" when the broker has no result for the run.
function whole(v) { return (v == "") ? "–" : sprintf("%.0f", v) }
# Broker CPU microseconds per completed message.
function cpu(L, B,   c, s) { c = median(vals[L, B, "broker_cpu_s"]); s = median(vals[L, B, "completed"]); return (s > 0) ? sprintf("%.1f", c * 1e6 / s) : "–" }
function lostdup(L, B,   l, d) { l = median(vals[L, B, "lost"]); d = median(vals[L, B, "dup"]); return ((l == "") ? "–" : l) " / " ((d == "") ? "–" : d) }
{
  delete kv
  for (i = 1; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
  L = kv["label"]; B = kv["broker"]
  if (!(L in seen)) { seen[L] = 1; order[++n] = L }
  for (k in kv) vals[L, B, k] = vals[L, B, k] " " kv[k]
}
END {
  print "### Throughput and latency"
  print ""
  print "| run | Mosquitto msg/s | iotpe msg/s | ratio | MQTTnet.Server msg/s | Mosquitto p50 / p99 µs | iotpe p50 / p99 µs | p99 ratio | MQTTnet.Server p50 / p99 µs | lost / dup iotpe; MQTTnet.Server | broker CPU µs/msg M / i / N |"
  print "|---|---|---|---|---|---|---|---|---|---|---|"
  for (o = 1; o <= n; o++) {
    L = order[o]; if (L ~ /^idle/) continue
    mr = median(vals[L, "mosquitto", "deliver_rate"]); ir = median(vals[L, "iotpe", "deliver_rate"]); nr = median(vals[L, "mqttnet", "deliver_rate"])
    m99 = median(vals[L, "mosquitto", "p99_us"]); i99 = median(vals[L, "iotpe", "p99_us"])
    printf "| %s | %s | %s | %s | %s | %s / %s | %s / %s | %s | %s / %s | %s; %s | %s / %s / %s |\n", L, whole(mr), whole(ir), ratio(ir, mr), whole(nr),
      whole(median(vals[L, "mosquitto", "p50_us"])), whole(m99), whole(median(vals[L, "iotpe", "p50_us"])), whole(i99), ratio(i99, m99),
      whole(median(vals[L, "mqttnet", "p50_us"])), whole(median(vals[L, "mqttnet", "p99_us"])),
      lostdup(L, "iotpe"), lostdup(L, "mqttnet"), cpu(L, "mosquitto"), cpu(L, "iotpe"), cpu(L, "mqttnet")
  }
  print ""
  print "### Memory with 1,000 idle connections"
  print ""
  print "| broker | RSS before (KiB) | RSS with 1,000 idle connections (KiB) | per connection (KiB) |"
  print "|---|---|---|---|"
  for (b = 1; b <= 3; b++) {
    B = (b == 1) ? "mosquitto" : (b == 2) ? "iotpe" : "mqttnet"
    name = (b == 1) ? "Mosquitto" : (b == 2) ? "iotpe" : "MQTTnet.Server"
    r0 = median(vals["idle-1000", B, "broker_rss0_kb"]); r1 = median(vals["idle-1000", B, "broker_rss_kb"]); c = median(vals["idle-1000", B, "conns"])
    printf "| %s | %s | %s | %s |\n", name, whole(r0), whole(r1), (c > 0) ? sprintf("%.2f", (r1 - r0) / c) : "–"
  }
}
