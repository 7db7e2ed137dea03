"""``sarif``: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

Follows what GitHub ingests (see CONVENTIONS §4.2): rules that fired with
short/full descriptions, ``help.text`` + ``help.markdown`` (the rule page) and
``helpUri``; results with ``ruleId``/``ruleIndex``, a relative
``artifactLocation`` with ``uriBaseId``, a full region and
``partialFingerprints.primaryLocationLineHash``; related locations and fixes;
``codeFlows`` for rules whose related locations are the steps of a path (OPS101).
Columns are Unicode code points (``run.columnKind``), as opslint counts them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence
from urllib.parse import quote

from opslint import report
from opslint._version import __version__
from opslint.model import Finding, RuleDoc, Severity, Span
from opslint.report.ci import Sources, is_error, relative_to, stable_fingerprints
from opslint.urls import HOMEPAGE, rule_url

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
_MAX_DESCRIPTION = 1024

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_PROBLEM_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "recommendation"}


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DESCRIPTION else text[: _MAX_DESCRIPTION - 1].rstrip() + "…"


def _region(span: Span) -> Dict[str, int]:
    return {
        "startLine": span.line,
        "startColumn": span.column,
        "endLine": span.end_line,
        "endColumn": span.end_column,
    }


def _dir_uri(directory: str) -> str:
    uri = Path(directory).resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


class _Locator:
    """Turns display paths into artifact locations relative to ``%SRCROOT%``."""

    def __init__(self, base: str, cwd: str) -> None:
        self.base = base
        self.cwd = cwd

    def artifact(self, path: str) -> Dict[str, str]:
        rel = relative_to(path, self.base, self.cwd)
        if os.path.isabs(rel):
            return {"uri": Path(rel).as_uri()}
        return {"uri": quote(rel), "uriBaseId": SRCROOT}


def rule_descriptor(rule: RuleDoc) -> Dict[str, Any]:
    """A SARIF ``reportingDescriptor`` for a rule."""
    page, url, severity = rule.markdown, rule.url, rule.severity
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": _clip(rule.summary or rule.name)},
        "fullDescription": {"text": _clip(rule.what)},
        "helpUri": url,
        "help": {"text": page, "markdown": f"{page}\n[Rule documentation]({url})\n"},
        "defaultConfiguration": {"enabled": rule.default_enabled, "level": _LEVEL[severity]},
        "properties": {
            "tags": ["opslint", "reliability", "operations"],
            "precision": "high",
            "problem.severity": _PROBLEM_SEVERITY[severity],
            "fix_availability": rule.fix_availability,
        },
    }


def sarif_log(
    findings: Sequence[Finding], *, sources: Optional[Mapping[str, str]] = None, **kwargs: Any
) -> Dict[str, Any]:
    """The SARIF log as a dict (``render_sarif`` serialises it)."""
    cwd_arg = kwargs.get("cwd")
    cwd = os.path.abspath(cwd_arg if isinstance(cwd_arg, str) else os.getcwd())
    env = kwargs.get("env")
    environ: Mapping[str, str] = env if isinstance(env, Mapping) else os.environ
    base = os.path.abspath(environ.get("GITHUB_WORKSPACE") or cwd)
    locator = _Locator(base, cwd)
    catalog = kwargs.get("rules")
    registry: Mapping[str, RuleDoc] = catalog if isinstance(catalog, Mapping) else {}

    fired = sorted({f.code for f in findings})
    index = {code: i for i, code in enumerate(fired)}
    rules = [rule_descriptor(registry[code]) if code in registry else _unknown_rule(code) for code in fired]

    paths = [relative_to(f.path, base, cwd) for f in findings]
    hashes = stable_fingerprints(findings, paths, Sources(sources, cwd))
    results = []
    for f, fp in zip(findings, hashes):
        result = _result(f, index[f.code], locator, fp)
        doc = registry.get(f.code)
        if doc is not None and doc.related_is_path and f.related:
            result["codeFlows"] = [code_flow(f, locator)]
        results.append(result)

    run: Dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "opslint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": HOMEPAGE,
                "rules": rules,
            }
        },
        "invocations": [{"executionSuccessful": True, "workingDirectory": {"uri": _dir_uri(cwd)}}],
        "originalUriBaseIds": {SRCROOT: {"uri": _dir_uri(base)}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _unknown_rule(code: str) -> Dict[str, Any]:
    return {"id": code, "shortDescription": {"text": code}, "helpUri": rule_url(code)}


def code_flow(f: Finding, locator: _Locator) -> Dict[str, Any]:
    """The finding's path as one thread flow: its own location and its related ones
    (in source order when they are all in its file, else the finding first)."""
    steps = [(f.path, f.span, f.message)] + [(r.path, r.span, r.message) for r in f.related]
    if all(path == f.path for path, _, _ in steps):
        steps.sort(key=lambda step: (step[1].line, step[1].column))
    locations = [
        {
            "location": {
                "physicalLocation": {"artifactLocation": locator.artifact(path), "region": _region(span)},
                "message": {"text": message},
            },
            "executionOrder": order,
        }
        for order, (path, span, message) in enumerate(steps, 1)
    ]
    return {"message": {"text": f.message}, "threadFlows": [{"locations": locations}]}


def _result(f: Finding, rule_index: int, locator: _Locator, line_hash: str) -> Dict[str, Any]:
    artifact = locator.artifact(f.path)
    result: Dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": rule_index,
        "level": "error" if is_error(f) else _LEVEL[f.severity],
        "message": {"text": f.message},
        "locations": [{"physicalLocation": {"artifactLocation": artifact, "region": _region(f.span)}}],
    }
    result["partialFingerprints"] = {"primaryLocationLineHash": line_hash}
    if f.related:
        result["relatedLocations"] = [
            {
                "id": i,
                "message": {"text": related.message},
                "physicalLocation": {
                    "artifactLocation": locator.artifact(related.path),
                    "region": _region(related.span),
                },
            }
            for i, related in enumerate(f.related, 1)
        ]
    if f.fix is not None and f.fix.edits:
        result["fixes"] = [
            {
                "description": {"text": f"{f.fix.message} ({f.fix.applicability.value} fix)"},
                "artifactChanges": [
                    {
                        "artifactLocation": artifact,
                        "replacements": [
                            {"deletedRegion": _region(edit.span), "insertedContent": {"text": edit.content}}
                            for edit in f.fix.edits
                        ],
                    }
                ],
            }
        ]
    return result


def render_sarif(findings: Sequence[Finding], **kwargs: Any) -> str:
    return json.dumps(sarif_log(findings, **kwargs), indent=2, ensure_ascii=False) + "\n"


report.register("sarif", render_sarif)


__all__ = ["render_sarif", "rule_descriptor", "sarif_log"]
