"""CI-facing formats: ``github``, ``gitlab``, ``pylint``, ``junit`` and ``lsp``.

Each renderer is a pure function of the findings (plus, for relativising
paths, the environment variables CI systems set: ``GITHUB_WORKSPACE`` and
``CI_PROJECT_DIR``).  Paths in findings are display paths: relative to the
working directory when the file is under it, absolute otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple
from xml.etree import ElementTree as ET

from opslint import report
from opslint.model import Finding, Severity, Span
from opslint.urls import rule_url

# -- shared helpers --------------------------------------------------------------


def is_error(f: Finding) -> bool:
    """Engine problems (OPS0xx: unparsable, unreadable, crashed) are errors; rules warn."""
    return f.code in ENGINE_ERRORS or f.severity is Severity.ERROR


#: The engine's codes for problems with a file (OPS005, an unused noqa, only warns).
ENGINE_ERRORS = frozenset({"OPS001", "OPS002", "OPS003", "OPS004"})


def relative_to(path: str, base: Optional[str], cwd: Optional[str] = None) -> str:
    """``path`` relative to ``base`` (POSIX, no ``./``) when it lies under it; else unchanged.

    A relative ``path`` is taken relative to ``cwd`` (default: the process's).
    """
    if not base:
        return path.replace(os.sep, "/")
    absolute = os.path.normpath(os.path.join(cwd or os.getcwd(), path))
    root = os.path.normpath(os.path.abspath(base))
    try:
        rel = os.path.relpath(absolute, root)
    except ValueError:  # pragma: no cover - another drive on Windows
        return path.replace(os.sep, "/")
    if rel == os.curdir or rel.startswith(os.pardir + os.sep) or rel == os.pardir:
        return path.replace(os.sep, "/")
    return rel.replace(os.sep, "/")


def _env(kwargs: Mapping[str, Any], name: str) -> Optional[str]:
    env = kwargs.get("env")
    if isinstance(env, Mapping):
        value = env.get(name)
    else:
        value = os.environ.get(name)
    return str(value) if value else None


# -- GitHub Actions workflow commands ---------------------------------------------


def escape_data(text: str) -> str:
    """Escape a workflow-command message (as ``@actions/core`` does)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow-command property value: the message escapes plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: Sequence[Finding], **kwargs: Any) -> str:
    """``::warning title=opslint (OPS502),file=src/a.py,line=5,...::src/a.py:5:12: OPS502 ...``.

    ``file`` is relative to ``GITHUB_WORKSPACE`` when set (annotations with
    absolute paths do not show on pull-request diffs).
    """
    workspace = _env(kwargs, "GITHUB_WORKSPACE")
    cwd = kwargs.get("cwd")
    out: List[str] = []
    for f in findings:
        path = relative_to(f.path, workspace, cwd if isinstance(cwd, str) else None)
        level = "error" if is_error(f) else "warning"
        props = [
            ("title", f"opslint ({f.code})"),
            ("file", path),
            ("line", str(f.span.line)),
            ("col", str(f.span.column)),
            ("endLine", str(f.span.end_line)),
            ("endColumn", str(f.span.end_column)),
        ]
        head = ",".join(f"{key}={escape_property(value)}" for key, value in props)
        body = f"{path}:{f.span.line}:{f.span.column}: {f.code} {f.message}"
        out.append(f"::{level} {head}::{escape_data(body)}\n")
    return "".join(out)


# -- GitLab Code Quality ------------------------------------------------------------

_GITLAB_SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


class Sources:
    """File texts by display path: the ones given, else read lazily (relative to ``cwd``)."""

    def __init__(self, given: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None) -> None:
        self.cwd = cwd
        self.texts: Dict[str, Optional[str]] = dict(given or {})

    def text(self, path: str) -> Optional[str]:
        if path not in self.texts:
            self.texts[path] = _read(os.path.join(self.cwd or os.getcwd(), path))
        return self.texts[path]

    def line(self, path: str, number: int) -> Optional[str]:
        text = self.text(path)
        if text is None:
            return None
        lines = text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else None


