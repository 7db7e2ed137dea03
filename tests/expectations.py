"""Fixture cases: files with inline ``# expect: CODE [applicability]`` markers.

A case is a ``.py`` file under ``fixtures/<CODE>/`` (golden fix output beside
it as ``<name>.fixed.py``) or a folder holding a ``pyproject.toml`` (a small
project linted as a whole; markers may sit in any of its files).  A file
without markers must produce no finding for its folder's code.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Set, Tuple

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")

_EXPECT = re.compile(r"#\s*expect(?P<next>-next)?:\s*(?P<body>[^#]*)")
_ITEM = re.compile(r"(?P<code>OPS\d{3})(?:\s+(?P<app>safe|unsafe|suggestion))?")

#: (relative path, line, code, applicability or "")
Expectation = Tuple[str, int, str, str]


def markers(text: str, relpath: str) -> Set[Expectation]:
    found: Set[Expectation] = set()
    for number, line in enumerate(text.splitlines(), 1):
        match = _EXPECT.search(line)
        if match is None:
            continue
        target = number + 1 if match.group("next") else number
        for item in _ITEM.finditer(match.group("body")):
            found.add((relpath, target, item.group("code"), item.group("app") or ""))
    return found


@dataclass(frozen=True)
class Case:
    id: str
    code: str
    #: The file (single-file case) or the project folder.
    path: str
    is_project: bool

    @property
    def golden_path(self) -> Optional[str]:
        if self.is_project:
            return None
        return self.path[: -len(".py")] + ".fixed.py"

    @property
    def has_golden(self) -> bool:
        golden = self.golden_path
        return golden is not None and os.path.exists(golden)

    def files(self) -> List[str]:
        if not self.is_project:
            return [self.path]
        out = []
        for directory, dirs, names in os.walk(self.path):
            dirs.sort()
            out.extend(os.path.join(directory, n) for n in sorted(names) if n.endswith((".py", ".pyi")))
        return out

    def expected(self) -> FrozenSet[Expectation]:
        out: Set[Expectation] = set()
        base = self.path if self.is_project else os.path.dirname(self.path)
        for file in self.files():
            with open(file, encoding="utf-8") as handle:
                out |= markers(handle.read(), os.path.relpath(file, base).replace(os.sep, "/"))
        return frozenset(e for e in out if e[2] == self.code)


def discover(root: str = FIXTURES) -> List[Case]:
    cases: List[Case] = []
    for code in sorted(os.listdir(root)):
        folder = os.path.join(root, code)
        if not re.fullmatch(r"OPS\d{3}", code) or not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            full = os.path.join(folder, name)
            if os.path.isdir(full) and os.path.exists(os.path.join(full, "pyproject.toml")):
                cases.append(Case(f"{code}/{name}", code, full, True))
            elif name.endswith(".py") and not name.endswith(".fixed.py"):
                cases.append(Case(f"{code}/{name[:-3]}", code, full, False))
    return cases
