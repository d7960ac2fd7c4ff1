#!/usr/bin/env python3
"""Build a Python Tollgate plugin into a WebAssembly component.

    python3 tollgate-sdk/build.py [PROJECT_DIR] [--venv DIR]

Reads PROJECT_DIR/tollgate.json (`hook`, `artifact`), makes sure the
virtualenv (default PROJECT_DIR/.venv) holds the pinned toolchain of
PROJECT_DIR/requirements.txt (creating or updating it when that file
changed), then runs componentize-py on the project's `app.py` with this SDK
and prints the artifact's path. The SDK is the directory this script is in.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from inspect_component import inspect

SDK = Path(__file__).resolve().parent
HOOKS = ("precheck", "quantity-limits", "resources")


def fail(message: str) -> None:
    print(f"tollgate build: {message}", file=sys.stderr)
    sys.exit(1)


def read_manifest(project: Path) -> dict:
    path = project / "tollgate.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        fail(f"{path} not found: run this in a plugin project (`tollgate plugin new --lang python ...` makes one)")
    except json.JSONDecodeError as e:
        fail(f"{path} is not valid JSON: {e}")
    if manifest.get("language") != "python":
        fail(f'{path}: "language" is {manifest.get("language")!r}; this builds "python" projects')
    if manifest.get("hook") not in HOOKS:
        fail(f'{path}: "hook" is {manifest.get("hook")!r}; expected one of {", ".join(HOOKS)}')
    if not isinstance(manifest.get("artifact"), str) or not manifest["artifact"]:
        fail(f'{path}: "artifact" (the component\'s path, e.g. "dist/NAME.wasm") is missing')
    return manifest


def venv_tool(venv: Path, name: str) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / f"{name}.exe"
    return venv / "bin" / name


def pinned(requirements: Path) -> str:
    """The requirements' text with `-r` includes expanded: what gets installed."""
    lines = []
    for line in requirements.read_text().splitlines():
        if line.startswith("-r "):
            lines.append(pinned(requirements.parent / line[3:].strip()))
        elif not line.startswith("#"):
            lines.append(line)
    return "\n".join(lines)


def ensure_toolchain(venv: Path, requirements: Path) -> Path:
    """The venv's componentize-py, installing the pinned requirements when
    the venv is new or requirements.txt changed since the last install."""
    if not requirements.is_file():
        fail(f"{requirements} not found: it pins the build tools (see {SDK / 'requirements.txt'})")
    digest = hashlib.sha256(pinned(requirements).encode()).hexdigest()
    stamp = venv / "tollgate-requirements.sha256"
    python = venv_tool(venv, "python")
    if not python.exists():
        print(f"tollgate build: creating {venv}", file=sys.stderr)
        if subprocess.call([sys.executable, "-m", "venv", str(venv)]) != 0:
            fail("creating the virtualenv failed; on Debian/Ubuntu `apt-get install python3-venv` provides venv")
    if not stamp.exists() or stamp.read_text() != digest:
        print(f"tollgate build: installing the pinned toolchain from {requirements}", file=sys.stderr)
        install = [str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", str(requirements)]
        if subprocess.call(install, cwd=requirements.parent) != 0:
            fail("installing the pinned toolchain failed (see above): PyPI, or a mirror set with PIP_INDEX_URL, must be reachable")
        stamp.write_text(digest)
    return venv_tool(venv, "componentize-py")


def main() -> None:
    if sys.version_info < (3, 11):
        fail(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}: install it and run build.py with it")
    parser = argparse.ArgumentParser(description="Build a Python Tollgate plugin into a WebAssembly component.")
    parser.add_argument("project", nargs="?", default=".", help="the plugin project (default: .)")
    parser.add_argument("--venv", help="the virtualenv holding the toolchain (default: PROJECT/.venv)")
    args = parser.parse_args()
    project = Path(args.project).resolve()
    manifest = read_manifest(project)
    if not (project / "app.py").is_file():
        fail(f"{project / 'app.py'} not found: it is the component's entry point (see the templates)")
    venv = Path(args.venv).resolve() if args.venv else project / ".venv"
    componentize_py = ensure_toolchain(venv, project / "requirements.txt")
    artifact = project / manifest["artifact"]
    artifact.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(componentize_py), "--quiet", "-d", str(SDK / "wit"), "-w", manifest["hook"],
        "componentize", "app", "-p", str(project), "-p", str(SDK), "-o", str(artifact),
    ]
    # componentize-py also searches $VIRTUAL_ENV's site-packages: the project's
    # own. Its Rust backtraces would bury the Python error under them.
    env = dict(os.environ, VIRTUAL_ENV=str(venv), RUST_BACKTRACE="0")
    if subprocess.call(command, cwd=project, env=env) != 0:
        fail("componentize-py failed (see above)")
    http = [i for i in inspect(artifact.read_bytes())["imports"] if i.startswith("wasi:http/")]
    if http:
        artifact.unlink()
        fail(f"the component imports {', '.join(http)}: Tollgate plugins have no network; remove what pulls it in")
    print(artifact)


if __name__ == "__main__":
    main()
