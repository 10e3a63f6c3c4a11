#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine with the .NET SDK needs to build, run and test IoTPE.
# Idempotent: installs only what is missing, runs `apt-get update` at most once, and prints
# nothing when everything is already present.
set -euo pipefail

# Debian packages and, for each, a file that proves it is installed (cheaper than dpkg -s per run).
declare -A APT_PROBES=(
  [clang]=/usr/bin/clang
  [lld]=/usr/bin/ld.lld
  [zlib1g-dev]=/usr/include/zlib.h
  [libsqlite3-dev]=/usr/include/sqlite3.h
  [mariadb-server]=/usr/sbin/mariadbd
  [mosquitto]=/usr/sbin/mosquitto
  [mosquitto-clients]=/usr/bin/mosquitto_pub
  [libmosquitto-dev]=/usr/include/mosquitto.h
  [openssl]=/usr/bin/openssl
  [make]=/usr/bin/make
  [gcc]=/usr/bin/gcc
)

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${!APT_PROBES[@]}"; do
  [ -e "${APT_PROBES[$pkg]}" ] || missing+=("$pkg")
done
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  sudo_if_needed apt-get update -qq
  # Debian's packages start their services on install; tests start their own instances instead.
  sudo_if_needed apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# MQTT.js: the client the seed documents (`mqtt pub` / `mqtt sub`).
if ! command -v mqtt >/dev/null 2>&1; then
  echo "setup: installing MQTT.js (npm install -g mqtt)"
  sudo_if_needed npm install -g --silent --no-fund --no-audit mqtt@5 >/dev/null
fi
