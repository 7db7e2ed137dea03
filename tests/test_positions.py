"""``opslint.syntax.positions`` gives exactly what LibCST's ``PositionProvider`` gives."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path
from typing import List

import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from opslint.syntax.parse import parse_module
from opslint.syntax.positions import positions

#: The same LibCST on every Python: compared once, in the full run.
pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _sources() -> List[Path]:
    # Every eighth fixture (the comparison costs a PositionProvider run each: all of them
    # took half a minute), spread over every rule's folder.
    found = sorted(FIXTURES.rglob("*.py"))[::8]
    # Every kind of statement and expression the language has, as real code writes them.
    for name in ("argparse.py", "asyncio/base_events.py", "dataclasses.py", "typing.py", "enum.py"):
        if (STDLIB / name).is_file():
            found.append(STDLIB / name)
    return found


@pytest.mark.parametrize("path", _sources(), ids=lambda p: os.path.relpath(p, p.parents[2]))
def test_positions_match_libcst(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        module = parse_module(text)
    except Exception:
        pytest.skip("not parseable")
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    found = positions(module)
    assert len(found) == len(expected)
    assert all(found[node] == expected[node] for node in expected)


@pytest.mark.parametrize(
    "text",
    ["", "\n", "x = 1", "x = 1\n", "# only a comment", "if x:\r\n    y = (1 +\r\n  2)\r\n", "def f():\n\tpass\n"],
)
def test_positions_of_edge_texts(text: str) -> None:
    module = parse_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    found = positions(module)
    assert {node: found[node] for node in expected} == dict(expected)
