"""The vendored bindings are what componentize-py generates from the contract."""

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

SDK = Path(__file__).resolve().parents[1]


def test_the_sdk_carries_contract_v2():
    text = (SDK / "wit" / "plugin.wit").read_text()
    assert "package tollgate:plugin@2.0.0;" in text


def _componentize_py():
    beside = Path(sys.executable).parent / "componentize-py"
    return str(beside) if beside.exists() else shutil.which("componentize-py")


@pytest.mark.skipif(_componentize_py() is None, reason="componentize-py is not installed")
def test_vendored_bindings_are_current():
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "sdk"
        shutil.copytree(SDK, copy, ignore=shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache"))
        subprocess.run([str(copy / "generate-bindings.sh"), _componentize_py()], check=True)
        ours, fresh = SDK / "tollgate_plugin" / "_bindings", copy / "tollgate_plugin" / "_bindings"
        for root, _, files in os.walk(fresh):
            for name in files:
                relative = Path(root, name).relative_to(fresh)
                assert filecmp.cmp(ours / relative, fresh / relative, shallow=False), f"{relative} is stale: run generate-bindings.sh"
