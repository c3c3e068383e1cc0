#!/usr/bin/env python3
"""Render the Gramine manifest that runs `waven platform MANIFEST` in SGX.

Reads a waven deployment manifest (TOML) and fills waven.manifest.template
with what the enclave needs: the sizes (frame pool, host heap, enclave), the
thread count, the trusted files (the waven binary, the host libraries it
links, the waven manifest, every module, precompiled artifact and
region-contents file) and one encrypted mount per preopened directory.

A tenant's module may be a precompiled .cwasm artifact (`waven compile`,
recognized by its magic, as waven does): the enclave build has no compiler,
so artifacts need engine = "compiled", and with engine = "compiled" every
module must be one; an artifact_sha256 pin is checked against the file
here too, so that a stale artifact is caught before the manifest is signed.

Layout: the app directory (--app-root, by default the waven manifest's own
directory) is mounted at /app inside the enclave, so the waven manifest's
relative paths still resolve there. Every module, region-contents file and
preopened directory must therefore lie inside the app directory, named by a
relative path; render.py refuses anything else.

Python 3.11 standard library only. Uses jinja2 when it is importable (the
same engine as gramine-manifest), otherwise a minimal renderer for exactly
the constructs the template uses.

    render.py --manifest app/deploy.toml --waven target/release/waven \
              --out waven.manifest
"""

from __future__ import annotations

import argparse
import hashlib
import os
import posixpath
import re
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_TEMPLATE = HERE / "waven.manifest.template"

# Where Gramine's Debian/Ubuntu packages install (gramine-manifest takes them
# from graminelibos._CONFIG_PKGLIBDIR, which render.py uses when importable).
DEBIAN_PKGLIBDIR = "/usr/lib/x86_64-linux-gnu/gramine"

MiB = 1 << 20
GiB = 1 << 30
DEFAULT_FRAME_BUDGET = GiB
HOST_HEAP_BASE = 64 * MiB
HOST_HEAP_PER_TENANT = 16 * MiB
ENCLAVE_OVERHEAD = 64 * MiB  # binary, libraries, thread stacks, LibOS
HELPER_THREADS = 4  # main thread + Gramine's IPC, async and TLS threads
# The first bytes of a precompiled artifact (crates/environ/src/artifact.rs).
ARTIFACT_MAGIC = b"\0wavencw"

# glibc libraries that Gramine's runtime directory (mounted at /lib)
# provides; host copies of these must not be loaded into the enclave.
GRAMINE_GLIBC = {
    "ld-linux-x86-64.so.2",
    "libc.so.6",
    "libdl.so.2",
    "libm.so.6",
    "libnss_dns.so.2",
    "libpthread.so.0",
    "libresolv.so.2",
    "librt.so.1",
    "libutil.so.1",
}


class RenderError(Exception):
    """A problem that stops rendering; the message says what to change."""


# --------------------------------------------------------------------------
# Sizes


def parse_size(value, what: str) -> int:
    """A waven size: an integer, or a string of digits with an optional
    KiB/MiB/GiB suffix (as crates/platform/src/manifest parses it)."""
    if isinstance(value, bool):
        raise RenderError(f"{what}: expected a size, got {value!r}")
    if isinstance(value, int):
        if value <= 0:
            raise RenderError(f"{what}: must be positive, got {value}")
        return value
    if not isinstance(value, str):
        raise RenderError(f"{what}: expected a size, got {value!r}")
    match = re.fullmatch(r"\s*([0-9]+)\s*(KiB|MiB|GiB)?\s*", value)
    if not match:
        raise RenderError(
            f"{what}: invalid size {value!r}: expected a number of bytes, "
            "optionally followed by KiB, MiB or GiB"
        )
    unit = {None: 1, "KiB": 1 << 10, "MiB": MiB, "GiB": GiB}[match.group(2)]
    size = int(match.group(1)) * unit
    if size <= 0:
        raise RenderError(f"{what}: must be positive, got {value!r}")
    return size


def human(size: int) -> str:
    """Bytes in the largest binary unit that divides them exactly."""
    for unit, name in ((GiB, "GiB"), (MiB, "MiB"), (1 << 10, "KiB")):
        if size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} bytes"


