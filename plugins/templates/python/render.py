#!/usr/bin/env python3
"""Render a Python plugin template: what `tollgate plugin new --lang python`
does (this script is its reference, and the tests' way to make projects).

    python3 plugins/templates/python/render.py HOOK NAME DEST

1. Copy `plugins/templates/python/HOOK/content/` to DEST, replacing `{{name}}`
   (NAME) and `{{module}}` (NAME with `-` as `_`) in paths and contents.
2. Copy the SDK into DEST/tollgate-sdk/: `plugins/sdk-python`'s
   `tollgate_plugin/`, `build.py`, `inspect_component.py`, `requirements.txt`
   and `README.md`, plus the contract `wit/v2/plugin.wit` as
   `tollgate-sdk/wit/plugin.wit`.
"""

import keyword
import re
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SDK = REPO / "plugins" / "sdk-python"
SDK_FILES = ["build.py", "inspect_component.py", "requirements.txt", "README.md"]
RESERVED = {"app", "tollgate_plugin", "wit_world", "componentize_py_types", "build"}


def module_name(name: str) -> str:
    """NAME as a Python module name, or SystemExit saying what is wrong."""
    module = name.replace("-", "_")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", module) or keyword.iskeyword(module):
        sys.exit(f"plugin name {name!r}: use lowercase letters, digits and '-', starting with a letter")
    if module in RESERVED or module in sys.stdlib_module_names:
        sys.exit(f"plugin name {name!r}: {module!r} is taken by Python or the SDK; choose another name")
    return module


def render(hook: str, name: str, dest: Path) -> None:
    content = REPO / "plugins" / "templates" / "python" / hook / "content"
    if not content.is_dir():
        sys.exit(f"no Python template for hook {hook!r}")
    module = module_name(name)

    def fill(text: str) -> str:
        return text.replace("{{name}}", name).replace("{{module}}", module)

    for source in content.rglob("*"):
        if source.is_file():
            target = dest / fill(str(source.relative_to(content)))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(fill(source.read_text()))
    sdk = dest / "tollgate-sdk"
    shutil.copytree(SDK / "tollgate_plugin", sdk / "tollgate_plugin", ignore=shutil.ignore_patterns("__pycache__"))
    for file in SDK_FILES:
        shutil.copy(SDK / file, sdk / file)
    (sdk / "wit").mkdir()
    shutil.copy(REPO / "wit" / "v2" / "plugin.wit", sdk / "wit" / "plugin.wit")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    render(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
