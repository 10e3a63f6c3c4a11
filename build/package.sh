#!/usr/bin/env bash
# Builds iotpe's Debian package: artifacts/iotpe_<version>_<arch>.deb (install with
# `apt install ./iotpe_<version>_<arch>.deb`).
#
#   build/package.sh --rid linux-arm64|linux-x64 [--version X.Y.Z] [--binary FILE] [--output DIR]
#
# The version is Directory.Build.props' <Version> unless --version names another (the binary is
# then published with it, so `iotpe --version` agrees). The binary is published by
# build/publish.sh unless --binary gives one already built for that RID and version.
#
# The package holds /usr/bin/iotpe, the systemd unit (device/iotpe.service), /etc/iotpe/iotpe.json
# (device/iotpe.json, a conffile: upgrades keep the user's edits) and the example configuration;
# its maintainer scripts (device/debian/) create the system user iotpe and /var/lib/iotpe, which
# removing the package keeps and purging deletes.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
rid=""; version=""; binary=""; output="$repo/artifacts"
while [ $# -gt 0 ]; do
  case "$1" in
    --rid) rid=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "package: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$rid" in
  linux-x64) arch=amd64 ;;
  linux-arm64) arch=arm64 ;;
  "") echo "package: --rid is required (linux-x64, linux-arm64)" >&2; exit 2 ;;
  *) echo "package: no Debian package for RID '$rid' (linux-x64, linux-arm64)" >&2; exit 2 ;;
esac

product_version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$repo/Directory.Build.props" | head -n1)
[ -n "$product_version" ] || { echo "package: no <Version> in Directory.Build.props" >&2; exit 1; }
[ -n "$version" ] || version=$product_version
if ! [[ "$version" =~ ^[0-9]+(\.[0-9]+)*$ ]]; then
  echo "package: version '$version' is not numbers separated by dots" >&2; exit 2
fi

if [ -z "$binary" ]; then
  if [ "$version" = "$product_version" ]; then
    "$repo/build/publish.sh" --rid "$rid"
    binary="$repo/artifacts/$rid/iotpe"
  else
    "$repo/build/publish.sh" --rid "$rid" --version "$version" --output "$repo/artifacts/package/$rid-$version"
    binary="$repo/artifacts/package/$rid-$version/iotpe"
  fi
fi
[ -x "$binary" ] || { echo "package: no executable at $binary" >&2; exit 1; }
if [ "$rid" = "$("$repo/build/host-rid.sh")" ]; then
  # A binary of another version would make `iotpe --version` contradict the package.
  shown=$("$binary" --version | sed -n 's/^iotpe \([^ ]*\).*/\1/p')
  if [ "$shown" != "$version" ]; then
    echo "package: $binary is version '$shown', not $version" >&2; exit 1
  fi
fi

# The newest C library symbol version the binary uses is the oldest libc6 it runs on.
glibc=$(llvm-readelf --version-info "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)
[ -n "$glibc" ] || { echo "package: cannot read the C library version $binary needs (llvm-readelf)" >&2; exit 1; }

root=$(mktemp -d)
chmod 0755 "$root" # the archive's ./ entry
trap 'rm -rf "$root"' EXIT
install -D -m 0755 "$binary" "$root/usr/bin/iotpe"
install -D -m 0644 "$repo/device/iotpe.service" "$root/lib/systemd/system/iotpe.service"
install -D -m 0644 "$repo/device/iotpe.json" "$root/etc/iotpe/iotpe.json"
install -D -m 0644 "$repo/device/iotpe.example.json" "$root/usr/share/doc/iotpe/iotpe.example.json"
install -d -m 0755 "$root/DEBIAN"
for script in postinst prerm postrm; do
  install -m 0755 "$repo/device/debian/$script" "$root/DEBIAN/$script"
done
echo /etc/iotpe/iotpe.json >"$root/DEBIAN/conffiles"
cat >"$root/DEBIAN/control" <<CONTROL
Package: iotpe
Version: $version
Architecture: $arch
Maintainer: IoTPE developers <iotpe@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: libc6 (>= $glibc), libssl3, adduser
Recommends: libgpiod2
Section: net
Priority: optional
Description: IoT Process Engine: MQTT broker and JavaScript rules engine for gateways
 One self-contained executable: an MQTT 3.1.1 and 5.0 broker that keeps every message it
 acknowledged (SQLite), per-account JavaScript rules in a sandbox, and GPIO access.
 Runs as the systemd service iotpe (user iotpe, data in /var/lib/iotpe).
CONTROL

mkdir -p "$output"
deb="$output/iotpe_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "package: $deb ($(du -h "$deb" | cut -f1))"
