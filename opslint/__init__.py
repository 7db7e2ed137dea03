"""opslint: a linter for operational pitfalls in Python code.

The public API for rule authors and embedders is re-exported here.  The names that
come with LibCST (``Rule`` and its helpers) are imported on first use, so that a run
that parses nothing (a pre-commit run on a data module) never imports LibCST.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opslint._version import __version__
from opslint.model import Applicability, Edit, Finding, Fix, Related, Severity, Span

if TYPE_CHECKING:
    from opslint.rule import NoOptions, PendingFix, RelatedNode, Rule

_FROM_RULE = frozenset({"NoOptions", "PendingFix", "RelatedNode", "Rule"})


def __getattr__(name: str) -> Any:
    if name in _FROM_RULE:
        from opslint import rule

        return getattr(rule, name)
    raise AttributeError(f"module 'opslint' has no attribute {name!r}")


__all__ = [
    "Applicability",
    "Edit",
    "Finding",
    "Fix",
    "NoOptions",
    "PendingFix",
    "Related",
    "RelatedNode",
    "Rule",
    "Severity",
    "Span",
    "__version__",
]
