#!/usr/bin/env bash
# Rebuild every C guest whose .wasm is committed (the tests, demos and
# examples load those bytes, so that they need no C toolchain):
#
#   crates/cli/tests/programs/NAME.c   -> crates/cli/tests/programs/NAME.wasm
#   crates/wasi/tests/programs/NAME.c  -> crates/wasi/tests/programs/NAME.wasm
#   crates/platform/tests/guests/attacker.c -> .../attacker.wasm
#   guest/examples/NAME.c              -> examples/build/NAME.wasm   (guest/build.sh)
#   demos/{marketplace,faas}/NAME.c    -> demos/build/*.wasm         (demos/build-*.sh)
#
# Usage: scripts/build-guests.sh [OUTROOT]
#   OUTROOT (default: the repository) receives the same relative paths;
#   scripts/check-guest-builds.sh builds into a scratch OUTROOT and compares.
#
# Needs Debian's clang 14 with the wasm32-wasi target, lld and wasi-libc
# (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32); the
# builds are reproducible (no path or time in the output), so the same
# toolchain gives the committed bytes. CC and CFLAGS are ignored on purpose.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mkdir -p "${1:-$root}" && cd "${1:-$root}" && pwd)"
export CC=clang
unset CFLAGS
missing="install them with: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32"

# One probe, so that a missing compiler, linker, sysroot or compiler-rt
# gives one clear message.
command -v clang >/dev/null || { echo "error: clang not found; $missing" >&2; exit 1; }
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
printf '#include <stdio.h>\nint main(void){puts("ok");return 0;}\n' >"$probe/p.c"
if ! clang --target=wasm32-wasi -O2 -fuse-ld=lld "$probe/p.c" -o "$probe/p.wasm" 2>"$probe/err"; then
    echo "error: clang --target=wasm32-wasi cannot build a WASI program:" >&2
    sed 's/^/    /' "$probe/err" >&2
    echo "       $missing" >&2
    exit 1
fi

# wasm32-wasi, -O2, lld: the flags of `wasmtime run`'s usual C programs.
# wasi ... -o OUTPUT
wasi() {
    clang --target=wasm32-wasi -O2 -fuse-ld=lld "$@"
    echo "built ${*: -1}"
}

for dir in crates/cli/tests/programs crates/wasi/tests/programs; do
    mkdir -p "$out/$dir"
    for src in "$root/$dir"/*.c; do
        wasi -Wall -Wextra "$src" -o "$out/$dir/$(basename "$src" .c).wasm"
    done
done
mkdir -p "$out/crates/platform/tests/guests"
wasi -I "$root/guest/include" "$root/crates/platform/tests/guests/attacker.c" \
    -o "$out/crates/platform/tests/guests/attacker.wasm"
sh "$root/guest/build.sh" "$out/examples/build"
sh "$root/demos/build-marketplace.sh" "$out/demos/build"
sh "$root/demos/build-faas.sh" "$out/demos/build"
