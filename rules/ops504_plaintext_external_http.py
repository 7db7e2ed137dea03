"""OPS504: a plaintext ``http://`` (or ``ws://``) URL to an external host."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Optional, Set, Tuple

import libcst as cst

from opslint.analysis.scopes import BindingTable
from opslint.config import option
from opslint.rule import PendingFix, Rule
from opslint.rules import _net, _url_tables, _urls
from opslint.rules._url_build import flatten_add, literal_text, module_constant
from opslint.rules._url_uses import UrlUse, UrlUses
from opslint.syntax.walk import iter_nodes

if TYPE_CHECKING:
    pass


class PlaintextExternalHttp(Rule):
    """An `http://` URL to an external host: traffic in plaintext.

    ## What it does
    Checks for string literals (and f-string heads) holding an `http://` (or
    `ws://`) URL whose host is external, also when a placeholder stands for the
    first labels of the host (`f"http://{region}.storage.vendor.com"`,
    `"http://%s.api.vendor.com"`: reported as `*.storage.vendor.com`) or the URL
    is split over an implicit concatenation (`"http://" "api.vendor.com/v1"`). The same places as OPS501 are quiet:
    docstrings, messages, namespace and schema identifiers
    (`http://www.w3.org/...`), documentation links, loopback, private,
    `.local`/`.internal`/`example.com` and cluster-internal hosts, proxy
    addresses (a proxy is normally spoken to over `http://`), allowed hosts,
    test files and schema migrations; and where `http://` is the protocol's own choice:
    captive-portal probes (a portal must be able to intercept them), OCSP
    responders, CRLs and CA certificates (signed, served over http by
    design), and non-public addresses such as the CGNAT range
    (`100.64.0.0/10`). The deployment's own site address (`SITE_URL`,
    `FRONTEND_URL`), which OPS501 leaves alone as a page, is reported: the links
    built from it travel in plaintext. A browser redirect to an `http://` URL is reported:
    what the URL carries (a token) travels in plaintext. Unlike OPS501, the default of an environment lookup is
    still checked: a plaintext default is used whenever the variable is unset.

    ## Why it matters
    Incident 003: while calls were rerouted around an IP block, the provider
    only answered correctly on `https`, and the `http` URLs in the code broke
    the rerouted calls. Plaintext HTTP also exposes credentials and data to
    every network hop and is often redirected (or refused) by providers.

    ## Example
    ```python
    import requests

    def rates():
        return requests.get("http://api.exchangerate.host/latest", timeout=10).json()
    ```

    ## Use instead
    ```python
    import requests

    def rates():
        return requests.get(api_url("rates"), timeout=10).json()
    ```

    ## Fix safety
    The fix changes `http://` to `https://` (`ws://` to `wss://`) inside the
    literal. It is unsafe: the host may not serve TLS, or serve it on another
    port.

    ## Options
    - `allowed-hosts` (list of str): hosts where plaintext is accepted;
      `*.corp.com` allows every subdomain of `corp.com`.
    - `include-tests` (bool, default false): also check test files.

    ## See also
    OPS501 (hardcoded external URL).
    """

    code = "OPS504"
    name = "plaintext-external-http"
    message = "`{scheme}://` URL to external host `{host}` travels in plaintext; use `{secure}://`"
    tokens = ("http://", "ws://", "HTTP://", "Http://", "WS://")
    fix_availability = "sometimes"

    @dataclass(frozen=True)
    class Options:
        allowed_hosts: Tuple[str, ...] = option(
            (), pattern=_urls.HOST_PATTERN, shape="a host like `api.corp.com` or `*.corp.com`"
        )
        include_tests: bool = False

    requires = (UrlUses, BindingTable)

    def leave_Module(self, original_node: cst.Module) -> None:
        test_data = self.ctx.is_test_file or _net.lint_rule_fixture(self.ctx.display_path, self.ctx.text)
        if test_data and not self.options.include_tests:
            return
        if _net.frozen_history(self.ctx.display_path, self.ctx.text):
            return
        uses = self.ctx.analysis(UrlUses)
        # Unlike OPS501, the default of a lookup is still checked: it is used when the variable is unset.
        for use in uses.reportable(_accept, self.options.allowed_hosts, lookup_defaults_configure=False):
            self._emit(use.literal)
        # A site's or a home page's address (``SITE_URL = "http://shop.example-store.com"``) is
        # not a service OPS501 reports, but the links built from it travel in plaintext.
        for use in uses.named_pages:
            if _accept(use) and not _urls.host_allowed(use.literal.host, self.options.allowed_hosts):
                self._emit(use.literal)
        for literal, shown in uses.open_literals:
            if literal.scheme not in _url_tables.SECURE_SCHEME:
                continue
            if _urls.is_plaintext_by_design(literal.host, literal.path):
                continue
            if not _urls.host_allowed(literal.host, self.options.allowed_hosts):
                self._emit(literal, shown)

        for literal in self._scheme_and_host_constant():
            if not _urls.host_allowed(literal.host, self.options.allowed_hosts):
                self._emit(literal)

    def _scheme_and_host_constant(self) -> Iterator[_urls.UrlLiteral]:
        """``"http://" + FEED_HOST + "/export"`` and ``f"http://{FEED_HOST}/export"``, where
        ``FEED_HOST = "feeds.vendor.de"`` is a string constant of the module: the scheme and the
        host are both known, in two pieces."""
        if _SCHEME_PIECE.search(self.ctx.text) is None:
            return
        table = self.ctx.analysis(BindingTable)
        seen: Set[int] = set()  # ``a + b + c`` nests: its inner sums start with the same piece
        for node in iter_nodes(self.ctx.module):
            head: Optional[cst.BaseExpression] = None
            host_expr: Optional[cst.BaseExpression] = None
            scheme = ""
            if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
                pieces = flatten_add(node)
                text = literal_text(pieces[0]) if isinstance(pieces[0], cst.SimpleString) else None
                if text is not None and len(pieces) > 1 and _SCHEME_ONLY.fullmatch(text):
                    head, host_expr, scheme = pieces[0], pieces[1], text[:-3]
            elif isinstance(node, cst.FormattedString) and len(node.parts) > 1:
                first, second = node.parts[0], node.parts[1]
                if (
                    isinstance(first, cst.FormattedStringText)
                    and _SCHEME_ONLY.fullmatch(first.value)
                    and isinstance(second, cst.FormattedStringExpression)
                ):
                    head, host_expr, scheme = node, second.expression, first.value[:-3]
            if head is None or host_expr is None or scheme not in _url_tables.SECURE_SCHEME or id(head) in seen:
                continue
            seen.add(id(head))
            host = _constant_host(host_expr, table)
            if host is None or _urls.host_kind(host) != "external" or _urls.is_plaintext_by_design(host, ""):
                continue
            assert isinstance(head, (cst.SimpleString, cst.FormattedString))
            yield _urls.UrlLiteral(head, f"{scheme}://{host}", scheme, host, "", "", False, False, False)

    def _emit(self, literal: _urls.UrlLiteral, shown: Optional[str] = None) -> None:
        secure = _url_tables.SECURE_SCHEME[literal.scheme]
        rebuilt = _urls.rebuild_scheme(literal.node, literal.scheme, secure)
        title = f"Use `{secure}://`"
        fix = (
            PendingFix.unsafe(title, self.edits.replace(rebuilt[0], rebuilt[1]))
            if rebuilt is not None
            else PendingFix.suggestion(title)
        )
        self.report(literal.node, scheme=literal.scheme, host=shown or literal.host, secure=secure, fix=fix)


def _accept(use: UrlUse) -> bool:
    literal = use.literal
    if use.proxy or literal.scheme not in _url_tables.SECURE_SCHEME:
        return False
    return not _urls.is_plaintext_by_design(literal.host, literal.path)


#: A string literal that is a scheme alone (``"http://"``, an f-string's ``http://{``).
_SCHEME_PIECE = re.compile(r"""[a-z]+://(?:["']|\{)""")
_SCHEME_ONLY = re.compile(r"[a-z]+://")
#: A host name, with an optional port (``feeds.vendor.de``, ``feeds.vendor.de:8080``).
_HOST = re.compile(r"([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)(?::\d+)?", re.I)


def _constant_host(expr: cst.BaseExpression, table: BindingTable) -> Optional[str]:
    """The host a module-level string constant (``FEED_HOST = "feeds.vendor.de"``) or a
    literal holds."""
    text = literal_text(expr)
    if text is None and isinstance(expr, cst.Name):
        value = module_constant(table, expr.value)
        text = literal_text(value) if value is not None else None
    found = _HOST.fullmatch(text.rstrip("/")) if text is not None else None
    if found is None or not _urls.valid_host(found.group(1).lower()):
        return None
    return found.group(1).lower()
