"""Where rule documentation lives (the ``url`` of findings, SARIF helpUri, LSP links)."""

from __future__ import annotations

HOMEPAGE = "https://github.com/opslint/opslint"
#: Where the rule pages live in the repository (``python -m opslint.docgen`` writes them).
DOCS_PATH = "docs/rules"


def rule_url(code: str) -> str:
    """The rule's page: ``docs/rules/<CODE>.md`` on the main branch of the repository."""
    return f"{HOMEPAGE}/blob/main/{DOCS_PATH}/{code}.md"
