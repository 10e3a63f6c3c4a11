# Summarizes build/bench.sh results: one line per run, "label=... broker=... key=value ...".
function median(list, n,   i, j, t, a) {
  split(list, a, " "); n = 0
  for (i in a) if (a[i] != "") n++
  for (i = 2; i <= n; i++) { t = a[i]; j = i - 1; while (j > 0 && a[j] + 0 > t + 0) { a[j+1] = a[j]; j-- } a[j+1] = t }
  if (n == 0) return "";
  return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "–" : sprintf("%.2f", a / b) }
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
  print "| run | Mosquitto msg/s | iotpe msg/s | ratio | Mosquitto p50 / p99 µs | iotpe p50 / p99 µs | p99 ratio | lost / dup (iotpe) | broker CPU µs/msg M / i |"
  print "|---|---|---|---|---|---|---|---|---|"
  for (o = 1; o <= n; o++) {
    L = order[o]; if (L ~ /^idle/) continue
    mr = median(vals[L, "mosquitto", "deliver_rate"]); ir = median(vals[L, "iotpe", "deliver_rate"])
    m50 = median(vals[L, "mosquitto", "p50_us"]); m99 = median(vals[L, "mosquitto", "p99_us"])
    i50 = median(vals[L, "iotpe", "p50_us"]); i99 = median(vals[L, "iotpe", "p99_us"])
    lost = median(vals[L, "iotpe", "lost"]); dup = median(vals[L, "iotpe", "dup"])
    mc = median(vals[L, "mosquitto", "broker_cpu_s"]); ic = median(vals[L, "iotpe", "broker_cpu_s"])
    ms = median(vals[L, "mosquitto", "completed"]); is = median(vals[L, "iotpe", "completed"])
    mcpu = (ms > 0) ? sprintf("%.1f", mc * 1e6 / ms) : "–"; icpu = (is > 0) ? sprintf("%.1f", ic * 1e6 / is) : "–"
    printf "| %s | %.0f | %.0f | %s | %.0f / %.0f | %.0f / %.0f | %s | %s / %s | %s / %s |\n", L, mr, ir, ratio(ir, mr), m50, m99, i50, i99, ratio(i99, m99), lost, dup, mcpu, icpu
  }
  print ""
  print "### Memory with 1,000 idle connections"
  print ""
  print "| broker | RSS before (KiB) | RSS with 1,000 idle connections (KiB) | per connection (KiB) |"
  print "|---|---|---|---|"
  for (b = 1; b <= 2; b++) {
    B = (b == 1) ? "mosquitto" : "iotpe"
    r0 = median(vals["idle-1000", B, "broker_rss0_kb"]); r1 = median(vals["idle-1000", B, "broker_rss_kb"]); c = median(vals["idle-1000", B, "conns"])
    printf "| %s | %d | %d | %.2f |\n", B, r0, r1, (c > 0) ? (r1 - r0) / c : 0
  }
}
