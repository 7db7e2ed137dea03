"""The URL literals of a file and where they sit, shared by OPS501 and OPS504 (a declared analysis).

For every string literal (or f-string head) that *is* a URL, :func:`analyse` reads
the traversal's ancestor stack once and records a :class:`UrlUse`: why it is not
a connection when it is not (a docstring, a message, an identifier, a mock...),
whether it is already the default of a configuration lookup, the name it is bound
to.  The analysis also collects, in the same traversal, the constants used as the
fallback of a lookup (``os.environ.get("X", DEFAULT_URL)``) and how each URL
constant is used (only as text for people, or as a value).  Knowledge (hosts,
names, URL kinds) is ``_urls.py``'s.  Rules declare ``requires = (UrlUses,)`` and
call :func:`reportable` in ``leave_Module``.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.base import Analysis, FileFacts
from opslint.rules._url_config import defaulted_names, is_settings, settings_field_names
from opslint.rules._url_context import UrlUse, analyse, is_binding, reference_is_quiet
from opslint.rules._url_tables import METADATA_ATTRIBUTES
from opslint.rules._urls import (
    UrlLiteral,
    command_urls,
    host_allowed,
    host_kind,
    is_settings_module,
    looks_like_endpoint,
    parse_open_literal,
)

__all__ = ["UrlUse", "UrlUses"]

# ---------------------------------------------------------------------------


class UrlUses(Analysis):
    """The URL literals of one file and how URL constants are used (see the module docstring)."""

    def __init__(self, ctx: FileFacts) -> None:
        super().__init__(ctx)
        #: Settings classes of the file by name (their subclasses are settings too).
        self.settings_classes: Set[str] = set()
        #: URL literals that are not quiet, in source order.
        self.found: List[UrlUse] = []
        #: Names of constants that are the fallback of a configuration lookup or a settings field.
        self.defaulted: Set[str] = set()
        #: URL constant name -> its uses after its first definition: (order, text for people only).
        self.uses: Dict[str, List[Tuple[int, str]]] = {}
        #: URLs quiet only because their name says "a page for people" (see ``UrlUse.named_page``).
        self.named_pages: List[UrlUse] = []
        #: Dict displays judged as link tables (by node id).
        self.link_tables: Dict[int, bool] = {}
        #: URLs whose host starts with a placeholder or that an implicit concatenation
        #: splits (``_urls.parse_open_literal``), on external hosts, outside docstrings:
        #: (the literal, the host to show: ``*.vendor.com`` for a placeholder).
        self.open_literals: List[Tuple[UrlLiteral, str]] = []
        #: Order of the last module-level ``from x import *`` (a settings override), or 0.
        self.last_star_import = 0
        self._seq = 0

    def resolve(self, expr: cst.BaseExpression) -> Optional[str]:
        return self.ctx.imports.resolve(expr)

    # -- constants made configurable, or only used for people ----------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if is_settings(self, node):
            self.defaulted.update(settings_field_names(node))

    def visit_Call(self, node: cst.Call) -> None:
        self.defaulted.update(defaulted_names(self, node))

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        self.defaulted.update(defaulted_names(self, node))

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self.defaulted.update(defaulted_names(self, node))

    def visit_Name(self, node: cst.Name) -> None:
        stack = self.ctx.stack
        parent = stack[-2] if len(stack) > 1 else None
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return
        self._record_use(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._record_use(node.attr.value)

    def _record_use(self, name: str) -> None:
        if name not in self.uses or is_binding(self.ctx.stack):
            return
        self._seq += 1
        self.uses[name].append((self._seq, reference_is_quiet(self)))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar) and not any(
            isinstance(n, (cst.FunctionDef, cst.ClassDef)) for n in self.ctx.stack
        ):
            self._seq += 1
            self.last_star_import = self._seq

    # -- literals --------------------------------------------------------------------------

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._literal(node)
        if "%" in node.value or "{" in node.value:
            self._open_literal(node)
        if not isinstance(self.ctx.stack[-2] if len(self.ctx.stack) > 1 else None, cst.ConcatenatedString):
            self._command(node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._literal(node)
        self._open_literal(node)
        if not isinstance(self.ctx.stack[-2] if len(self.ctx.stack) > 1 else None, cst.ConcatenatedString):
            self._command(node)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._open_literal(node)
        stack = self.ctx.stack
        if not (len(stack) > 1 and isinstance(stack[-2], cst.ConcatenatedString)):
            self._command(node)

    def _command(self, node: cst.CSTNode) -> None:
        """``"curl -fsSL http://mirror.example.net/db.tar.gz | tar -xz"``: the download's URL."""
        for literal in command_urls(node):
            if host_kind(literal.host) == "external":
                self.open_literals.append((literal, literal.host))

    def _open_literal(self, node: cst.CSTNode) -> None:
        literal = parse_open_literal(node)
        if literal is None or host_kind(literal.host) != "external":
            return
        stack = self.ctx.stack
        if len(stack) > 1 and isinstance(stack[-2], cst.Expr):  # a docstring or a bare string statement
            return
        shown = f"*.{literal.host}" if literal.is_template else literal.host
        self.open_literals.append((literal, shown))

    def _literal(self, node: Union[cst.SimpleString, cst.FormattedString]) -> None:
        use = analyse(self, node)
        if use is not None and use.quiet == "page" and use.named_page:
            self.named_pages.append(use)
        if use is None or use.quiet:
            return
        self._seq += 1
        use.seq = self._seq
        self.found.append(use)
        if use.constant is not None:
            self.uses.setdefault(use.constant, [])

    # -- the decision shared by the rules --------------------------------------------------

    def reportable(
        self, accept: Callable[[UrlUse], bool], allowed_hosts: Sequence[str], *, lookup_defaults_configure: bool
    ) -> List[UrlUse]:
        """The URLs a rule reports: those it accepts, on hosts not allowed, unless the
        constant holding the URL is fine (see :meth:`_constant_is_fine`)."""
        accepted = [u for u in self.found if accept(u) and not host_allowed(u.literal.host, allowed_hosts)]
        first: Dict[str, int] = {}
        for use in accepted:
            if use.constant is not None:
                first.setdefault(use.constant, use.seq)
        return [u for u in accepted if not self._constant_is_fine(u, first, lookup_defaults_configure)]

    def _constant_is_fine(self, use: UrlUse, first: Dict[str, int], lookup_defaults_configure: bool) -> bool:
        """A constant is not reported when it is the fallback of a configuration lookup
        (with ``lookup_defaults_configure``), when every use of it in the file is text for
        people (a help link, a message), or when it is a class attribute holding a website
        that the file never uses (metadata such as a homepage)."""
        if lookup_defaults_configure and use.container is not None and use.container in self.defaulted:
            return True
        name = use.constant
        if name is None:
            return False
        if lookup_defaults_configure and name in self.defaulted:
            return True
        if not use.class_level and use.seq < self.last_star_import and is_settings_module(self.ctx.path):
            # A settings module that star-imports an override module below (``from .local
            # import *``): each deployment sets the value without editing code.
            return True
        uses = [quiet for seq, quiet in self.uses.get(name, []) if seq > first[name]]
        if uses:
            # Links and images for the browser are fine for OPS501 (no server connection),
            # not for OPS504 (they still travel in plaintext).
            return all(q == "quiet" or (q == "browser" and lookup_defaults_configure) for q in uses)
        # Never used here: a class attribute holding a website (a homepage, like
        # Pygments' ``url``) is metadata; an endpoint-shaped URL may be used by a base class.
        # Constant-style names (``PARTNER_URL``) of a config class are still reported.
        if not (use.class_level and name.islower()):
            return False
        website = use.literal.host.startswith("www.") and name in METADATA_ATTRIBUTES
        return website or not looks_like_endpoint(use.literal)