def stable_fingerprints(findings: Sequence[Finding], paths: Sequence[str], sources: Sources) -> List[str]:
    """One fingerprint per finding, stable when code moves and wherever the tool runs from.

    Hashes the code, the (project-relative) path, the normalised text of the
    reported line and its occurrence among identical (code, path, line)
    triples, but never the line number.  When the text cannot be read, the
    message stands in for the line.
    """
    seen: Counter[Tuple[str, str, str]] = Counter()
    out: List[str] = []
    for f, path in zip(findings, paths):
        line = sources.line(f.path, f.span.line)
        content = " ".join(line.split()) if line is not None else f"message:{f.message}"
        key = (f.code, path, content)
        occurrence = seen[key]
        seen[key] += 1
        raw = "\0".join(("opslint", f.code, path, content, str(occurrence)))
        out.append(hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32])
    return out


def gitlab_issues(
    findings: Sequence[Finding], *, sources: Optional[Mapping[str, str]] = None, **kwargs: Any
) -> List[Dict[str, Any]]:
    project = _env(kwargs, "CI_PROJECT_DIR")
    cwd = kwargs.get("cwd") if isinstance(kwargs.get("cwd"), str) else None
    paths = [relative_to(f.path, project, cwd) for f in findings]
    fingerprints = stable_fingerprints(findings, paths, Sources(sources, cwd))
    seen: Set[str] = set()
    out: List[Dict[str, Any]] = []
    for f, path, fp in zip(findings, paths, fingerprints):
        salt = 0
        unique = fp
        while unique in seen:  # keep duplicates unique without involving line numbers
            salt += 1
            unique = hashlib.sha256(f"{fp}\0{salt}".encode()).hexdigest()[:32]
        seen.add(unique)
        out.append(
            {
                "description": f"{f.code}: {f.message}",
                "check_name": f.code,
                "fingerprint": unique,
                "severity": "major" if is_error(f) else _GITLAB_SEVERITY[f.severity],
                "location": {
                    "path": path,
                    "positions": {
                        "begin": {"line": f.span.line, "column": f.span.column},
                        "end": {"line": f.span.end_line, "column": f.span.end_column},
                    },
                },
            }
        )
    return out


def render_gitlab(findings: Sequence[Finding], **kwargs: Any) -> str:
    """A GitLab Code Quality report (``artifacts: reports: codequality:``)."""
    return json.dumps(gitlab_issues(findings, **kwargs), indent=2, ensure_ascii=False) + "\n"


# -- pylint -----------------------------------------------------------------------------


def render_pylint(findings: Sequence[Finding], **_: Any) -> str:
    """``path:row: [CODE] message`` (what pylint-aware tools parse)."""
    return "".join(f"{f.path}:{f.span.line}: [{f.code}] {f.message}\n" for f in findings)


# -- JUnit XML ----------------------------------------------------------------------------


def render_junit(findings: Sequence[Finding], **_: Any) -> str:
    """One ``testsuite`` per file, one failing ``testcase`` per finding (as ruff)."""
    suites = ET.Element(
        "testsuites", name="opslint", tests=str(max(len(findings), 1)), failures=str(len(findings)), errors="0"
    )
    if not findings:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name="opslint",
            tests="1",
            disabled="0",
            errors="0",
            failures="0",
            package="org.opslint",
        )
        ET.SubElement(suite, "testcase", name="No errors found")
    by_path: Dict[str, List[Finding]] = {}
    for f in findings:
        by_path.setdefault(f.path, []).append(f)
    for path, items in by_path.items():
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=path,
            tests=str(len(items)),
            disabled="0",
            errors="0",
            failures=str(len(items)),
            package="org.opslint",
        )
        for f in items:
            case = ET.SubElement(
                suite,
                "testcase",
                name=f"org.opslint.{f.code}",
                classname=_classname(path),
                line=str(f.span.line),
                column=str(f.span.column),
            )
            failure = ET.SubElement(case, "failure", message=f.message, type=f.code)
            failure.text = f"line {f.span.line}, col {f.span.column}, {f.code} {f.message}"
    ET.indent(suites, space="  ")
    body = ET.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _classname(path: str) -> str:
    stem = path[:-3] if path.endswith(".py") else path
    return stem.replace("/", ".").lstrip(".")


# -- LSP-shaped diagnostics ---------------------------------------------------------------


