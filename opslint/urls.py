"""Where rule documentation lives (the ``url`` of findings, SARIF helpUri, LSP links)."""

from __future__ import annotations

HOMEPAGE = "https://github.com/opslint/opslint"


def rule_url(code: str) -> str:
    return f"{HOMEPAGE}/blob/main/docs/rules/{code}.md"
