"""OPS501: a URL to an external host hardcoded in code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Set, Tuple

import libcst as cst

from opslint.config import option
from opslint.project import ProjectIndex
from opslint.rule import PendingFix, Rule
from opslint.rules import _net, _url_tables, _urls
from opslint.rules._url_uses import UrlUse, UrlUses


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
    defaults, the fallback of a value given elsewhere: `self.custom_host or
    DEFAULT_HOST`, the `default` of a configuration schema), on URLs the
    user's browser loads or opens (avatars, thumbnails and covers, share dialogs,
    redirects, `webbrowser.open` also through `partial`, links rendered by
    template filters, the `url` of a record shown to people beside its `title` or
    `content`, Content-Security-Policy lists), django-configurations `values.URLValue`
    defaults, OpenAPI
    metadata (`contact`, `license`, `servers`), UI placeholders and sample
    payloads, reference links written into reports, tables of many links to
    many sites, the `__main__` self-test of a library module, a setting that
    a settings module lets each deployment override (`from .local import *`
    below it, or a base settings module that another settings module of the
    project star-imports and overrides), in test files and lint-rule test data (`.semgrep/`,
    `# ruleid:`) or modules that build fake HTTP traffic (`responses`, `respx`,
    googleapiclient's `HttpMock`), and in schema migrations (Django `migrations/`, Alembic
    `versions/`: a frozen record of the models, reported in the live code).

    A module constant holding the URL is still reported: it is one literal,
    but changing it still means editing and redeploying the code. So are
    OAuth authorize URLs sent to the browser: they move with the provider, as
    the token URL the server calls does.

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
    the environment now changes it, so the fix is unsafe. A name that says which
    URL it holds is kept: a constant keeps its name (`STRIPE_API`), a keyword or
    key gets the provider in front (`base_url=` -> `OPENAI_BASE_URL`). Any other
    URL, and one held in a name that says only "the URL" (`URL`, `API_URL`), is
    named from its host and path (`OPSGENIE_EU_ALERTS_URL`), so two files'
    different URLs get different variables; a variable is never named after the
    response. For f-strings and
    pieces of a concatenation (`"https://host/commits/" + sha`) the fix is a
    suggestion: read the host from one variable per host and keep the path in
    code. A `%s`/`{}` template is wrapped whole.

    ## Options
    - `allowed-hosts` (list of str): hosts that may be hardcoded; `*.corp.com`
      allows every subdomain of `corp.com`.
    - `include-tests` (bool, default false): also check test files.

    ## See also
    OPS504 (`http://` to an external host), OPS502 (missing timeout).
    """

    code = "OPS501"
    name = "hardcoded-external-url"
    message = "`{url}` is hardcoded: read it from configuration (`{variable}`)"
    tokens = _url_tables.TOKENS
    fix_availability = "sometimes"

    @dataclass(frozen=True)
    class Options:
        allowed_hosts: Tuple[str, ...] = option(
            (), pattern=_urls.HOST_PATTERN, shape="a host like `api.corp.com` or `*.corp.com`"
        )
        include_tests: bool = False

    requires = (UrlUses,)
    #: For one question, asked of settings modules only: whether another settings module
    #: star-imports this one.
    needs_project = True
    project_paths = ("*settings*.py",)

    def leave_Module(self, original_node: cst.Module) -> None:
        test_data = (
            self.ctx.is_test_file
            or _net.lint_rule_fixture(self.ctx.display_path, self.ctx.text)
            or any(self.ctx.imports.imports_module(fake) for fake in _url_tables.HTTP_FAKES)
        )
        if test_data and not self.options.include_tests:
            return
        if _net.frozen_history(self.ctx.display_path, self.ctx.text):
            return
        uses = self.ctx.analysis(UrlUses)
        #: Variable name -> the URL (or origin) it reads: one variable per distinct URL.
        taken: Dict[str, str] = {}
        overridden = self._base_settings()
        for use in uses.reportable(_accept, self.options.allowed_hosts, lookup_defaults_configure=True):
            if overridden and _module_level(use):
                continue  # a default that each deployment's settings module may override
            whole = _replaceable(use)
            value = use.literal.text if whole else use.literal.origin
            variable = _variable(use) if whole else _urls.env_name_for_host(use.literal.host)
            base, number = variable, 1
            while taken.setdefault(variable, value) != value:
                number += 1
                variable = f"{base}_{number}"
            self.report(use.literal.node, url=_shown(use), variable=variable, fix=self._fix(use, variable, whole))

    def _base_settings(self) -> bool:
        """This file is a settings module that another settings module of the project
        star-imports (``settings/main.py``: ``from .settings_global import *``, then
        overrides from the environment): its values are defaults, overridden per
        deployment without editing it."""
        project = self.ctx.project
        if not isinstance(project, ProjectIndex) or not _urls.is_settings_module(self.ctx.path):
            return False
        name = project.module_of(self.ctx.path)
        return name is not None and name in project.memo((self.code, "star-imported settings"), lambda: _bases(project))

    # -- fix -----------------------------------------------------------------

    def _fix(self, use: UrlUse, name: str, whole: bool) -> PendingFix:
        literal = use.literal
        if not whole:
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


