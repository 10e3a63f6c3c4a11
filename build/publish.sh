#!/usr/bin/env bash
# Publishes `iotpe` as one self-contained NativeAOT executable: artifacts/<rid>/iotpe.
#
#   build/publish.sh --rid linux-x64|linux-arm64|linux-arm [--sysroot DIR] [--framework net10.0|net9.0]
#
# It uses net10.0 where that framework's NativeAOT packages restore, net9.0 otherwise, and says
# which. Cross targets (arm64, arm) need clang, lld and a Debian sysroot of the target holding
# libsqlite3-dev and zlib1g-dev (see README, "Publishing for a gateway"); the sysroot comes from
# --sysroot or IOTPE_SYSROOT.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
rid=""; sysroot="${IOTPE_SYSROOT:-}"; frameworks=(net10.0 net9.0)
while [ $# -gt 0 ]; do
  case "$1" in
    --rid) rid=$2; shift 2 ;;
    --sysroot) sysroot=$2; shift 2 ;;
    --framework) frameworks=("$2"); shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "publish: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$rid" in
  linux-x64|linux-arm64|linux-arm) ;;
  "") echo "publish: --rid is required (linux-x64, linux-arm64, linux-arm)" >&2; exit 2 ;;
  *) echo "publish: unsupported RID '$rid' (linux-x64, linux-arm64, linux-arm)" >&2; exit 2 ;;
esac

project="$repo/src/IoTPE.Edge/IoTPE.Edge.csproj"
out="$repo/artifacts/$rid"
work="$repo/artifacts/publish-obj/$rid"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

host_rid=linux-x64
case "$(uname -m)" in aarch64) host_rid=linux-arm64 ;; armv7l) host_rid=linux-arm ;; esac

# Pick the framework: the first whose NativeAOT packages restore for this RID. Restore is quick
# when packages are missing, so an impossible target fails at once, naming what is missing.
chosen=""; missing_report=""
for tf in "${frameworks[@]}"; do
  log=$(mktemp)
  if dotnet restore "$project" -r "$rid" -p:PublishAot=true -p:AppTargetFramework="$tf" \
       --artifacts-path "$work/$tf" -v quiet -nologo >"$log" 2>&1; then
    chosen=$tf; rm -f "$log"; break
  fi
  pkgs=$(grep -oE "Unable to find package [A-Za-z0-9._-]+" "$log" | sed -E 's/^Unable to find package //; s/\.$//' \
         | sort -u | paste -sd ',' | sed 's/,/, /g')
  [ -n "$pkgs" ] || pkgs=$(grep -m3 -E "error" "$log" | sed 's/^ *//')
  missing_report+="  $tf: $pkgs"$'\n'
  rm -f "$log"
done
if [ -z "$chosen" ]; then
  {
    echo "publish: cannot build a NativeAOT iotpe for $rid: the NuGet source lacks packages it needs:"
    printf '%s' "$missing_report"
    echo "Make those packages available (a NuGet source that holds them), then run this again."
  } >&2
  exit 1
fi

extra=()
if [ "$rid" != "$host_rid" ]; then
  problems=()
  command -v clang >/dev/null 2>&1 || problems+=("clang (apt-get install clang)")
  command -v ld.lld >/dev/null 2>&1 || problems+=("lld (apt-get install lld)")
  if [ -z "$sysroot" ]; then
    problems+=("a Debian sysroot for $rid (--sysroot DIR or IOTPE_SYSROOT)")
  elif [ ! -d "$sysroot/usr/include" ]; then
    problems+=("a valid sysroot: $sysroot has no usr/include")
  fi
  if [ ${#problems[@]} -gt 0 ]; then
    echo "publish: cross-compiling for $rid needs: ${problems[*]}" >&2
    exit 1
  fi
  extra+=(-p:SysRoot="$sysroot" -p:LinkerFlavor=lld -p:ObjCopyName=llvm-objcopy)
fi

echo "publish: $rid with $chosen NativeAOT$([ "$chosen" != "${frameworks[0]}" ] && echo " (${frameworks[0]} NativeAOT packages are not available here)")"
rm -rf "$out"
dotnet publish "$project" -c Release -r "$rid" -p:PublishAot=true -p:AppTargetFramework="$chosen" \
  --artifacts-path "$work/$chosen" -o "$out" -nologo -v quiet "${extra[@]}" -warnaserror

# Keep the executable alone; debug symbols go to a folder of their own.
mkdir -p "$repo/artifacts/symbols/$rid"
find "$out" -maxdepth 1 -type f ! -name iotpe -exec mv -f {} "$repo/artifacts/symbols/$rid/" \;
if find "$out" -maxdepth 1 -name '*.so*' | grep -q .; then
  echo "publish: shared libraries ended up beside the binary" >&2; exit 1
fi
size=$(du -h "$out/iotpe" | cut -f1)
echo "publish: $out/iotpe ($size, $chosen NativeAOT, $rid)"
