"""opslint: a linter for operational pitfalls in Python code.

The public API for rule authors and embedders is re-exported here.
"""

from __future__ import annotations

from opslint._version import __version__
from opslint.model import Applicability, Edit, Finding, Fix, Related, Severity, Span  # noqa: E402
from opslint.rule import NoOptions, PendingFix, RelatedNode, Rule  # noqa: E402

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
