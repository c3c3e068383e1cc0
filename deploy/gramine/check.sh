#!/usr/bin/env bash
# Checks what can be checked of the Gramine deployment without SGX and
# without Gramine: render.py renders waven.manifest.template for the
# shipped example manifests and for a made-up app with preopened
# directories and region contents; every rendered manifest must be valid
# TOML with the sizes, threads, trusted files and mounts it should have,
# and every file it names outside Gramine's install paths must exist.
# Also checks that render.py refuses layouts the enclave cannot run, and
# that precompiled artifacts are trusted files pinned by their SHA-256.
#
#   deploy/gramine/check.sh [WAVEN_BINARY]      (default target/release/waven)
#
# Needs python3 (3.11 or newer) and ldd; nothing else. Exit status 0 when
# every check passes, 1 with a message naming the failed check otherwise.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

waven="${1:-target/release/waven}"

fail() {
    echo "check.sh: FAILED: $*" >&2
    exit 1
}

command -v python3 >/dev/null || fail "python3 not found"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || fail "python3 3.11 or newer is needed (tomllib)"
[ -f "$waven" ] || fail "no waven binary at $waven (build: cargo build --release -p waven-cli --features enclave)"

# Fixed Gramine paths, so that the checks know which URIs belong to Gramine
# (they need not exist here).
libos=/usr/lib/x86_64-linux-gnu/gramine/libsysdb.so
runtimedir=/usr/lib/x86_64-linux-gnu/gramine/runtime/glibc

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# validate RENDERED WAVEN_MANIFEST APP_ROOT [MODE]: the checks on one
# rendered manifest. MODE: encrypted (default), insecure, deferred.
cat >"$tmp/validate.py" <<'EOF'
import os, re, sys, tomllib

rendered, waven_manifest, app_root, waven_bin, libos, runtimedir, mode = sys.argv[1:8]
app_root = os.path.abspath(app_root)
waven_bin = os.path.abspath(waven_bin)
problems = []

def check(cond, message):
    if not cond:
        problems.append(message)

def size(v):
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    m = re.fullmatch(r"\s*(\d+)\s*(KiB|MiB|GiB)?\s*", v)
    return int(m.group(1)) * {None: 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m.group(2)]

def gramine_size(v):
    m = re.fullmatch(r"(\d+)([KMG]?)", v)
    if not m:
        return None
    return int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)]

with open(rendered, "rb") as f:
    try:
        g = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        sys.exit(f"{rendered}: not valid TOML: {e}")
with open(waven_manifest, "rb") as f:
    w = tomllib.load(f)

tenants = w["tenant"]
budget = size(w.get("frame_budget", "1GiB"))
heap = size(w["host_heap"]) if "host_heap" in w else (64 << 20) + (16 << 20) * len(tenants)
need = budget + heap + (64 << 20)

sgx, loader, fs = g.get("sgx", {}), g.get("loader", {}), g.get("fs", {})
es = gramine_size(str(sgx.get("enclave_size", "")))
check(es is not None, f"sgx.enclave_size {sgx.get('enclave_size')!r} is not a Gramine size")
if es is not None:
    check(es & (es - 1) == 0, f"sgx.enclave_size {es} is not a power of two")
    check(es >= need, f"sgx.enclave_size {es} < frame_budget + host_heap + 64 MiB = {need}")
    check(es < 2 * need, f"sgx.enclave_size {es} is more than the next power of two above {need}")
check(sgx.get("max_threads") == len(tenants) + 4,
      f"sgx.max_threads {sgx.get('max_threads')} != tenants + 4 = {len(tenants) + 4}")
check(sgx.get("edmm_enable") is False, "sgx.edmm_enable is not false")
check(sgx.get("debug") is False, "sgx.debug is not false")
check(sgx.get("file_check_policy") == "strict", "sgx.file_check_policy is not strict")
check(g.get("libos", {}).get("entrypoint") == "/waven", "libos.entrypoint is not /waven")

gramine_libos = "{{ gramine.libos }}" if mode == "deferred" else libos
gramine_rt = "{{ gramine.runtimedir() }}" if mode == "deferred" else runtimedir
check(loader.get("entrypoint", {}).get("uri") == f"file:{gramine_libos}",
      f"loader.entrypoint.uri is {loader.get('entrypoint')!r}")

