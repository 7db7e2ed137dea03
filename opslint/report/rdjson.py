"""``rdjson``: reviewdog's Diagnostic Format (``DiagnosticResult``) for ``reviewdog -f=rdjson``.

Positions are 1-based; columns count UTF-8 bytes and the end is exclusive, as
the format defines, so they are converted from opslint's code-point columns
with the file's text.  Each fix with edits (safe or unsafe: reviewdog shows
them as suggested changes for a human to accept) becomes ``suggestions``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

from opslint import report
from opslint.model import Finding, Severity, Span
from opslint.report.ci import Sources, is_error
from opslint.urls import HOMEPAGE, rule_url

SOURCE = {"name": "opslint", "url": HOMEPAGE}
_SEVERITY = {Severity.ERROR: "ERROR", Severity.WARNING: "WARNING", Severity.INFO: "INFO"}


def _byte_column(line_text: Optional[str], column: int) -> int:
    """1-based UTF-8 byte column of the 1-based code-point ``column``."""
    if line_text is None:
        return column
    return len(line_text[: column - 1].encode("utf-8", "surrogatepass")) + 1


def _range(span: Span, path: str, texts: Sources) -> Dict[str, Any]:
    start = _byte_column(texts.line(path, span.line), span.column)
    end = _byte_column(texts.line(path, span.end_line), span.end_column)
    return {
        "start": {"line": span.line, "column": start},
        "end": {"line": span.end_line, "column": end},
    }


def diagnostic(f: Finding, texts: Sources) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "message": f.message,
        "location": {"path": f.path, "range": _range(f.span, f.path, texts)},
        "severity": "ERROR" if is_error(f) else _SEVERITY[f.severity],
        "source": SOURCE,
        "code": {"value": f.code, "url": rule_url(f.code)},
    }
    if f.fix is not None and f.fix.edits:
        out["suggestions"] = [{"range": _range(e.span, f.path, texts), "text": e.content} for e in f.fix.edits]
    return out


def rdjson(
    findings: Sequence[Finding], *, sources: Optional[Mapping[str, str]] = None, **kwargs: Any
) -> Dict[str, Any]:
    cwd = kwargs.get("cwd")
    texts = Sources(sources, cwd if isinstance(cwd, str) else None)
    diagnostics: List[Dict[str, Any]] = [diagnostic(f, texts) for f in findings]
    return {"source": SOURCE, "severity": "WARNING", "diagnostics": diagnostics}


def render_rdjson(findings: Sequence[Finding], **kwargs: Any) -> str:
    return json.dumps(rdjson(findings, **kwargs), indent=2, ensure_ascii=False) + "\n"


report.register("rdjson", render_rdjson)

__all__ = ["diagnostic", "rdjson", "render_rdjson"]
