"""Output formats.  Each reporter is a pure function of the findings."""

from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence

from opslint.model import Finding
from opslint.report import json_ as _json
from opslint.report import text as _text

Renderer = Callable[..., str]

RENDERERS: Dict[str, Renderer] = {
    "full": _text.render_full,
    "concise": _text.render_concise,
    "json": _json.render_json,
    "json-lines": _json.render_json_lines,
}


def register(name: str, renderer: Renderer) -> None:
    RENDERERS[name] = renderer


def render(fmt: str, findings: Sequence[Finding], *, sources: Optional[Dict[str, str]] = None, **kwargs: object) -> str:
    """Render findings in a format; ``sources`` maps paths to text for snippets."""
    if fmt not in RENDERERS:
        _load_optional()
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise KeyError(fmt)
    return renderer(findings, sources=sources or {}, **kwargs)


def _load_optional() -> None:
    # Formats in their own modules register themselves when imported.
    import importlib

    for module in ("opslint.report.ci", "opslint.report.sarif", "opslint.report.rdjson"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