# argv is fixed and names the waven manifest at its place under /app.
rel = os.path.relpath(os.path.abspath(waven_manifest), app_root)
check(loader.get("argv") == ["/waven", "platform", "/app/" + rel],
      f"loader.argv {loader.get('argv')!r} != ['/waven', 'platform', '/app/{rel}']")
check(loader.get("env", {}).get("LD_LIBRARY_PATH", "").startswith("/lib"),
      "LD_LIBRARY_PATH does not start with Gramine's /lib")

trusted = sgx.get("trusted_files", [])
check(all(isinstance(t, str) and t.startswith("file:") for t in trusted),
      "a trusted file is not a file: URI")
trusted_paths = [t[len("file:"):] for t in trusted if isinstance(t, str)]
check(len(trusted_paths) == len(set(trusted_paths)), "duplicate trusted files")
allowed = sgx.get("allowed_files", [])
mounts = fs.get("mounts", [])
mount_paths = [m.get("path") for m in mounts]
check(len(mount_paths) == len(set(mount_paths)), f"duplicate mount paths {mount_paths}")

def gramine_owned(path):
    return path in (gramine_libos, gramine_rt) or path.startswith(gramine_rt + "/")

# Every file: URI outside Gramine's install paths must exist.
uris = [loader.get("entrypoint", {}).get("uri", "")] + list(trusted) + list(allowed) \
    + [m.get("uri", "") for m in mounts]
for uri in uris:
    check(uri.startswith("file:"), f"{uri!r} is not a file: URI")
    path = uri[len("file:"):]
    if gramine_owned(path.rstrip("/")):
        continue
    check(os.path.isabs(path), f"{uri} is not absolute")
    if path.endswith("/"):
        check(os.path.isdir(path), f"{uri}: no such directory")
    else:
        check(os.path.exists(path), f"{uri}: no such file")

# The binary: mounted at /waven and trusted.
check({"path": "/waven", "uri": f"file:{waven_bin}"} in mounts, f"{waven_bin} is not mounted at /waven")
check(waven_bin in trusted_paths, f"{waven_bin} is not a trusted file")
check(os.path.isfile(waven_bin), f"{waven_bin} does not exist")
check(f"{gramine_rt}/" in trusted_paths, "Gramine's runtime directory is not trusted")
check({"path": "/app", "uri": f"file:{app_root}"} in mounts, f"{app_root} is not mounted at /app")

# The waven manifest and every file it names are trusted, under /app.
base = os.path.dirname(os.path.abspath(waven_manifest))
expected = {os.path.abspath(waven_manifest)}
expected |= {os.path.normpath(os.path.join(base, t["module"])) for t in tenants}
expected |= {os.path.normpath(os.path.join(base, r["contents"])) for r in w.get("region", []) if "contents" in r}
for path in sorted(expected):
    check(path in trusted_paths, f"{path} is not a trusted file")
    check(path.startswith(app_root + "/"), f"{path} is not under the app directory")

# Preopened directories: encrypted mounts at their place under /app, or,
# insecure, allowed files; never both.
dirs = sorted({os.path.normpath(os.path.join(base, d.split("::", 1)[0]))
               for t in tenants for d in t.get("dirs", [])})
encrypted = [m for m in mounts if m.get("type") == "encrypted"]
for d in dirs:
    place = "/app/" + os.path.relpath(d, app_root)
    if mode == "insecure":
        check(f"file:{d}/" in allowed, f"{d} is not an allowed directory")
    else:
        m = [m for m in encrypted if m.get("uri") == f"file:{d}"]
        check(len(m) == 1 and m[0].get("path") == place and m[0].get("key_name"),
              f"{d} is not an encrypted mount at {place} with a key_name")
if mode == "insecure":
    check(not encrypted, "encrypted mounts in insecure mode")
else:
    check(not allowed, "sgx.allowed_files present without --insecure-allowed-dirs")
    check(len(encrypted) == len(dirs), f"{len(encrypted)} encrypted mounts for {len(dirs)} directories")

if problems:
    print(f"{rendered}:", file=sys.stderr)
    for p in problems:
        print(f"  - {p}", file=sys.stderr)
    sys.exit(1)
shown = os.path.relpath(waven_manifest)
if shown.startswith(".."):
    shown = os.path.basename(waven_manifest)
print(f"ok: {shown} [{mode}]: enclave_size {sgx['enclave_size']} "
      f"(need {need >> 20} MiB), max_threads {sgx['max_threads']}, {len(trusted)} trusted files, "
      f"{len(mounts)} mounts")
EOF

