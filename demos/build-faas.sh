#!/bin/sh
# Rebuild the guests of `waven demo faas` and examples/faas.toml from their
# C sources: demos/faas/NAME.c -> OUTDIR/faas-NAME.wasm (OUTDIR defaults to
# demos/build, whose binaries are committed and embedded in the waven CLI,
# so that the demo needs no C compiler at run time).
#
#   demos/build-faas.sh [OUTDIR]
#
# Needs clang with the wasm32-wasi target, wasi-libc and lld (Debian: clang
# lld wasi-libc libclang-rt-14-dev-wasm32). CC may be overridden from the
# environment. The committed binaries were built with Debian clang 14.0.6
# and wasi-libc 0.0~git20220510; crates/cli/tests/demo_faas.rs rebuilds them
# into a scratch directory and runs the demo on the result.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/build"}
cc=${CC:-clang}

if [ $# -gt 1 ]; then
    echo "usage: $0 [OUTDIR]" >&2
    exit 2
fi

mkdir -p "$out"
for src in "$here"/faas/*.c; do
    name=$(basename "$src" .c)
    case $name in
    # A declared maximum keeps the translation tables of its many
    # instances small (docs/SHARING.md, copy-on-write instance start).
    price) extra=-Wl,--max-memory=4194304 ;;
    *) extra= ;;
    esac
    # shellcheck disable=SC2086 # $extra is one flag or nothing
    $cc --target=wasm32-wasi -O2 -fuse-ld=lld -Wl,--strip-all $extra \
        -I "$here/../guest/include" "$src" -o "$out/faas-$name.wasm"
    echo "built $out/faas-$name.wasm ($(wc -c <"$out/faas-$name.wasm") bytes)"
done