def _bases(project: ProjectIndex) -> FrozenSet[str]:
    """Modules that a settings module of the project star-imports (only settings
    modules' summaries are read)."""
    found: Set[str] = set()
    for path, name in list(project.by_path.items()):
        if _urls.is_settings_module(path) and name in project.modules:
            found.update(project.modules[name].star_imports)
    return frozenset(found)


def _module_level(use: UrlUse) -> bool:
    """A module-level value: a constant, or an item of a module-level table."""
    return (use.constant is not None or use.container is not None) and not use.class_level


def _accept(use: UrlUse) -> bool:
    return not use.configured and not use.browser


def _replaceable(use: UrlUse) -> bool:
    """Whether the literal can be wrapped as a whole: not an f-string (a ``%s``/``{}``
    template stays a template), not a piece of a concatenation."""
    return not (use.literal.is_fstring or use.in_concat or use.in_sum or not use.replaceable)


#: Names that only say "address": the variable is named from the URL instead.
_ADDRESS_ONLY = frozenset(
    {"url", "urls", "uri", "href", "link", "endpoint", "address", "addr", "location", "resp", "response"}
)
#: Names that say nothing of which URL they hold (``URL``, ``API_URL``, ``BASE_URL``).
_GENERIC = _ADDRESS_ONLY | _url_tables.GENERIC_NAME_TOKENS


def _variable(use: UrlUse) -> str:
    """The environment variable for a URL: one per distinct URL in a project, as far as
    one file can tell (names are made unique within the file by the caller).

    A name that says which URL it holds is kept: a constant keeps its own name
    (``STRIPE_API``), a keyword or key gets the organisation in front (``base_url`` ->
    ``OPENAI_BASE_URL``). A name that says only "the URL" (``URL``, ``API_URL``) is the
    same in every file that has one, so when the URL has a path the variable is named
    from host and path (``TWILIO_ACCOUNTS_CALLS_URL``), as any other URL is. Left as it
    is: two files that give one specific name (``STRIPE_API``) to two different URLs.
    """
    literal = use.literal
    from_url = _urls.env_name_for_url(literal.host, literal.path)
    if use.name_kind == "constant" and use.constant is not None:
        name, constant = use.constant, not use.class_level
    elif use.name_kind == "keyword" and use.name and not use.in_collection:
        name, constant = use.name, False
    else:
        return from_url
    tokens = set(_urls.name_tokens(name))
    if tokens <= _ADDRESS_ONLY:
        return from_url
    if tokens <= _GENERIC and from_url != _urls.env_name_for_url(literal.host, ""):
        return from_url
    return _urls.env_var_name(name, literal.host, constant=constant)


def _shown(use: UrlUse) -> str:
    """``api.eu.opsgenie.com/v2/alerts``: host and path, shortened for the message."""
    text = use.literal.host + use.literal.path.rstrip("/")
    return text if len(text) <= 60 else text[:57] + "..."