render() { # render OUT WAVEN_MANIFEST [render.py options...]
    local out="$1" manifest="$2"
    shift 2
    python3 "$here/render.py" --quiet --manifest "$manifest" --waven "$waven" --out "$out" \
        --gramine-libos "$libos" --gramine-runtimedir "$runtimedir" "$@"
}

validate() { # validate RENDERED WAVEN_MANIFEST APP_ROOT [MODE]
    python3 "$tmp/validate.py" "$1" "$2" "$3" "$waven" "$libos" "$runtimedir" "${4:-encrypted}" \
        || fail "$1 (rendered from $2) is wrong, see above"
}

refuses() { # refuses WHAT EXPECTED-MESSAGE WAVEN_MANIFEST [render.py options...]
    local what="$1" expected="$2" manifest="$3"
    shift 3
    if render "$tmp/refused.manifest" "$manifest" "$@" 2>"$tmp/refused.err"; then
        fail "render.py accepted $what"
    fi
    grep -q -- "$expected" "$tmp/refused.err" \
        || fail "render.py refused $what without saying '$expected': $(cat "$tmp/refused.err")"
    echo "ok: refuses $what"
}

# 1. The marketplace: its modules are committed under demos/build/, one
#    level above the manifest, so the app directory is the repository.
render "$tmp/marketplace.manifest" examples/marketplace.toml --app-root .
validate "$tmp/marketplace.manifest" examples/marketplace.toml .
refuses "a module outside the app directory" "outside the app directory" examples/marketplace.toml

# 2. Ping-pong: its module is committed under examples/build/.
render "$tmp/pingpong.manifest" examples/pingpong.toml
validate "$tmp/pingpong.manifest" examples/pingpong.toml examples

# 3. A made-up app: preopened directories (one shared by two tenants),
#    region contents, an explicit host_heap.
app="$tmp/app"
mkdir -p "$app/modules" "$app/data/alice" "$app/data/shared" "$app/input"
cp demos/build/marketplace-consumer.wasm "$app/modules/a.wasm"
cp demos/build/marketplace-hist.wasm "$app/modules/b.wasm"
head -c 8192 /dev/zero >"$app/input/table.bin"
cat >"$app/deploy.toml" <<'EOF'
frame_budget = 67108864
host_heap = "96MiB"

[[tenant]]
name = "alice"
module = "modules/a.wasm"
dirs = ["data/alice::/data", "data/shared::/shared"]

[[tenant]]
name = "bob"
module = "./modules/b.wasm"
dirs = ["data/shared::/shared"]

[[tenant]]
name = "carol"
module = "modules/a.wasm"

[[region]]
name = "table"
owner = "host"
size = "8KiB"
contents = "input/table.bin"
max_rights = "r"
EOF
render "$tmp/app.manifest" "$app/deploy.toml"
validate "$tmp/app.manifest" "$app/deploy.toml" "$app"
render "$tmp/app-insecure.manifest" "$app/deploy.toml" --insecure-allowed-dirs
validate "$tmp/app-insecure.manifest" "$app/deploy.toml" "$app" insecure
render "$tmp/app-deferred.manifest" "$app/deploy.toml" --leave-gramine-paths
validate "$tmp/app-deferred.manifest" "$app/deploy.toml" "$app" deferred
# frame_budget 64 MiB + host_heap 96 MiB + 64 MiB = 224 MiB -> 256M.
grep -q '^sgx.enclave_size = "256M"$' "$tmp/app.manifest" || fail "app: enclave_size is not 256M"

# The validator itself catches a wrong manifest: a size that is not a
# power of two, a module missing from the trusted files.
sed -e 's|^sgx.enclave_size = .*|sgx.enclave_size = "384M"|' \
    -e '\|modules/b.wasm|d' "$tmp/app.manifest" >"$tmp/broken.manifest"
if python3 "$tmp/validate.py" "$tmp/broken.manifest" "$app/deploy.toml" "$app" "$waven" \
    "$libos" "$runtimedir" encrypted 2>"$tmp/broken.err"; then
    fail "the validator accepted a broken manifest"
fi
grep -q "not a power of two" "$tmp/broken.err" && grep -q "b.wasm is not a trusted file" "$tmp/broken.err" \
    || fail "the validator missed a problem of a broken manifest: $(cat "$tmp/broken.err")"
echo "ok: the validator rejects a broken manifest"

