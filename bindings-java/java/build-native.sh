#!/usr/bin/env bash
# Called by Maven (generate-resources): builds libordertrace_jni with cargo and copies it to
# where the jar packs it. Args: <cargo profile: release|dev> <destination dir>
set -euo pipefail
profile="$1"; dest="$2"
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$profile" in release) out=release ;; dev) out=debug ;; *) echo "unknown cargo profile $profile" >&2; exit 1 ;; esac
echo "[ordertrace-java] cargo build --profile $profile -p ordertrace-jni" >&2
(cd "$root" && cargo build --quiet --profile "$profile" -p ordertrace-jni)
mkdir -p "$dest"
cp "$target/$out/libordertrace_jni.so" "$dest/"
