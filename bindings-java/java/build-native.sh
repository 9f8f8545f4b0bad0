#!/usr/bin/env bash
# Called by Maven (generate-resources): puts libordertrace_jni where the jar packs it.
# Args: <cargo profile: release|dev> <destination dir (native/<this platform>)> [prebuilt dir]
# Without a prebuilt dir it builds this platform's library with cargo (Rust needed). With one
# (-Dordertrace.native.dir=..., filled by scripts/package-native), it copies every platform
# found there (<dir>/<platform>/libordertrace_jni.so or ordertrace_jni.dll) and needs no cargo.
set -euo pipefail
profile="$1"; dest="$2"; prebuilt="${3:-}"
if [ -n "$prebuilt" ]; then
  native_root="$(dirname "$dest")"
  copied=0
  for platform in linux-x86_64 linux-aarch64 windows-x86_64; do
    for f in libordertrace_jni.so ordertrace_jni.dll; do
      if [ -f "$prebuilt/$platform/$f" ]; then
        mkdir -p "$native_root/$platform"
        cp "$prebuilt/$platform/$f" "$native_root/$platform/"
        echo "[ordertrace-java] packing $platform/$f from $prebuilt" >&2
        copied=$((copied + 1))
      fi
    done
  done
  [ "$copied" -gt 0 ] || { echo "[ordertrace-java] no native library under $prebuilt/<platform>/" >&2; exit 1; }
  exit 0
fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$profile" in release) out=release ;; dev) out=debug ;; *) echo "unknown cargo profile $profile" >&2; exit 1 ;; esac
command -v cargo >/dev/null || {
  echo "[ordertrace-java] building this jar from source needs Rust (cargo); a Java user does not build it but installs the released jar (see bindings-java/README.md)" >&2
  exit 1
}
echo "[ordertrace-java] cargo build --profile $profile -p ordertrace-jni" >&2
(cd "$root" && cargo build --quiet --profile "$profile" -p ordertrace-jni)
mkdir -p "$dest"
cp "$target/$out/libordertrace_jni.so" "$dest/"
