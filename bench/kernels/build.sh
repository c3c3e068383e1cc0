#!/usr/bin/env bash
# Build every kernel natively (gcc) and as wasm32-wasi (clang) into build/.
# Usage: ./build.sh [name...]
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in *.c; do names+=("${f%.c}"); done
fi
for n in "${names[@]}"; do
    gcc -std=c99 -O2 -Wall -Wextra "$n.c" -o "build/$n" -lm
    clang --target=wasm32-wasi -std=c99 -O2 -Wall -Wextra -fuse-ld=lld "$n.c" -o "build/$n.wasm" -lm
done
