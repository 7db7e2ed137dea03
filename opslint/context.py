"""What a rule may look at for one file."""

from __future__ import annotations

import fnmatch
import os
from typing import Any, Dict, List, Mapping, Optional, Type, TypeVar

import libcst as cst
from libcst.metadata import CodeRange

from opslint.analysis.base import Analyses, Analysis
from opslint.config import Settings
from opslint.edits import PendingFinding
from opslint.project import ProjectIndex
from opslint.source import LineIndex
from opslint.syntax.names import ImportTable
from opslint.syntax.positions import positions as node_positions

_A = TypeVar("_A", bound=Analysis)

_TEST_FILE_PATTERNS = ("test_*.py", "*_test.py", "tests.py", "conftest.py", "test_*.pyi")
_TEST_DIRS = ("tests", "test", "testing")


def is_test_path(path: str) -> bool:
    """Test modules by the usual conventions (pytest, unittest, Django)."""
    name = os.path.basename(path)
    if any(fnmatch.fnmatch(name, pat) for pat in _TEST_FILE_PATTERNS):
        return True
    parts = os.path.normpath(path).split(os.sep)[:-1]
    return any(part in _TEST_DIRS for part in parts)


class FileContext:
    """Per-file facts computed once by the engine and shared by every rule."""

    def __init__(
        self,
        *,
        path: str,
        display_path: str,
        text: str,
        module: cst.Module,
        settings: Settings,
        module_name: Optional[str] = None,
        package: Optional[str] = None,
        project: Optional[ProjectIndex] = None,
    ) -> None:
        self.path = path
        self.display_path = display_path
        self.text = text
        self.module = module
        self.settings = settings
        self.module_name = module_name
        self.lines = LineIndex(text)
        self.imports = ImportTable(package)
        self.imports.add_top_level(module.body)
        #: The declared analyses of this file (``analysis()``), each computed once.
        self.analyses = Analyses(self)
        #: The traversal's ancestor stack (module ... current node).
        self.stack: List[cst.CSTNode] = []
        self.pending: List[PendingFinding] = []
        self._positions: Optional[Mapping[cst.CSTNode, CodeRange]] = None
        #: Scratch shared between rules of one family, keyed by the family module.
        self.shared: Dict[str, Any] = {}
        #: The whole-project index, when an enabled rule ``needs_project``.
        self.project = project

    @property
    def is_test_file(self) -> bool:
        return is_test_path(self.display_path)

    def display_of(self, path: str) -> str:
        """Another file's path shown like this file's (relative to the same base), for
        related locations in other files of the project."""
        own_display = self.display_path
        if os.path.isabs(own_display):
            return os.path.abspath(path).replace(os.sep, "/")
        base = os.path.abspath(self.path)
        for _ in range(own_display.count("/") + 1):
            base = os.path.dirname(base)
        rel = os.path.relpath(os.path.abspath(path), base)
        if rel.startswith(".."):
            return os.path.abspath(path).replace(os.sep, "/")
        return rel.replace(os.sep, "/")

    def analysis(self, kind: Type[_A]) -> _A:
        """The file's ``kind`` analysis (declare it in the rule's ``requires``)."""
        return self.analyses.get(kind)

    def positions(self) -> Mapping[cst.CSTNode, CodeRange]:
        """Node positions, computed on first use (one code generation: only where needed)."""
        if self._positions is None:
            self._positions = node_positions(self.module)
        return self._positions
