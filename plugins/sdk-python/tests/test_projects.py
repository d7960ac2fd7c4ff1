"""The Python templates and examples: rendered projects pass their own
tests natively, and the examples share the Rust examples' fixtures."""

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TEMPLATES = REPO / "plugins" / "templates" / "python"
sys.path.insert(0, str(TEMPLATES))
from render import render  # noqa: E402


def pytest_in(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project,
                          capture_output=True, text=True)


@pytest.mark.parametrize("hook", ["precheck", "quantity-limits", "resources"])
def test_a_new_project_passes_its_tests_as_created(hook, tmp_path):
    project = tmp_path / "vip-rule"
    render(hook, "vip-rule", project)
    assert (project / "vip_rule.py").is_file() and (project / "test_vip_rule.py").is_file()
    manifest = (project / "tollgate.json").read_text()
    assert f'"hook": "{hook}"' in manifest and '"artifact": "dist/vip-rule.wasm"' in manifest
    assert "{{" not in (project / "app.py").read_text() + (project / "README.md").read_text()
    assert (project / "tollgate-sdk" / "wit" / "plugin.wit").read_text() == (REPO / "wit" / "v2" / "plugin.wit").read_text()
    run = pytest_in(project)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


@pytest.mark.parametrize("name", ["json", "app", "9lives", "Big", "class"])
def test_names_that_cannot_be_modules_are_refused(name, tmp_path):
    with pytest.raises(SystemExit) as refused:
        render("precheck", name, tmp_path / "p")
    assert name in str(refused.value)


@pytest.mark.parametrize("example", ["min-max-quantity", "one-active-subscription", "cancellation-window"])
def test_python_examples_share_the_rust_fixtures_and_pass_their_tests(example):
    python, rust = REPO / "plugins" / "examples" / f"{example}-py", REPO / "plugins" / "examples" / example
    compared = filecmp.dircmp(python / "fixtures", rust / "fixtures")
    assert compared.left_list == compared.right_list and not compared.diff_files
    run = pytest_in(python)
    assert run.returncode == 0, run.stdout + run.stderr
