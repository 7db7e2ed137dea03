"""``json`` and ``json-lines``: the stable machine-readable contract."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Sequence

from opslint.model import Finding, Span
from opslint.urls import rule_url


def _pos(span: Span) -> Dict[str, int]:
    return {"line": span.line, "column": span.column, "end_line": span.end_line, "end_column": span.end_column}


def finding_to_dict(f: Finding) -> Dict[str, Any]:
    """One finding as the JSON contract pins it (keys and meaning are stable)."""
    fix = None
    if f.fix is not None:
        fix = {
            "applicability": f.fix.applicability.value,
            "message": f.fix.message,
            "edits": [dict(_pos(e.span), content=e.content) for e in f.fix.edits],
        }
    return {
        "code": f.code,
        "name": f.name,
        "message": f.message,
        "path": f.path,
        **_pos(f.span),
        "severity": f.severity.value,
        "url": rule_url(f.code),
        "fingerprint": f.fingerprint,
        "fix": fix,
        "related": [dict(path=r.path, message=r.message, **_pos(r.span)) for r in f.related],
    }


def render_json(findings: Sequence[Finding], **_: Any) -> str:
    data: List[Dict[str, Any]] = [finding_to_dict(f) for f in findings]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_json_lines(findings: Sequence[Finding], **_: Any) -> str:
    return "".join(json.dumps(finding_to_dict(f), ensure_ascii=False) + "\n" for f in findings)
