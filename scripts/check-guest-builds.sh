#!/usr/bin/env bash
# Rebuild every committed C guest (scripts/build-guests.sh) into a scratch
# directory and fail if any differs from the committed bytes, if a build
# has no committed .wasm, or if a committed .wasm has no build. Fails (never
# skips) when clang, wasm-ld or wasi-libc are missing.
#
# Usage: scripts/check-guest-builds.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$root/scripts/build-guests.sh" "$tmp" >/dev/null

cd "$root"
failed=0
built="$(cd "$tmp" && find . -name '*.wasm' | sed 's|^\./||' | sort)"
for f in $built; do
    if ! git ls-files --error-unmatch "$f" >/dev/null 2>&1; then
        echo "not committed: $f"
        failed=1
    elif ! cmp -s "$f" "$tmp/$f"; then
        echo "differs from its rebuild: $f"
        failed=1
    fi
done
for f in $(git ls-files '*.wasm'); do
    grep -qxF "$f" <<<"$built" || { echo "committed but built by no script: $f"; failed=1; }
done
if [ "$failed" != 0 ]; then
    echo "run scripts/build-guests.sh and commit the .wasm files (and, for the" >&2
    echo "marketplace, the measurements in examples/marketplace.toml)" >&2
    exit 1
fi
echo "$(wc -w <<<"$built") committed C guests are what their sources build to"
