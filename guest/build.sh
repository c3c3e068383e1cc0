#!/bin/sh
# Build every C example of the guest SDK: guest/build.sh OUTDIR
# Needs clang with the wasm32-wasi target, wasi-libc and lld
# (Debian: clang lld wasi-libc libclang-rt-14-dev-wasm32).
# CC and CFLAGS may be overridden from the environment.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-clang}
cflags=${CFLAGS:--O2}

mkdir -p "$out"
for src in "$here"/examples/*.c; do
    name=$(basename "$src" .c)
    $cc --target=wasm32-wasi $cflags -fuse-ld=lld -I "$here/include" \
        "$src" -o "$out/$name.wasm"
    echo "built $out/$name.wasm ($(wc -c <"$out/$name.wasm") bytes)"
done