def gramine_size(size: int) -> str:
    """A size in Gramine's notation (K, M, G suffixes)."""
    for unit, suffix in ((GiB, "G"), (MiB, "M"), (1 << 10, "K")):
        if size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def next_power_of_two(n: int) -> int:
    return 1 << (n - 1).bit_length()


# --------------------------------------------------------------------------
# Paths


def checked_text(text: str, what: str) -> str:
    """Text that goes between double quotes in the TOML output: refuse what
    would need escaping, or what Jinja would read as markup."""
    if any(c in text for c in '"\\') or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise RenderError(f"{what}: {text!r} contains a quote, a backslash or a control character")
    if any(m in text for m in ("{{", "{%", "{#", "}}", "%}", "#}")):
        raise RenderError(f"{what}: {text!r} contains Jinja markup")
    return text


class Layout:
    """Maps paths named in the waven manifest to host paths and to the paths
    waven sees inside the enclave (app_root mounted at /app)."""

    def __init__(self, manifest: Path, app_root: Path):
        self.app_root = Path(os.path.normpath(os.path.abspath(app_root)))
        self.manifest = Path(os.path.normpath(os.path.abspath(manifest)))
        self.base = self.manifest.parent
        if not self.app_root.is_dir():
            raise RenderError(f"app directory {self.app_root} is not a directory")
        if self.inside(self.manifest) is None:
            raise RenderError(
                f"the waven manifest {self.manifest} is not inside the app directory {self.app_root}"
            )

    def inside(self, host: Path) -> str | None:
        """The path relative to app_root, or None if host lies outside."""
        rel = os.path.relpath(host, self.app_root)
        if rel == ".." or rel.startswith("../") or os.path.isabs(rel):
            return None
        return rel

    def enclave_path(self, host: Path) -> str:
        rel = self.inside(host)
        assert rel is not None
        return "/app" if rel == "." else posixpath.join("/app", rel)

    def resolve(self, written: str, what: str) -> Path:
        """A path as the waven manifest writes it, resolved like waven does
        (against the manifest's directory), then checked to be in the app."""
        checked_text(written, what)
        if os.path.isabs(written):
            raise RenderError(
                f"{what}: {written!r} is absolute; inside the enclave the app directory "
                f"{self.app_root} is mounted at /app, so name it relative to the manifest"
            )
        host = Path(os.path.normpath(self.base / written))
        if self.inside(host) is None:
            raise RenderError(
                f"{what}: {written!r} resolves to {host}, outside the app directory "
                f"{self.app_root}; copy the manifest and its files under one directory "
                "(or pass a wider --app-root)"
            )
        return host


# --------------------------------------------------------------------------
# Host libraries


