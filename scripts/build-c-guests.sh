#!/usr/bin/env bash
# Compile every C test guest in crates/cli/tests/programs/*.c to
# OUTDIR/<name>.wasm with clang's wasm32-wasi target and wasi-libc.
#
# Usage: scripts/build-c-guests.sh OUTDIR
#
# Needs (Debian/Ubuntu): apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
# Environment: CC (default clang), CFLAGS (extra flags appended).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
src_dir="$root/crates/cli/tests/programs"

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out_dir="$1"

CC="${CC:-clang}"
missing_msg="install them with: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32"

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "error: '$CC' not found; the C guests need clang with the wasm32-wasi target" >&2
    echo "       $missing_msg" >&2
    exit 1
fi

# Probe the toolchain once with a trivial program so a missing sysroot,
# linker or compiler-rt gives one clear message instead of N compile errors.
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
printf '#include <stdio.h>\nint main(void){puts("ok");return 0;}\n' > "$probe_dir/probe.c"
if ! "$CC" --target=wasm32-wasi -O2 -fuse-ld=lld "$probe_dir/probe.c" \
        -o "$probe_dir/probe.wasm" 2> "$probe_dir/probe.err"; then
    echo "error: '$CC --target=wasm32-wasi' cannot build a WASI program:" >&2
    sed 's/^/    /' "$probe_dir/probe.err" >&2
    if grep -q "stdio.h" "$probe_dir/probe.err"; then
        echo "       the wasm32-wasi sysroot (wasi-libc) seems to be missing." >&2
    elif grep -qi "lld\|wasm-ld" "$probe_dir/probe.err"; then
        echo "       the wasm linker (lld / wasm-ld) seems to be missing." >&2
    elif grep -qi "clang_rt\|builtins" "$probe_dir/probe.err"; then
        echo "       compiler-rt for wasm32 seems to be missing." >&2
    fi
    echo "       $missing_msg" >&2
    exit 1
fi

mkdir -p "$out_dir"
shopt -s nullglob
sources=("$src_dir"/*.c)
if [ ${#sources[@]} -eq 0 ]; then
    echo "error: no C programs in $src_dir" >&2
    exit 1
fi

for src in "${sources[@]}"; do
    name="$(basename "$src" .c)"
    # shellcheck disable=SC2086 # CFLAGS is intentionally word-split
    "$CC" --target=wasm32-wasi -O2 -fuse-ld=lld -Wall -Wextra ${CFLAGS:-} \
        "$src" -o "$out_dir/$name.wasm"
    echo "built $out_dir/$name.wasm"
done
