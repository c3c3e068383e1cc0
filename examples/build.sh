#!/bin/sh
# Rebuild the guest programs that the manifests in this directory run, into
# examples/build/ (producer, consumer, attacker and pingpong .wasm; they are
# committed, and scripts/check-guest-builds.sh checks them).
# Needs what guest/build.sh needs: clang with the wasm32-wasi target,
# wasi-libc and lld (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32).
# CC and CFLAGS are passed through.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec sh "$here/../guest/build.sh" "$here/build"
