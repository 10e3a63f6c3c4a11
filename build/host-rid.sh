#!/usr/bin/env bash
# Prints the .NET runtime identifier of this machine (linux-x64, linux-arm64 or linux-arm).
case "$(uname -m)" in
  x86_64) echo linux-x64 ;;
  aarch64|arm64) echo linux-arm64 ;;
  armv7l|armv6l) echo linux-arm ;;
  *) echo "host-rid: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
