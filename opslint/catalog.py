"""What a run knows of the shipped rules without importing them: ``rules/catalog.json``.

Importing LibCST and the rules costs a third of a second, more than flake8 spends on a
whole file.  A pre-commit run on a file that holds none of the enabled rules' trigger
tokens (a settings or data module), or whose findings are in the cache, needs none of
it: the rules' codes, names, defaults and tokens answer every question such a run asks
(which selectors exist, which rules a ``Settings`` enables, whether a file could match).
The catalog is that data, one record per rule, generated from the rule classes by
``python -m opslint.catalog`` and checked by a test.

It also records a digest of the rules' sources.  A run whose rules are not the ones the
catalog was made from (a rule edited in a checkout, the catalog not regenerated) gets
no catalog (``load`` returns None) and imports the rules: a stale catalog can slow a
run down, never change its findings.

Selection (which codes a ``Settings`` enables) lives here, as functions of plain
records, so that ``registry.Registry`` and ``Catalog`` answer it with the same code.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Protocol, Sequence, Tuple, TypeVar

from opslint.codebase import rules_folder
from opslint.config import Settings

#: The catalog's file name, in the rules package.
FILE = "catalog.json"
#: Bumped when the record's shape changes (an old file is then ignored).
FORMAT = 2


@dataclass(frozen=True)
class RuleEntry:
    """What selection and the prefilter need of one rule."""

    code: str
    name: str
    internal: bool
    default_enabled: bool
    #: The rule's tokens and those its default options add (``Rule.option_tokens``);
    #: empty: the rule runs on every file.
    tokens: Tuple[str, ...]
    needs_project: bool
    #: ``Rule.project_paths``: the files a cross-file rule needs the index for (empty: all).
    project_paths: Tuple[str, ...] = ()


class RulesNeeded(Exception):
    """A question only the rule classes answer (a rule's Options, to validate a
    configured ``[tool.opslint.rules.CODE]`` table): the caller imports the rules."""


# -- selection, shared with registry.Registry -------------------------------------


def matches(code: str, selector: str) -> bool:
    return selector == "ALL" or code.startswith(selector)


def selected(code: str, default_enabled: bool, selectors: Sequence[str]) -> bool:
    for sel in selectors:
        if sel == code:
            return True
        # Prefixes and ALL do not switch on rules that are off by default:
        # those must be named (as ruff does with preview rules).
        if default_enabled and matches(code, sel):
            return True
    return False


def enabled_codes(rules: Iterable[Tuple[str, bool, bool]], settings: Settings) -> FrozenSet[str]:
    """Codes ``settings`` switches on (before per-file-ignores), of ``rules`` given as
    ``(code, internal, default_enabled)``."""
    codes = set()
    for code, internal, default_enabled in rules:
        if internal:
            continue
        chosen = default_enabled if settings.select is None else selected(code, default_enabled, settings.select)
        if not chosen:
            chosen = selected(code, default_enabled, settings.extend_select)
        if chosen and not any(matches(code, sel) for sel in settings.ignore):
            codes.add(code)
    return frozenset(codes)


def settings_fingerprint(settings: Settings, codes: FrozenSet[str]) -> str:
    """Everything in ``settings`` that can change a finding, as text (for cache keys)."""
    return repr(settings) + repr(sorted(codes))


#: A file takes part in another module's facts only through what it imports or defines:
#: ``import`` (also ``__import__``, ``importlib``), a ``def`` or a ``class``.
BINDS = re.compile(r"import|\bdef\b|\bclass\b")


class Selectable(Protocol):
    """What the prefilter reads of a rule: a rule class, or a catalog ``RuleEntry``."""

    @property
    def tokens(self) -> Tuple[str, ...]: ...

    @property
    def needs_project(self) -> bool: ...

    @property
    def project_paths(self) -> Tuple[str, ...]: ...


S = TypeVar("S", bound=Selectable)


def matching(rules: Sequence[S], text: str, extra: Callable[[S], Sequence[str]] = lambda rule: ()) -> List[S]:
    """The rules that could match ``text``: one of their tokens (or of ``extra``'s, the
    tokens a rule's options add) occurs in it; a rule without tokens always could."""
    return [
        rule
        for rule in rules
        if not rule.tokens or any(tok in text for tok in rule.tokens) or any(tok in text for tok in extra(rule))
    ]


def index_candidates(candidates: Sequence[S], matched: Sequence[S], text: str, path: str = "") -> List[S]:
    """The cross-file rules that may run on ``text``: those its tokens select (``matched``),
    and, when the file imports or defines anything, every cross-file candidate
    (``Rule.project_relevant`` may select it).

    A file with neither (a data module, an empty ``__init__.py``) cannot be relevant to
    a project analysis: ``Rule.project_relevant`` holds only for files that import
    another module or define a function or class. So no project index is built (or
    loaded) to lint it: the cost of a one-file run on such a file is the file's.
    A rule with ``project_paths`` is a candidate only for a ``path`` they match.
    """
    chosen = candidates if BINDS.search(text) else matched
    return [r for r in chosen if r.needs_project and wants_project(r, path)]


def wants_project(rule: Selectable, path: str) -> bool:
    """Whether a cross-file rule asks the project about ``path`` (``Rule.project_paths``)."""
    if not rule.project_paths:
        return True
    shown = path.replace(os.sep, "/")
    return any(fnmatch.fnmatchcase(shown, pattern) for pattern in rule.project_paths)


# -- the catalog ---------------------------------------------------------------------


class Catalog:
    """The shipped rules as data (serves ``config.Catalog`` for the selectors)."""

    def __init__(self, entries: Iterable[RuleEntry]) -> None:
        self.entries: Dict[str, RuleEntry] = {e.code: e for e in sorted(entries, key=lambda e: e.code)}

    # config.Catalog
    def has_selector(self, selector: str) -> bool:
        return selector == "ALL" or any(code.startswith(selector) for code in self.entries)

    def options_type(self, code: str) -> Optional[type]:
        if code not in self.entries:
            return None
        raise RulesNeeded(code)

    def enabled_codes(self, settings: Settings) -> FrozenSet[str]:
        codes: FrozenSet[str] = settings.remember(
            ("enabled", self),
            lambda: enabled_codes(((e.code, e.internal, e.default_enabled) for e in self.entries.values()), settings),
        )
        return codes

    def fingerprint(self, settings: Settings) -> str:
        """The same text as ``Registry.fingerprint`` for the same rules."""
        return settings_fingerprint(settings, self.enabled_codes(settings))

    def rules_for(self, settings: Settings, relpath: str) -> List[RuleEntry]:
        """The enabled rules minus those the per-file-ignores switch off for ``relpath``."""
        ignored = settings.ignored_for(relpath)
        enabled = self.enabled_codes(settings)
        return [e for c, e in self.entries.items() if c in enabled and not any(matches(c, s) for s in ignored)]

    def quiet(self, rules: Sequence[RuleEntry], text: str, path: str = "") -> bool:
        """Whether linting ``text`` with ``rules`` parses nothing and builds no project
        index: no rule's token occurs, and no cross-file rule may find the file relevant
        (the test of ``engine.Linter.lint_text``, for rules with default options)."""
        return not matching(rules, text) and not index_candidates(rules, (), text, path)


# -- the file -----------------------------------------------------------------------


def sources_digest(folder: str) -> str:
    """A digest of the rules' sources: every ``.py`` of the rules folder (by name and
    content) and the engine's own codes (``opslint/builtin.py``)."""
    hasher = hashlib.sha256()
    files = sorted(n for n in os.listdir(folder) if n.endswith(".py"))
    named = [(n, os.path.join(folder, n)) for n in files]
    named.append(("<builtin>", os.path.join(os.path.dirname(os.path.abspath(__file__)), "builtin.py")))
    for name, path in named:
        with open(path, "rb") as handle:
            hasher.update(name.encode("utf-8", "surrogatepass") + b"\0" + handle.read() + b"\0")
    return hasher.hexdigest()


def source_folder() -> Optional[str]:
    """The folder the rules' sources are in: ``rules_folder()``, or where its files
    link to (an editable install's link tree), so that the catalog is read from and
    written to the checkout, never to a tree the next install replaces."""
    folder = rules_folder()
    if folder is None:
        return None
    return os.path.dirname(os.path.realpath(os.path.join(folder, "__init__.py")))


def load() -> Optional[Catalog]:
    """The catalog, when it is there and describes the rules installed; else None."""
    folder = source_folder()
    if folder is None:
        return None
    try:
        with open(os.path.join(folder, FILE), encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("format") != FORMAT or data.get("digest") != sources_digest(folder):
            return None
        return Catalog(
            RuleEntry(
                code=str(r["code"]),
                name=str(r["name"]),
                internal=bool(r["internal"]),
                default_enabled=bool(r["default_enabled"]),
                tokens=tuple(str(t) for t in r["tokens"]),
                needs_project=bool(r["needs_project"]),
                project_paths=tuple(str(p) for p in r["project_paths"]),
            )
            for r in data["rules"]
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


__all__ = ["BINDS", "Catalog", "RuleEntry", "RulesNeeded", "enabled_codes", "load", "rules_folder"]
