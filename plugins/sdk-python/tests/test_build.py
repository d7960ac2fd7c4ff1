"""build.py says what to do when a project cannot be built (checked before
any tool runs)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BUILD = Path(__file__).resolve().parents[1] / "build.py"


def build(project: Path) -> str:
    run = subprocess.run([sys.executable, str(BUILD), str(project)], capture_output=True, text=True)
    assert run.returncode == 1
    return run.stderr


def project(tmp_path: Path, **manifest) -> Path:
    values = {"name": "p", "hook": "precheck", "language": "python", "contract": "2.0.0", "artifact": "dist/p.wasm"}
    (tmp_path / "tollgate.json").write_text(json.dumps({**values, **manifest}))
    return tmp_path


def test_outside_a_project(tmp_path):
    assert "tollgate.json not found: run this in a plugin project" in build(tmp_path)


@pytest.mark.parametrize(
    ("manifest", "said"),
    [
        ({"language": "rust"}, '"language" is \'rust\'; this builds "python" projects'),
        ({"hook": "prechek"}, '"hook" is \'prechek\'; expected one of precheck, quantity-limits, resources'),
        ({"artifact": ""}, '"artifact" (the component\'s path, e.g. "dist/NAME.wasm") is missing'),
    ],
)
def test_a_wrong_manifest_is_named(tmp_path, manifest, said):
    assert said in build(project(tmp_path, **manifest))


def test_a_project_needs_its_entry_point(tmp_path):
    assert "app.py not found: it is the component's entry point" in build(project(tmp_path))


def test_a_project_needs_its_pins(tmp_path):
    (project(tmp_path) / "app.py").write_text("")
    assert "requirements.txt not found: it pins the build tools" in build(tmp_path)
