// The script pipeline's rule for build/cpu-bench.sh and build/hot-methods.sh: what pipebench's
// piperelay does in C for Mosquitto ({"seq","t","sum":a+b} to the output topic).
const { seq, t, a, b } = message.json;
publish('/acme/out', { seq, t, sum: a + b }, { qos: 1 });
