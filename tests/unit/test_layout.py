"""The package's shape, kept mechanically: small modules (STYLE §14), every upstream kind the
catalog accepts has an adapter, and the layering holds (``lint-imports`` checks the contracts
in pyproject; this test makes a plain ``pytest`` run notice too)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from patchbay.catalog.entries import PROVIDER_KINDS
from patchbay.providers.registry import ADAPTERS

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "patchbay"
MAX_LINES = 400


def test_no_module_over_400_lines() -> None:
    sizes = {
        str(path.relative_to(PACKAGE)): len(path.read_text().splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert sizes, "no modules found"
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_every_provider_kind_has_an_adapter() -> None:
    assert set(ADAPTERS) == set(PROVIDER_KINDS)
    for kind, adapter in ADAPTERS.items():
        assert adapter.kind == kind


def test_layering_contracts_hold() -> None:
    tool = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if tool is None:
        pytest.skip("import-linter is not installed (pip install -e '.[lint]')")
    result = subprocess.run([tool], capture_output=True, text=True, cwd=PACKAGE.parents[1])
    assert result.returncode == 0, result.stdout[-3000:]
