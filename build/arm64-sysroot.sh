#!/usr/bin/env bash
# Builds (or reuses) the linux-arm64 sysroot the NativeAOT cross-link and qemu-aarch64 need, and
# prints its path: artifacts/sysroot-linux-arm64.
#
#   build/arm64-sysroot.sh
#
# The sysroot is Debian's arm64 packages below, fetched with `apt-get download` and unpacked with
# `dpkg -x` (about 60 MB, a few seconds); nothing is installed on this machine. It is rebuilt only
# when the package list changes (it is recorded in the sysroot's .packages file). Needs the arm64
# package lists: `build/setup.sh --arm64`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
sysroot="$repo/artifacts/sysroot-linux-arm64"

# C library and start files for the link, libgcc for the unwinder, SQLite's static library (linked
# in), and the shared libraries the binary loads at run time under qemu (libssl for PBKDF2).
packages=(libc6 libc6-dev linux-libc-dev libgcc-12-dev libgcc-s1 libsqlite3-dev libsqlite3-0 libssl3)
wanted=$(printf '%s:arm64\n' "${packages[@]}")

if [ -f "$sysroot/.packages" ] && [ "$(cat "$sysroot/.packages")" = "$wanted" ]; then
  echo "$sysroot"
  exit 0
fi

work=$(mktemp -d "$repo/artifacts/.sysroot-XXXXXX" 2>/dev/null || { mkdir -p "$repo/artifacts"; mktemp -d "$repo/artifacts/.sysroot-XXXXXX"; })
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/root"
echo "arm64-sysroot: downloading ${packages[*]} (arm64)" >&2
# apt-get download writes into the current directory; as root it needs _apt to be able to write
# there, which a mktemp folder does not allow, so it runs unsandboxed.
if ! (cd "$work/debs" && apt-get download -q -o APT::Sandbox::User=root $wanted >/dev/null); then
  echo "arm64-sysroot: apt-get download failed; run build/setup.sh --arm64 (dpkg --add-architecture arm64, apt-get update)" >&2
  exit 1
fi
for deb in "$work"/debs/*.deb; do
  dpkg -x "$deb" "$work/root"
done

# Debian's development symlinks are absolute (usr/lib/aarch64-linux-gnu/libm.so -> /lib/...):
# inside a sysroot they would point at the host's files, and the linker would then silently take
# libm.a and fail with "undefined symbol: __frexp". Make each one relative to where it lies.
while IFS= read -r -d '' link; do
  target=$(readlink "$link")
  case "$target" in
    /*) ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$work/root$target")" "$link" ;;
  esac
done < <(find "$work/root" -type l -print0)

printf '%s\n' "$wanted" >"$work/root/.packages"
rm -rf "$sysroot"
mv "$work/root" "$sysroot"
echo "arm64-sysroot: $sysroot ($(du -sh "$sysroot" | cut -f1))" >&2
echo "$sysroot"
