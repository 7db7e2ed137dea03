"""opslint as a flake8 plugin (entry point ``OPS = "opslint.flake8_plugin:Flake8Plugin"``).

flake8 decides which codes are shown (``--select``/``--extend-select``/
``--ignore``), so the plugin runs every opslint rule and lets flake8 filter.
Rules that are off by default in opslint are added to flake8's default
ignore list (as flake8-bugbear does for its opinionated B9xx codes): they
show only when selected explicitly, e.g. ``--extend-select=OPS901``.

Configuration: flake8 never reads ``pyproject.toml``, so the plugin finds the
``[tool.opslint]`` table that governs each file itself (closest
``pyproject.toml``, as the CLI does) and applies its ``ignore``,
``per-file-ignores`` and rule options; its ``select`` is flake8's business.

Suppression: flake8 applies ``# noqa`` comments (and ``--disable-noqa``) to
what plugins yield, so the plugin does not filter by line ``noqa`` itself;
file-level ``# opslint: noqa`` (which flake8 does not know) is applied here.
"""

from __future__ import annotations

import ast
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Dict, Iterator, List, Optional, Sequence, Tuple, Type, Union

from opslint import catalog
from opslint._version import __version__
from opslint.config import ConfigResolver, Settings
from opslint.discovery import relpath
from opslint.model import Finding
from opslint.syntax.guard import compile_error

# flake8 imports every plugin at start, and runs it on files that hold no rule's
# trigger as often as on others: the rule catalog answers for those, and the engine,
# the rules and LibCST are imported when a file needs them.
if TYPE_CHECKING:
    from opslint.engine import Linter
    from opslint.registry import Registry

#: (line, 0-based column, "CODE message", plugin class)
Result = Tuple[int, int, str, Type[Any]]

_resolvers: Dict[str, ConfigResolver] = {}
_linter: Optional[Linter] = None
#: The rule catalog (None: absent or stale, or a configuration sets rule options).
_catalog: Optional[catalog.Catalog] = catalog.load()
#: The records made from the rules when there is no usable catalog (``_listing``).
_made: Optional[catalog.Catalog] = None


def _rules() -> Union[catalog.Catalog, Registry]:
    """What answers questions about the rules: the catalog while it can."""
    return _catalog if _catalog is not None else _rules_registry()


def _listing() -> catalog.Catalog:
    """The rules as catalog records: the shipped catalog, or one made from the rules (once)."""
    global _made
    if _catalog is not None:
        return _catalog
    if _made is None:
        _made = _rules_registry().catalog()
    return _made


def _resolver() -> ConfigResolver:
    cwd = os.getcwd()
    resolver = _resolvers.get(cwd)
    if resolver is None:
        resolver = _resolvers[cwd] = ConfigResolver(cwd=cwd, catalog=_rules())
    return resolver


def _shared_linter() -> Linter:
    global _linter
    if _linter is None:
        from opslint.engine import Linter

        _linter = Linter()
    return _linter


def all_codes() -> Tuple[str, ...]:
    """Every code a user can select (engine codes are reported, not selected)."""
    return tuple(code for code, entry in _listing().entries.items() if not entry.internal)


def default_off_codes() -> List[str]:
    listing = _listing()
    return sorted(code for code, entry in listing.entries.items() if not entry.internal and not entry.default_enabled)


def _rules_registry() -> Registry:
    from opslint.registry import Registry

    return Registry.default()


def settings_for(filename: str) -> Settings:
    """The file's ``[tool.opslint]`` settings with every rule selected (flake8 filters)."""
    global _catalog
    target = filename if filename not in ("-", "stdin") else "."
    try:
        settings = _resolver().for_path(target)
    except catalog.RulesNeeded:
        # A configuration sets a rule's options: only the rule validates them.
        _catalog = None
        _resolvers.clear()
        settings = _resolver().for_path(target)
    return replace(settings, select=all_codes(), extend_select=())


def flake8_message(f: Finding) -> str:
    text = f"{f.code} {f.message}"
    if f.fix is not None and f.fix.message:
        text += f" (hint: {f.fix.message})"
    return " ".join(text.splitlines())


class Flake8Plugin:
    """A flake8 tree plugin; ``tree`` is accepted (flake8 requires it) but LibCST parses ``lines``."""

    name: ClassVar[str] = "opslint"
    version: ClassVar[str] = __version__

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str = "stdin") -> None:
        self.tree = tree
        self.lines = list(lines)
        self.filename = filename
        # Resolved here: flake8 reports a failing constructor as a plugin
        # failure with the message (e.g. an invalid [tool.opslint] table).
        self.settings = settings_for(filename)

    @classmethod
    def add_options(cls, option_manager: Any) -> None:
        off = default_off_codes()
        if off:
            option_manager.extend_default_ignore(off)

    def run(self) -> Iterator[Result]:
        text = "".join(self.lines)
        if text.startswith("\ufeff"):
            text = text[1:]
        if _catalog is not None and not self.settings.rule_options:
            rules = _catalog.rules_for(self.settings, relpath(self.filename, self.settings.root))
            if _catalog.quiet(rules, text) and compile_error(text, self.filename) is None:
                return  # what the engine finds in a file it need not parse: nothing
        result = _shared_linter().lint_text(text, self.filename, self.settings, line_noqa=False)
        for f in sorted(result.findings, key=Finding.sort_key):
            yield f.span.line, max(f.span.column - 1, 0), flake8_message(f), type(self)
