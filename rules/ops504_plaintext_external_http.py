"""OPS504: a plaintext ``http://`` (or ``ws://``) URL to an external host."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Tuple, Union

import libcst as cst
from opslint.rules import _urls

from opslint.rule import PendingFix, Rule


class PlaintextExternalHttp(Rule):
    """An `http://` URL to an external host: traffic in plaintext.

    ## What it does
    Checks for string literals (and f-string heads) holding an `http://` (or
    `ws://`) URL whose host is external. The same places as OPS501 are quiet:
    docstrings, messages, namespace and schema identifiers
    (`http://www.w3.org/...`), documentation links, loopback, private,
    `.local`/`.internal`/`example.com` and cluster-internal hosts, proxy
    addresses (a proxy is normally spoken to over `http://`), allowed hosts
    and test files. Unlike OPS501, the default of an environment lookup is
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
    tokens = ("http://", "ws://")
    fix_availability = "sometimes"

    @dataclass(frozen=True)
    class Options:
        allowed_hosts: Tuple[str, ...] = ()
        include_tests: bool = False

    def __init__(self, ctx: Any, options: Any) -> None:
        super().__init__(ctx, options)
        self._skip = _urls.skip_file(self, options.include_tests)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._check(node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._check(node)

    def _check(self, node: Union[cst.SimpleString, cst.FormattedString]) -> None:
        if self._skip:
            return
        use = _urls.analyse(self, node)
        if use is None or use.quiet or use.proxy:
            return
        literal = use.literal
        secure = _urls.SECURE_SCHEME.get(literal.scheme)
        if secure is None or _urls.host_allowed(literal.host, self.options.allowed_hosts):
            return
        rebuilt = _urls.rebuild_scheme(node, literal.scheme, secure)
        title = f"Use `{secure}://`"
        fix = (
            PendingFix.unsafe(title, self.edits.replace(rebuilt[0], rebuilt[1]))
            if rebuilt is not None
            else PendingFix.suggestion(title)
        )
        self.report(node, scheme=literal.scheme, host=literal.host, secure=secure, fix=fix)
