#!/bin/sh
# Build the guests of the data marketplace demo: every demos/marketplace/X.c
# becomes demos/build/marketplace-X.wasm (or OUTDIR/marketplace-X.wasm).
#
#   demos/build-marketplace.sh [OUTDIR]
#
# `waven demo marketplace` embeds the committed demos/build/marketplace-*.wasm
# (so it runs without clang) and examples/marketplace.toml runs them: rebuild
# and commit them whenever demos/marketplace/ changes. The build is
# reproducible (no debug info, no paths in the output), so a rebuild with the
# same clang gives the same bytes and the same code measurements; the test
# crates/cli/tests/demo_marketplace.rs rebuilds into a scratch directory and
# checks both.
#
# Needs clang with the wasm32-wasi target, wasi-libc and lld (Debian: clang
# lld wasi-libc libclang-rt-14-dev-wasm32). CC may be overridden.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/build"}
cc=${CC:-clang}

mkdir -p "$out"
for src in "$here"/marketplace/*.c; do
    name=marketplace-$(basename "$src" .c)
    $cc --target=wasm32-wasi -O2 -fuse-ld=lld -Wl,--strip-all \
        -I "$here/../guest/include" "$src" -o "$out/$name.wasm"
    echo "built $out/$name.wasm ($(wc -c <"$out/$name.wasm") bytes)"
done