# 4. Layouts the enclave cannot run are refused with a clear message.
sed 's|^module = "modules/a.wasm"|module = "'"$app"'/modules/a.wasm"|' "$app/deploy.toml" >"$app/abs.toml"
refuses "an absolute module path" "is absolute" "$app/abs.toml"
sed 's|"data/alice::/data"|"data::/data"|' "$app/deploy.toml" >"$app/overlap.toml"
refuses "overlapping preopened directories" "overlap" "$app/overlap.toml"
sed 's|"data/alice::/data"|"modules::/m"|' "$app/deploy.toml" >"$app/code.toml"
refuses "a module inside a preopened directory" "inside the preopened directory" "$app/code.toml"
refuses "an app directory that does not hold the manifest" "not inside the app directory" \
    "$app/deploy.toml" --app-root "$app/modules"

# 5. Precompiled code: an artifact tenant (made up here: render.py knows an
#    artifact by its magic and reads nothing else of it) is a trusted file
#    in the precompiled-code section, its artifact_sha256 pin is checked,
#    and what the enclave cannot run is refused.
compiled="$tmp/compiled"
mkdir -p "$compiled/modules"
printf '\0wavencw\1\0\0\0not really code' >"$compiled/modules/c.cwasm"
cp demos/build/marketplace-consumer.wasm "$compiled/modules/a.wasm"
pin="$(sha256sum "$compiled/modules/c.cwasm" | cut -d' ' -f1)"
cat >"$compiled/deploy.toml" <<EOF
engine = "compiled"
frame_budget = "64MiB"

[[tenant]]
name = "compiled"
module = "modules/c.cwasm"
artifact_sha256 = "$pin"
EOF
render "$tmp/compiled.manifest" "$compiled/deploy.toml"
validate "$tmp/compiled.manifest" "$compiled/deploy.toml" "$compiled"
grep -A6 '# Precompiled code' "$tmp/compiled.manifest" | grep -q "\"file:$compiled/modules/c.cwasm\"," \
    || fail "the artifact is not listed as precompiled code in the trusted files"
[ "$(grep -c "file:$compiled/modules/c.cwasm\"" "$tmp/compiled.manifest")" = 1 ] \
    || fail "the artifact is listed more than once"
echo "ok: precompiled artifacts are trusted files"
sed "s|^artifact_sha256 = .*|artifact_sha256 = \"$(printf 'ab%.0s' $(seq 32))\"|" \
    "$compiled/deploy.toml" >"$compiled/stale.toml"
refuses "an artifact that does not match its pin" "compile it again or update the pin" \
    "$compiled/stale.toml"
sed 's|^engine = .*|engine = "interp"|' "$compiled/deploy.toml" >"$compiled/interp.toml"
refuses "an artifact on the interpreter" 'needs engine = "compiled"' "$compiled/interp.toml"
sed 's|^engine = .*|engine = "jit"|' "$compiled/deploy.toml" >"$compiled/jit.toml"
refuses "an artifact with engine = \"jit\"" 'needs engine = "compiled"' "$compiled/jit.toml"
sed -e 's|modules/c.cwasm|modules/a.wasm|' -e '/^artifact_sha256/d' \
    "$compiled/deploy.toml" >"$compiled/wasm.toml"
refuses "a .wasm module with engine = \"compiled\"" "is not a precompiled artifact" \
    "$compiled/wasm.toml"

# 6. The minimal renderer gives byte for byte what Jinja2 gives (when jinja2
#    is installed: it is what gramine-manifest uses).
if python3 -c 'import jinja2' 2>/dev/null; then
    for m in examples/marketplace.toml "$app/deploy.toml" "$compiled/deploy.toml"; do
        extra=()
        [ "$m" = examples/marketplace.toml ] && extra=(--app-root .)
        for flags in "" --insecure-allowed-dirs --leave-gramine-paths; do
            render "$tmp/j.manifest" "$m" "${extra[@]}" $flags --engine jinja2
            render "$tmp/m.manifest" "$m" "${extra[@]}" $flags --engine minimal
            cmp -s "$tmp/j.manifest" "$tmp/m.manifest" \
                || fail "the minimal renderer differs from jinja2 for $m $flags: $(diff "$tmp/j.manifest" "$tmp/m.manifest" | head -5)"
        done
    done
    echo "ok: the minimal renderer and jinja2 agree"
else
    echo "skipped: comparison with jinja2 (not installed; the minimal renderer was used)"
fi

echo "check.sh: all checks passed"
