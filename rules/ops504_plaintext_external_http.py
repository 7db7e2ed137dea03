"""OPS504: a plaintext ``http://`` (or ``ws://``) URL to an external host."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Tuple

import libcst as cst

from opslint.config import option
from opslint.rule import PendingFix, Rule
from opslint.rules import _net, _url_tables, _urls
from opslint.rules._url_uses import UrlUse, UrlUses

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

    requires = (UrlUses,)

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