def host_libraries(binary: Path) -> list[str]:
    """The shared libraries `binary` loads, except the glibc ones Gramine's
    runtime provides, as ldd resolves them on this machine."""
    try:
        result = subprocess.run(
            ["ldd", str(binary)], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise RenderError("ldd not found: install libc-bin, or list the libraries with --host-lib")
    if "not a dynamic executable" in result.stdout + result.stderr:
        return []
    if result.returncode != 0:
        raise RenderError(f"ldd {binary} failed: {result.stderr.strip()}")
    libs = []
    for line in result.stdout.splitlines():
        fields = line.split()
        if not fields:
            continue
        name = fields[0]
        if len(fields) >= 3 and fields[1] == "=>":
            target = fields[2]
        elif name.startswith("/"):
            target = name
            name = os.path.basename(name)
        else:
            continue  # linux-vdso.so.1: no file
        if target == "not":
            raise RenderError(f"ldd {binary}: {name} not found")
        if name in GRAMINE_GLIBC or os.path.basename(target) in GRAMINE_GLIBC:
            continue
        libs.append(os.path.normpath(target))
    return sorted(set(libs))


# --------------------------------------------------------------------------
# Gramine paths


def gramine_pkglibdir() -> str:
    try:
        from graminelibos import _CONFIG_PKGLIBDIR  # type: ignore

        return str(_CONFIG_PKGLIBDIR)
    except Exception:  # not installed, or an incompatible version
        return DEBIAN_PKGLIBDIR


class GramineRuntimedir:
    """`gramine.runtimedir()` in the template, as in gramine-manifest."""

    def __init__(self, path: str):
        self.path = path

    def __call__(self, libc: str = "glibc") -> str:
        return self.path

    def __str__(self) -> str:
        return self.path


# --------------------------------------------------------------------------
# Precompiled artifacts


def is_artifact(path: Path) -> bool:
    """Whether the file starts with the artifact magic."""
    try:
        with open(path, "rb") as f:
            return f.read(len(ARTIFACT_MAGIC)) == ARTIFACT_MAGIC
    except OSError:
        return False


def check_artifact(tenant: dict, name: str, path: Path, engine) -> None:
    """What waven checks of an artifact tenant that can be checked here:
    the engine, and the file against its artifact_sha256 pin."""
    if engine != "compiled":
        raise RenderError(
            f"tenant {name!r}: module {path} is a precompiled artifact, which needs "
            f'engine = "compiled" (the manifest has {engine!r}; "jit" is refused in the '
            "enclave, which has no compiler)"
        )
    pin = tenant.get("artifact_sha256")
    if pin is None:
        return
    if not isinstance(pin, str):
        raise RenderError(f"tenant {name!r}: artifact_sha256 must be a string")
    expected = pin.removeprefix("sha256:").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise RenderError(
            f"tenant {name!r}: invalid artifact_sha256 {pin!r}: expected 64 hexadecimal digits"
        )
    found = hashlib.sha256(path.read_bytes()).hexdigest()
    if found != expected:
        raise RenderError(
            f"tenant {name!r}: artifact {path} has SHA-256 {found}, but artifact_sha256 is "
            f"{expected}: compile it again or update the pin"
        )


# --------------------------------------------------------------------------
# Reading the waven manifest


def load_variables(args) -> dict:
    manifest = Path(args.manifest)
    try:
        text = manifest.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except OSError as error:
        raise RenderError(f"cannot read {manifest}: {error.strerror}")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise RenderError(f"{manifest}: {error}")

    layout = Layout(manifest, Path(args.app_root) if args.app_root else Path(os.path.abspath(manifest)).parent)
    checked_text(str(layout.app_root), "app directory")
    checked_text(str(layout.manifest), "manifest path")

    tenants = data.get("tenant", [])
    if not isinstance(tenants, list) or not tenants:
        raise RenderError(f"{manifest}: declares no [[tenant]]")

    frame_budget = parse_size(data.get("frame_budget", DEFAULT_FRAME_BUDGET), "frame_budget")
    if "host_heap" in data:
        host_heap = parse_size(data["host_heap"], "host_heap")
    else:
        host_heap = HOST_HEAP_BASE + HOST_HEAP_PER_TENANT * len(tenants)
    need = frame_budget + host_heap + ENCLAVE_OVERHEAD
    enclave_size = next_power_of_two(need)

    engine = data.get("engine", "interp")
    app_files: list[Path] = [layout.manifest]
    artifacts: list[Path] = []
    dirs: list[Path] = []
    for index, tenant in enumerate(tenants):
        if not isinstance(tenant, dict):
            raise RenderError(f"{manifest}: tenant {index + 1} is not a table")
        name = tenant.get("name", f"#{index + 1}")
        module = tenant.get("module")
        if not isinstance(module, str):
            raise RenderError(f"{manifest}: tenant {name!r} has no module")
        path = layout.resolve(module, f"tenant {name!r}: module")
        if not path.is_file():
            raise RenderError(f"tenant {name!r}: module {path} is not a file")
        if is_artifact(path):
            check_artifact(tenant, name, path, engine)
            artifacts.append(path)
        else:
            if engine == "compiled":
                raise RenderError(
                    f"tenant {name!r}: module {path} is not a precompiled artifact, but "
                    'engine = "compiled" in the enclave runs only .cwasm artifacts (the enclave '
                    "build has no compiler): compile it with `waven compile` outside the enclave"
                )
            if "artifact_sha256" in tenant:
                raise RenderError(
                    f"tenant {name!r}: artifact_sha256 is set, but module {path} is not a "
                    "precompiled artifact"
                )
            app_files.append(path)
        entries = tenant.get("dirs", [])
        if not isinstance(entries, list):
            raise RenderError(f"tenant {name!r}: dirs must be a list")
        for entry in entries:
            if not isinstance(entry, str):
                raise RenderError(f"tenant {name!r}: dirs entries must be strings")
            host = entry.split("::", 1)[0]
            path = layout.resolve(host, f"tenant {name!r}: preopened directory")
            if not path.is_dir():
                raise RenderError(f"tenant {name!r}: preopened directory {path} is not a directory")
            dirs.append(path)
    regions = data.get("region", [])
    if not isinstance(regions, list):
        raise RenderError(f"{manifest}: region must be an array of tables ([[region]])")
    for region in regions:
        contents = region.get("contents") if isinstance(region, dict) else None
        if contents is None:
            continue
        name = region.get("name", "?")
        if not isinstance(contents, str):
            raise RenderError(f"region {name!r}: contents must be a string")
        path = layout.resolve(contents, f"region {name!r}: contents")
        if not path.is_file():
            raise RenderError(f"region {name!r}: contents {path} is not a file")
        app_files.append(path)

    app_files = sorted(set(app_files))
    artifacts = sorted(set(artifacts))
    dirs = sorted(set(dirs))
    # Gramine's encrypted mounts must not overlap, and a trusted file under
    # an encrypted mount would be read as ciphertext.
    for d in dirs:
        if d == layout.app_root:
            raise RenderError(
                f"preopened directory {d} is the app directory itself; give tenants' data "
                "a directory of its own inside it"
            )
        for other in dirs:
            if other != d and other.is_relative_to(d):
                raise RenderError(f"preopened directories overlap: {other} lies inside {d}")
        for f in app_files + artifacts:
            if f.is_relative_to(d):
                raise RenderError(
                    f"{f} (a module, manifest or region contents file) lies inside the "
                    f"preopened directory {d}; keep tenants' data apart from code"
                )

    waven = Path(os.path.normpath(os.path.abspath(args.waven)))
    if not waven.is_file():
        raise RenderError(f"the waven binary {waven} does not exist (build it with "
                          "`cargo build --release -p waven-cli --features enclave`)")
    checked_text(str(waven), "waven binary")
    libs = [os.path.normpath(l) for l in args.host_lib] if args.host_lib else host_libraries(waven)
    for lib in libs:
        checked_text(lib, "host library")
        if not os.path.isabs(lib):
            raise RenderError(f"host library {lib!r} must be an absolute path")
    lib_dirs = sorted({os.path.dirname(lib) for lib in libs})

    if args.leave_gramine_paths:
        libos = "{{ gramine.libos }}"
        runtimedir = "{{ gramine.runtimedir() }}"
    else:
        pkglibdir = gramine_pkglibdir()
        libos = checked_text(args.gramine_libos or f"{pkglibdir}/libsysdb.so", "--gramine-libos")
        runtimedir = checked_text(
            (args.gramine_runtimedir or f"{pkglibdir}/runtime/glibc").rstrip("/"),
            "--gramine-runtimedir",
        )

    return {
        "gramine": {"libos": libos, "runtimedir": GramineRuntimedir(runtimedir)},
        "waven_bin": str(waven),
        "waven_manifest": layout.enclave_path(layout.manifest),
        "app_root": str(layout.app_root),
        "app_files": [str(f) for f in app_files],
        "artifact_files": [str(f) for f in artifacts],
        "data_mounts": [{"path": layout.enclave_path(d), "uri": str(d)} for d in dirs],
        "data_key": checked_text(args.data_key, "--data-key"),
        "insecure_dirs": bool(args.insecure_allowed_dirs),
        "host_libs": libs,
        "host_lib_dirs": lib_dirs,
        "ld_library_path": ":".join(["/lib", *lib_dirs]),
        "enclave_size": gramine_size(enclave_size),
        "frame_budget_text": human(frame_budget),
        "host_heap_text": human(host_heap),
        "tenant_count": len(tenants),
        "max_threads": len(tenants) + HELPER_THREADS,
        "remote_attestation": args.remote_attestation,
        # for the summary only
        "_need": need,
        "_enclave_bytes": enclave_size,
    }


# --------------------------------------------------------------------------
# Rendering


def render_jinja2(template: str, variables: dict) -> str:
    import jinja2  # type: ignore

    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.from_string(template).render(**variables)


_TAG = re.compile(r"({{.*?}}|{%.*?%}|{#.*?#})", re.S)
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_EXPR = re.compile(rf"(not\s+)?({_NAME}(?:\.{_NAME})*)(\(\))?")


def _lookup(expr: str, scope: dict):
    match = _EXPR.fullmatch(expr.strip())
    if not match:
        raise RenderError(f"template: unsupported expression {expr.strip()!r}")
    negate, path, call = match.groups()
    parts = path.split(".")
    if parts[0] not in scope:
        raise RenderError(f"template: {parts[0]!r} is undefined")
    value = scope[parts[0]]
    for part in parts[1:]:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif hasattr(value, part):
            value = getattr(value, part)
        else:
            raise RenderError(f"template: {path!r} is undefined")
    if call:
        value = value()
    return (not value) if negate else value


def _tokens(template: str):
    """Text and tags, with Jinja's lstrip_blocks and trim_blocks applied:
    whitespace before a block tag at the start of a line is dropped, and so
    is the newline right after a block tag."""
    pieces = _TAG.split(template)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            out.append(("text", piece))
            continue
        if piece.startswith("{#"):
            raise RenderError("template: comments are not supported by the minimal renderer")
        if piece.startswith("{%"):
            if piece.startswith("{%-") or piece.endswith("-%}") or piece.startswith("{%+"):
                raise RenderError("template: whitespace control is not supported")
            # lstrip_blocks: only when nothing but blanks precedes the tag
            # on its line (the text before it starts a line: it holds a
            # newline, or it opens the template)
            kind, prev = out[-1]
            line_start = prev.rfind("\n") + 1
            at_line_start = line_start > 0 or i == 1
            if at_line_start and prev[line_start:].strip(" \t") == "":
                out[-1] = (kind, prev[:line_start])
            out.append(("block", piece[2:-2].strip()))
            # trim_blocks
            if i + 1 < len(pieces) and pieces[i + 1].startswith("\n"):
                pieces[i + 1] = pieces[i + 1][1:]
        else:
            out.append(("var", piece[2:-2]))
    return out


def _parse(tokens, pos, until):
    """A list of nodes up to one of the block keywords in `until`."""
    nodes = []
    while pos < len(tokens):
        kind, value = tokens[pos]
        if kind == "block":
            word = value.split()[0]
            if word in until:
                return nodes, pos
            if word == "for":
                match = re.fullmatch(rf"for\s+({_NAME})\s+in\s+(.+)", value)
                if not match:
                    raise RenderError(f"template: unsupported {{% {value} %}}")
                body, pos = _parse(tokens, pos + 1, ("endfor",))
                nodes.append(("for", match.group(1), match.group(2), body))
            elif word == "if":
                then, pos = _parse(tokens, pos + 1, ("else", "endif"))
                other = []
                if tokens[pos][1] == "else":
                    other, pos = _parse(tokens, pos + 1, ("endif",))
                nodes.append(("if", value[2:].strip(), then, other))
            else:
                raise RenderError(f"template: unsupported {{% {value} %}}")
            if pos >= len(tokens):
                raise RenderError(f"template: {{% {word} %}} is not closed")
        else:
            nodes.append((kind, value))
        pos += 1
    if until:
        raise RenderError(f"template: expected {{% {until[-1]} %}}")
    return nodes, pos


def _emit(nodes, scope, out):
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "var":
            out.append(str(_lookup(node[1], scope)))
        elif node[0] == "for":
            _, name, expr, body = node
            for item in _lookup(expr, scope):
                _emit(body, {**scope, name: item}, out)
        elif node[0] == "if":
            _, expr, then, other = node
            _emit(then if _lookup(expr, scope) else other, scope, out)


def render_minimal(template: str, variables: dict) -> str:
    """Exactly the Jinja2 subset the template uses: {{ a.b }}, {{ f() }},
    {% for x in a %}, {% if [not] a %} / {% else %}, with trim_blocks and
    lstrip_blocks."""
    nodes, _ = _parse(_tokens(template), 0, ())
    out: list[str] = []
    _emit(nodes, variables, out)
    return "".join(out)


def have_jinja2() -> bool:
    try:
        import jinja2  # type: ignore
    except ImportError:
        return False
    return jinja2 is not None


# --------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Render the Gramine manifest that runs `waven platform MANIFEST` in SGX."
    )
    parser.add_argument("--manifest", required=True, help="the waven deployment manifest (TOML)")
    parser.add_argument("--waven", required=True, help="the waven binary (built with --features enclave)")
    parser.add_argument("--out", required=True, help="where to write the Gramine manifest")
    parser.add_argument(
        "--app-root",
        help="the directory mounted at /app in the enclave; must contain the manifest and every "
        "file it names (default: the manifest's directory)",
    )
    parser.add_argument("--template", default=str(DEFAULT_TEMPLATE), help="the template (default: %(default)s)")
    parser.add_argument("--gramine-libos", help="path of Gramine's libsysdb.so "
                        f"(default: graminelibos' if importable, else {DEBIAN_PKGLIBDIR}/libsysdb.so)")
    parser.add_argument("--gramine-runtimedir", help="Gramine's glibc runtime directory "
                        f"(default: graminelibos' if importable, else {DEBIAN_PKGLIBDIR}/runtime/glibc)")
    parser.add_argument(
        "--leave-gramine-paths",
        action="store_true",
        help="keep {{ gramine.libos }} and {{ gramine.runtimedir() }} in the output, for "
        "gramine-manifest to fill (and check)",
    )
    parser.add_argument(
        "--data-key",
        default="_sgx_mrenclave",
        help="key_name of the encrypted mounts of preopened directories (default: %(default)s)",
    )
    parser.add_argument(
        "--insecure-allowed-dirs",
        action="store_true",
        help="INSECURE: preopened directories as sgx.allowed_files (plain host files the host "
        "can read and change) instead of encrypted mounts",
    )
    parser.add_argument("--remote-attestation", choices=("none", "dcap"), default="dcap",
                        help="sgx.remote_attestation (default: %(default)s)")
    parser.add_argument("--host-lib", action="append", default=[],
                        help="a host library to load (repeatable); default: found with ldd")
    parser.add_argument("--engine", choices=("auto", "jinja2", "minimal"), default="auto",
                        help="template engine (default: jinja2 if importable, else minimal)")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args(argv)

    try:
        variables = load_variables(args)
        try:
            template = Path(args.template).read_text(encoding="utf-8")
        except OSError as error:
            raise RenderError(f"cannot read template {args.template}: {error.strerror}")
        engine = args.engine
        if engine == "auto":
            engine = "jinja2" if have_jinja2() else "minimal"
        if engine == "jinja2":
            text = render_jinja2(template, variables)
        else:
            text = render_minimal(template, variables)
        # The output must be TOML (for gramine-manifest it must stay so after
        # its own rendering; the two Gramine placeholders are plain strings).
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise RenderError(f"the rendered manifest is not valid TOML: {error}")
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as error:
            raise RenderError(f"cannot write {args.out}: {error.strerror}")
    except RenderError as error:
        print(f"render.py: error: {error}", file=sys.stderr)
        return 1

    if not args.quiet:
        v = variables
        print(
            f"render.py: wrote {args.out} ({engine}): enclave_size {v['enclave_size']} "
            f"(need {human(v['_need'])}: frame_budget {v['frame_budget_text']} + host_heap "
            f"{v['host_heap_text']} + 64 MiB), max_threads {v['max_threads']}, "
            f"{len(v['app_files'])} app files, {len(v['artifact_files'])} precompiled artifacts, "
            f"{len(v['host_libs'])} host libraries, "
            f"{len(v['data_mounts'])} preopened directories "
            f"({'INSECURE allowed files' if v['insecure_dirs'] else 'encrypted, key ' + v['data_key']})",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
