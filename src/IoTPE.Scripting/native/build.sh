#!/usr/bin/env bash
# Builds the script engine: Debian's Duktape source plus IoTPE's shim, into
#   OUT/libiotpe_duk.a   (linked into the NativeAOT binary)
#   OUT/libiotpe_duk.so  (loaded by JIT runs and tests)
# Usage: build.sh --rid RID --out DIR [--sysroot DIR]
# MSBuild (IoTPE.Scripting.csproj) calls this only when an input changed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
rid=""; out=""; sysroot="${IOTPE_SYSROOT:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --rid) rid=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --sysroot) sysroot=$2; shift 2 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$rid" ] && [ -n "$out" ] || { echo "usage: build.sh --rid RID --out DIR [--sysroot DIR]" >&2; exit 2; }

duk_src=${DUKTAPE_SRC:-/usr/share/duktape}
if [ ! -f "$duk_src/duktape.c" ]; then
  echo "build.sh: Duktape source not found in $duk_src; install Debian's duktape-dev (./build/setup.sh)" >&2
  exit 1
fi

cc=${CC:-}
if [ -z "$cc" ]; then
  if command -v clang >/dev/null 2>&1; then cc=clang; else cc=cc; fi
fi

target_flags=()
case "$rid" in
  linux-x64) triple=x86_64-linux-gnu ;;
  linux-arm64) triple=aarch64-linux-gnu ;;
  linux-arm) triple=arm-linux-gnueabihf; target_flags+=(-march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard) ;;
  *) echo "build.sh: unsupported RID $rid (linux-x64, linux-arm64, linux-arm)" >&2; exit 2 ;;
esac
host_triple=$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
if [ "$triple" != "$host_triple" ]; then
  if [[ "$cc" != *clang* ]]; then
    echo "build.sh: cross-compiling for $rid needs clang" >&2; exit 1
  fi
  target_flags+=(--target="$triple")
  [ -n "$sysroot" ] && target_flags+=(--sysroot="$sysroot")
fi

mkdir -p "$out/src"
# Duktape's headers are found relative to duktape.c, so the patched configuration must sit
# beside a copy of the sources rather than earlier on the include path.
cp "$duk_src/duktape.h" "$out/src/"
# Patches to the engine, one file each in duktape-patches/: a comment header names the exact line
# (leading whitespace ignored) the patch goes before or after, and how often that line occurs, so
# that a changed Duktape source fails the build here instead of compiling without a patch.
cp "$duk_src/duktape.c" "$out/src/duktape.c.orig"
patched="$out/src/duktape.c.orig"
for patch in "$here"/duktape-patches/*.c; do
  anchor=$(sed -n 's|^// anchor: ||p' "$patch")
  where=$(sed -n 's|^// insert: ||p' "$patch")
  expected=$(sed -n 's|^// occurrences: ||p' "$patch")
  { [ -n "$anchor" ] && [ -n "$expected" ] && { [ "$where" = before ] || [ "$where" = after ]; }; } || {
    echo "build.sh: $patch lacks its '// anchor:', '// insert: before|after' or '// occurrences:' header" >&2; exit 1; }
  found=$(awk -v a="$anchor" '{ l = $0; sub(/^[ \t]+/, "", l) } l == a { n++ } END { print n + 0 }' "$patched")
  [ "$found" = "$expected" ] || {
    echo "build.sh: Duktape source changed: $(basename "$patch") expects $expected line(s) '$anchor', found $found" >&2; exit 1; }
  awk -v a="$anchor" -v where="$where" -v patch="$patch" '
    function emit(  line) { while ((getline line < patch) > 0) print line; close(patch) }
    { l = $0; sub(/^[ \t]+/, "", l) }
    l == a && where == "before" { emit() }
    { print }
    l == a && where == "after" { emit() }' "$patched" > "$out/src/duktape.c.next"
  mv "$out/src/duktape.c.next" "$out/src/duktape.c.patched"
  patched="$out/src/duktape.c.patched"
done
mv "$patched" "$out/src/duktape.c"
rm -f "$out/src/duktape.c.orig"
sed -e "/__OVERRIDE_DEFINES__/r $here/duk_config_overrides.h" "$duk_src/duk_config.h" > "$out/src/duk_config.h"
grep -q 'iotpe_exec_timeout_check' "$out/src/duk_config.h" || {
  echo "build.sh: could not patch duk_config.h (no __OVERRIDE_DEFINES__ marker)" >&2; exit 1; }

cflags=(-std=gnu99 -O2 -fPIC -fvisibility=hidden -fno-strict-aliasing -Wall -Wno-unused-function
        -I"$out/src" -I"$here" "${target_flags[@]}")
"$cc" "${cflags[@]}" -c "$here/iotpe_duk.c" -o "$out/iotpe_duk.o"
rm -f "$out/libiotpe_duk.a"
ar rcs "$out/libiotpe_duk.a" "$out/iotpe_duk.o"
link_flags=("${target_flags[@]}")
[ "$triple" != "$host_triple" ] && link_flags+=(-fuse-ld=lld)
"$cc" -shared "${link_flags[@]}" -o "$out/libiotpe_duk.so" "$out/iotpe_duk.o" -lm
