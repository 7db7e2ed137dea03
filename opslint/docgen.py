"""What is generated from the rule classes: the rule pages in ``docs/rules/`` (docs are
code) and the rule catalog ``rules/catalog.json`` (``opslint.catalog``).

``python -m opslint.docgen`` (re)writes ``docs/rules/<CODE>.md`` for every rule
and the index ``docs/rules/README.md``, deletes pages of rules that no longer
exist, and rewrites the catalog when it is stale; ``--check`` only compares and
exits 1 when a page or the catalog is missing, stale or left over.  Every finding's ``url`` (JSON, SARIF ``helpUri``, LSP
``codeDescription.href``) points at these pages (``opslint.urls.rule_url``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from opslint import catalog
from opslint.docs import rule_markdown
from opslint.registry import Registry
from opslint.rule import summary
from opslint.urls import DOCS_PATH

COMMAND = "python -m opslint.docgen"
INDEX = "README.md"
_BANNER = f"<!-- Generated from the rule's docstring by `{COMMAND}`: edit the rule, not this file. -->\n\n"


def pages(registry: Optional[Registry] = None) -> Dict[str, str]:
    """File name (in ``docs/rules/``) -> content, for every rule and the index."""
    registry = registry or Registry.default()
    out = {f"{rule.code}.md": _BANNER + rule_markdown(rule) for rule in registry.rules()}
    out[INDEX] = _index(registry)
    return out


def _index(registry: Registry) -> str:
    lines = [
        _BANNER.replace("the rule's docstring", "the rules' docstrings").rstrip("\n"),
        "",
        "# opslint rules",
        "",
        "One page per rule, generated from its docstring; `opslint rule CODE` prints the same text.",
        "Engine codes (OPS0xx) report problems with a file rather than with code.",
        "",
        "| code | name | what it flags | fix | default |",
        "|---|---|---|---|---|",
    ]
    for rule in registry.rules():
        fix = {"always": "yes", "sometimes": "sometimes", "none": "suggestion only"}.get(rule.fix_availability, "")
        if rule.internal and rule.fix_availability == "none":
            fix = "-"
        default = "on" if rule.default_enabled else "off"
        lines.append(f"| [{rule.code}]({rule.code}.md) | `{rule.name}` | {summary(rule)} | {fix} | {default} |")
    return "\n".join(lines) + "\n"


def stale(directory: str, registry: Optional[Registry] = None) -> List[str]:
    """What differs between ``directory`` and the generated pages: one line per file."""
    expected = pages(registry)
    problems = []
    for name, text in sorted(expected.items()):
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                current = handle.read()
        except OSError:
            problems.append(f"missing: {path}")
            continue
        if current != text:
            problems.append(f"stale: {path}")
    for name in sorted(_existing(directory)):
        if name not in expected:
            problems.append(f"no such rule: {os.path.join(directory, name)}")
    return problems


def write(directory: str, registry: Optional[Registry] = None) -> List[str]:
    """Write the pages; returns the files written or deleted."""
    expected = pages(registry)
    os.makedirs(directory, exist_ok=True)
    changed = []
    for problem in stale(directory, registry):
        kind, _, path = problem.partition(": ")
        name = os.path.basename(path)
        if kind == "no such rule":
            os.remove(path)
        else:
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(expected[name])
        changed.append(path)
    return changed


# -- the rule catalog ------------------------------------------------------------------


def catalog_text(registry: Registry, folder: str) -> str:
    """The catalog file's text for ``registry`` (the shipped rules), whose sources are in ``folder``."""
    rules: List[Dict[str, Any]] = [
        {
            "code": e.code,
            "name": e.name,
            "internal": e.internal,
            "default_enabled": e.default_enabled,
            "tokens": list(e.tokens),
            "needs_project": e.needs_project,
            "project_paths": list(e.project_paths),
        }
        for e in registry.catalog().entries.values()
    ]
    data = {"format": catalog.FORMAT, "generated_by": COMMAND, "digest": catalog.sources_digest(folder), "rules": rules}
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def _catalog_state(registry: Optional[Registry]) -> Tuple[Optional[str], str, str]:
    """(why the catalog is not what the rules generate, or None; its path; the text the
    rules generate), computing that text once."""
    folder = catalog.source_folder()
    if folder is None:
        return "opslint.rules not found", "", ""
    path = os.path.join(folder, catalog.FILE)
    expected = catalog_text(registry or Registry.default(), folder)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            current = handle.read()
    except OSError:
        return f"missing: {path}", path, expected
    return (None if current == expected else f"stale: {path}"), path, expected


def catalog_problem(registry: Optional[Registry] = None) -> Optional[str]:
    """Why ``rules/catalog.json`` is not what the rules generate (None when it is)."""
    return _catalog_state(registry)[0]


def write_catalog(registry: Optional[Registry] = None) -> Optional[str]:
    """Rewrite the catalog when it is stale; returns its path then."""
    problem, path, expected = _catalog_state(registry)
    if problem is None or not path:
        return None
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(expected)
    return path


def _existing(directory: str) -> List[str]:
    try:
        return [n for n in os.listdir(directory) if n.endswith(".md")]
    except OSError:
        return []


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("directory", nargs="?", default=DOCS_PATH, help=f"default: {DOCS_PATH}")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a page is missing or stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.directory)
        problem = catalog_problem()
        if problem is not None:
            problems.append(problem)
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            print(f"rule pages or catalog out of date: run `{COMMAND}`", file=sys.stderr)
        return 1 if problems else 0
    for path in write(args.directory):
        print(f"wrote {path}", file=sys.stderr)
    written = write_catalog()
    if written is not None:
        print(f"wrote {written}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover - python -m opslint.docgen
    sys.exit(main())
