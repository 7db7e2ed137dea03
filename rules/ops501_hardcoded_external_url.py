"""OPS501: a URL to an external host hardcoded in code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Tuple

import libcst as cst

from opslint.config import option
from opslint.rule import PendingFix, Rule
from opslint.rules import _urls
from opslint.rules._url_uses import UrlUse, UrlUses

if TYPE_CHECKING:
    pass


class HardcodedExternalUrl(Rule):
    """A URL of an external service is hardcoded in a string literal.

    ## What it does
    Checks for string literals (and f-string heads) that hold an `http(s)://`
    or `ws(s)://` URL of an external host: base URLs of API clients, webhook
    endpoints, URLs passed to HTTP calls, module constants.

    It stays quiet on docstrings and comments, on URLs inside messages, help
    texts, log and exception messages, on namespace and schema identifiers
    (`http://www.w3.org/...`, `$schema`, XML namespace maps, OAuth scopes), on
    documentation, licence and repository links, package metadata, on
    loopback, private, `.local`/`.internal`/`.test`/`example.com` and
    cluster-internal hosts (`http://redis:6379`, `*.svc.cluster.local`), on
    URLs that are already the default of a configuration lookup
    (`os.environ.get("X", "https://...")`, `config("X", default=...)`,
    `getattr(settings, "X", ...)`, pydantic `BaseSettings` fields, CLI option
    defaults), and in test files.

    ## Why it matters
    Incident 003: an external provider blocked the IPs of a batch server and
    two API instances. Rerouting the calls through a proxy meant hunting down
    URLs hardcoded across the code base, one literal at a time, during a
    four-hour outage. A URL read from configuration is changed in one place.

    ## Example
    ```python
    import requests

    STRIPE_API = "https://api.stripe.com/v1"

    def charge(payload):
        return requests.post(STRIPE_API + "/charges", data=payload, timeout=10)
    ```

    ## Use instead
    ```python
    import os

    import requests

    STRIPE_API = os.environ.get("STRIPE_API", "https://api.stripe.com/v1")

    def charge(payload):
        return requests.post(STRIPE_API + "/charges", data=payload, timeout=10)
    ```

    ## Fix safety
    The fix wraps the literal in `os.environ.get("<NAME>", "<url>")` (and adds
    `import os`): the URL stays the default, but a variable of that name in
    the environment now changes it, so the fix is unsafe. The name comes from
    the variable the URL is assigned to, else from the host. For f-strings,
    templates and pieces of an implicit concatenation the fix is a suggestion.

    ## Options
    - `allowed-hosts` (list of str): hosts that may be hardcoded; `*.corp.com`
      allows every subdomain of `corp.com`.
    - `include-tests` (bool, default false): also check test files.

    ## See also
    OPS504 (`http://` to an external host), OPS502 (missing timeout).
    """

    code = "OPS501"
    name = "hardcoded-external-url"
    message = (
        "URL of external host `{host}` is hardcoded; read it from configuration so it can be "
        "changed (proxy, IP block) in one place"
    )
    tokens = _urls.TOKENS
    fix_availability = "sometimes"

    @dataclass(frozen=True)
    class Options:
        allowed_hosts: Tuple[str, ...] = option(
            (), pattern=_urls.HOST_PATTERN, shape="a host like `api.corp.com` or `*.corp.com`"
        )
        include_tests: bool = False

    requires = (UrlUses,)

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.ctx.is_test_file and not self.options.include_tests:
            return
        uses = self.ctx.analysis(UrlUses)
        for use in uses.reportable(_accept, self.options.allowed_hosts, lookup_defaults_configure=True):
            self.report(use.literal.node, host=use.literal.host, fix=self._fix(use))

    # -- fix -----------------------------------------------------------------

    def _fix(self, use: UrlUse) -> PendingFix:
        literal = use.literal
        name = _urls.env_var_name(
            None if use.in_collection else use.name,
            literal.host,
            constant=use.constant is not None and not use.class_level,
        )
        if literal.is_template or use.in_concat or not use.replaceable:
            base = literal.origin
            example = (
                f"os.environ.get({self.edits.literal(name, literal.node)}, {self.edits.literal(base, literal.node)})"
            )
            return PendingFix.suggestion(
                f"Read `{base}` from configuration (e.g. `{example}`) and build the URL from it"
            )
        source = self.edits.code(literal.node)
        variable = self.edits.literal(name, like=literal.node)
        os_module = self.edits.ensure_import("os")
        if os_module is None:  # `os` names something else here
            return PendingFix.suggestion(f"Read the URL from configuration: `os.environ.get({variable}, {source})`")
        wrapped = f"{os_module.name}.environ.get({variable}, {source})"
        title = f"Read the URL from the environment variable `{name}` (default: the current URL)"
        return PendingFix.unsafe(title, self.edits.replace(literal.node, wrapped), *os_module.edits)


def _accept(use: UrlUse) -> bool:
    return not use.configured
