"""The layering of DESIGN.md, enforced: import-linter's contracts in pyproject.toml (indirect imports count)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    # In a subprocess: import-linter builds the import graph of the installed packages from scratch.
    code = (
        "import sys\n"
        "from importlinter.cli import lint_imports\n"
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "5 kept, 0 broken" in out.stdout


def test_a_backwards_import_is_caught(tmp_path):
    # The contracts bite: a domain module that imports the API breaks one.
    bad = ROOT / "service" / "taste" / "_layering_probe.py"
    bad.write_text("import service.api.app  # noqa: F401\n")
    try:
        code = (
            "import sys\n"
            "from importlinter.cli import lint_imports\n"
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))\n"
        )
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        bad.unlink()
    assert out.returncode != 0 and "BROKEN" in out.stdout


def test_the_readme_layout_tree_names_every_package():
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("## Layout") :]
    block = block[block.index("```") + 3 :]
    block = block[: block.index("```")]
    listed = {line.split()[0].rstrip("/") for line in block.splitlines() if line.startswith("  ") and line.split()}
    packages = {p.name for p in (ROOT / "service").iterdir() if (p / "__init__.py").exists()}
    modules = {p.name for p in (ROOT / "service").glob("*.py") if p.name != "__init__.py"}
    assert listed == packages | modules
