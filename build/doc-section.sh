#!/usr/bin/env bash
# Puts a generated report into a Markdown file: the lines between <!-- NAME:start --> and
# <!-- NAME:end --> are replaced by SECTION_FILE (which carries both markers itself); without the
# markers, the section is appended. Other sections of the file stay as they are.
#
#   build/doc-section.sh FILE NAME SECTION_FILE
set -euo pipefail
out=$1; name=$2; section=$3
mkdir -p "$(dirname "$out")"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
if [ -f "$out" ] && grep -q "<!-- $name:start -->" "$out"; then
  awk -v section="$section" -v start="<!-- $name:start -->" -v end="<!-- $name:end -->" '
    $0 == start { while ((getline line < section) > 0) print line; skip = 1; next }
    $0 == end { skip = 0; next }
    !skip { print }' "$out" > "$tmp"
else
  { [ -f "$out" ] && cat "$out" && echo; cat "$section"; } > "$tmp"
fi
cp "$tmp" "$out"
