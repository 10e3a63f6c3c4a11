#!/usr/bin/env bash
# Installs what is missing, builds the NativeAOT binary and starts `iotpe` on its embedded
# default (SQLite storage in ./data, MQTT on port 1883). Extra arguments go to `iotpe run`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
./build/setup.sh
rid=$(./build/host-rid.sh)
./build/publish.sh --rid "$rid"
exec "artifacts/$rid/iotpe" run "$@"
