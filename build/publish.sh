#!/usr/bin/env bash
# Publishes `iotpe` as one self-contained NativeAOT executable: artifacts/<rid>/iotpe.
#
#   build/publish.sh --rid linux-x64|linux-arm64|linux-arm [--sysroot DIR] [--framework net10.0|net9.0]
#                    [--version X.Y.Z] [--output DIR] [--keep-symbols]
#
# It uses net10.0 where that framework's NativeAOT packages restore, net9.0 otherwise, and says
# which. linux-arm64 on an x64 machine is cross-compiled with clang, lld and a sysroot of Debian's
# arm64 packages that build/arm64-sysroot.sh builds once and reuses (build/setup.sh --arm64
# installs what that needs); --sysroot DIR or IOTPE_SYSROOT names another. --version overrides the
# product version of Directory.Build.props (build/package.sh uses it); --output replaces
# artifacts/<rid>; --keep-symbols leaves the symbols in the executable, for profilers
# (build/hot-methods.sh).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
rid=""; sysroot="${IOTPE_SYSROOT:-}"; frameworks=(net10.0 net9.0); version=""; out=""; keep_symbols=false
while [ $# -gt 0 ]; do
  case "$1" in
    --rid) rid=$2; shift 2 ;;
    --sysroot) sysroot=$2; shift 2 ;;
    --framework) frameworks=("$2"); shift 2 ;;
    --version) version=$2; shift 2 ;;
    --output) out=$2; shift 2 ;;
    --keep-symbols) keep_symbols=true; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "publish: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$rid" in
  linux-x64|linux-arm64|linux-arm) ;;
  "") echo "publish: --rid is required (linux-x64, linux-arm64, linux-arm)" >&2; exit 2 ;;
  *) echo "publish: unsupported RID '$rid' (linux-x64, linux-arm64, linux-arm)" >&2; exit 2 ;;
esac

project="$repo/src/IoTPE.Edge/IoTPE.Edge.csproj"
[ -n "$out" ] || out="$repo/artifacts/$rid"
work="$repo/artifacts/publish-obj/$rid"
# A symbol-keeping build has an intermediate folder of its own: the native link's up-to-date check
# does not see StripSymbols, and would hand back the stripped executable of the last publish.
[ "$keep_symbols" = false ] || work="$work-symbols"
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
[ -z "$version" ] || extra+=(-p:Version="$version")
[ "$keep_symbols" = false ] || extra+=(-p:StripSymbols=false)
if [ "$rid" != "$host_rid" ]; then
  if [ "$rid" = linux-arm64 ] && [ -z "$sysroot" ]; then
    "$repo/build/setup.sh" --arm64
    sysroot=$("$repo/build/arm64-sysroot.sh")
  fi
  problems=()
  command -v clang >/dev/null 2>&1 || problems+=("clang (apt-get install clang)")
  command -v ld.lld >/dev/null 2>&1 || problems+=("lld (apt-get install lld)")
  command -v llvm-objcopy >/dev/null 2>&1 || problems+=("llvm-objcopy (apt-get install llvm)")
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
if [ "$out" = "$repo/artifacts/$rid" ]; then rm -rf "$out"; else rm -f "$out/iotpe"; fi
dotnet publish "$project" -c Release -r "$rid" -p:PublishAot=true -p:AppTargetFramework="$chosen" \
  --artifacts-path "$work/$chosen" -o "$out" -nologo -v quiet "${extra[@]}" -warnaserror

# Keep the executable alone; debug symbols go to a folder of their own.
symbols="$repo/artifacts/symbols/$rid"
[ "$out" = "$repo/artifacts/$rid" ] || symbols="$out/../$(basename "$out")-symbols"
mkdir -p "$symbols"
find "$out" -maxdepth 1 -type f ! -name iotpe -exec mv -f {} "$symbols/" \;
if find "$out" -maxdepth 1 -name '*.so*' | grep -q .; then
  echo "publish: shared libraries ended up beside the binary" >&2; exit 1
fi
size=$(du -h "$out/iotpe" | cut -f1)
echo "publish: $out/iotpe ($size, $chosen NativeAOT, $rid)"