class PositionMap:
    """Code-point columns (LibCST, ``Span``) to UTF-16 (or other) LSP columns, 0-based."""

    def __init__(self, text: Optional[str], encoding: str = "utf-16") -> None:
        self.lines = text.splitlines() if text is not None else []
        self.encoding = encoding

    def character(self, line: int, column: int) -> int:
        """0-based LSP character of a 1-based line and 1-based code-point column."""
        index = column - 1
        if self.encoding == "utf-32" or not 0 < line <= len(self.lines):
            return index
        prefix = self.lines[line - 1][:index]
        if self.encoding == "utf-8":
            return len(prefix.encode("utf-8", "surrogatepass"))
        return len(prefix.encode("utf-16-le", "surrogatepass")) // 2 + max(0, index - len(prefix))

    def range(self, span: Span) -> Dict[str, Dict[str, int]]:
        return {
            "start": {"line": span.line - 1, "character": self.character(span.line, span.column)},
            "end": {"line": span.end_line - 1, "character": self.character(span.end_line, span.end_column)},
        }


def file_uri(path: str, cwd: Optional[str] = None) -> str:
    return Path(os.path.join(cwd or os.getcwd(), path)).resolve().as_uri()


def lsp_diagnostic(
    f: Finding,
    positions: PositionMap,
    *,
    related_positions: Optional[Mapping[str, PositionMap]] = None,
    cwd: Optional[str] = None,
) -> Dict[str, Any]:
    """One finding as an LSP ``Diagnostic`` (JSON shape, 0-based positions).

    ``data`` carries the fix (title, applicability, edits as LSP ranges) so a
    client or a code-action handler does not need to re-lint.
    """
    diagnostic: Dict[str, Any] = {
        "range": positions.range(f.span),
        "severity": 1 if is_error(f) else 2,
        "code": f.code,
        "codeDescription": {"href": rule_url(f.code)},
        "source": "opslint",
        "message": f.message,
    }
    if f.related:
        infos = []
        for related in f.related:
            rel_positions = (related_positions or {}).get(related.path) or (
                positions if related.path == f.path else PositionMap(None)
            )
            infos.append(
                {
                    "location": {"uri": file_uri(related.path, cwd), "range": rel_positions.range(related.span)},
                    "message": related.message,
                }
            )
        diagnostic["relatedInformation"] = infos
    data: Dict[str, Any] = {
        "name": f.name,
        "fingerprint": f.fingerprint,
        # 0-based line a noqa comment must sit on (the closing line of a multi-line string).
        "noqa_line": (f.noqa_lines[-1] if f.noqa_lines else f.span.line) - 1,
    }
    if f.fix is not None:
        data["fix"] = {
            "title": f.fix.message,
            "applicability": f.fix.applicability.value,
            "edits": [{"range": positions.range(e.span), "newText": e.content} for e in f.fix.edits],
        }
    diagnostic["data"] = data
    return diagnostic


def render_lsp(findings: Sequence[Finding], *, sources: Optional[Mapping[str, str]] = None, **kwargs: Any) -> str:
    """A JSON array of ``{"uri", "diagnostics"}`` (``PublishDiagnosticsParams`` shapes).

    Positions are 0-based; characters count UTF-16 code units (the LSP default)
    when the file's text is available, which it is read for when not given.
    """
    cwd = kwargs.get("cwd") if isinstance(kwargs.get("cwd"), str) else None
    encoding = str(kwargs.get("position_encoding", "utf-16"))
    texts = Sources(sources, cwd)
    maps: Dict[str, PositionMap] = {}

    def positions_for(path: str) -> PositionMap:
        if path not in maps:
            maps[path] = PositionMap(texts.text(path), encoding)
        return maps[path]

    grouped: Dict[str, List[Dict[str, Any]]] = {}
    for f in findings:
        related = {r.path: positions_for(r.path) for r in f.related}
        diagnostic = lsp_diagnostic(f, positions_for(f.path), related_positions=related, cwd=cwd)
        grouped.setdefault(file_uri(f.path, cwd), []).append(diagnostic)
    data = [{"uri": uri, "diagnostics": items} for uri, items in grouped.items()]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _read(path: str) -> Optional[str]:
    from opslint import source

    try:
        return source.read(path).text
    except (source.SourceError, OSError):
        return None


report.register("github", render_github)
report.register("gitlab", render_gitlab)
report.register("pylint", render_pylint)
report.register("junit", render_junit)
report.register("lsp", render_lsp)
