"""OPS501/OPS504 knowledge: URL literals, host classification, and the contexts
where a URL in code is not a connection to an external service.

A URL literal is a string (or the text head of an f-string) that *is* a URL:
``"https://api.stripe.com/v1"``.  Text that merely mentions a URL (``"see
https://docs..."``) is documentation.  A URL is *external* when its host is a
public name or address: not loopback, private, link-local, reserved for
documentation (``example.com``, ``.test``, RFC 5737 addresses), not a
cluster-internal name (single label, ``.svc``, ``.cluster.local``,
``.internal``) and not a placeholder (``your-domain.com``).

This module holds the knowledge: tables of hosts, names, calls and keywords,
and pure functions of a URL, a host or a name.  Where a literal sits in the
code (a docstring, a message, the default of a lookup, a settings class...)
is the family analysis ``_url_uses.py`` (``UrlUses``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Union
from urllib.parse import SplitResult, urlsplit

import libcst as cst

from opslint.syntax.walk import iter_nodes

# ---------------------------------------------------------------------------
# Data tables
# ---------------------------------------------------------------------------

#: Schemes the rules look at, and the secure form of each plaintext one.
SCHEMES: Tuple[str, ...] = ("http", "https", "ws", "wss")
SECURE_SCHEME: Dict[str, str] = {"http": "https", "ws": "wss"}
#: Prefilter tokens (a file without any of them cannot hold a URL literal).
TOKENS: Tuple[str, ...] = ("http://", "https://", "ws://", "wss://")

#: Last labels (pseudo top-level domains) that never leave the organisation.
INTERNAL_TLDS: FrozenSet[str] = frozenset(
    {
        "local",
        "localhost",
        "internal",
        "intranet",
        "intra",
        "lan",
        "home",
        "corp",
        "private",
        "priv",
        "localdomain",
        "svc",
        "cluster",
        "consul",
        "docker",
        "kube",
        "k8s",
        "default",
        "test",
        "example",
        "invalid",
        "onion",
    }
)
#: Last labels that are file extensions or words, never a public top-level domain.
NOT_TLDS: FrozenSet[str] = frozenset(
    {
        "uri",
        "url",
        "html",
        "htm",
        "php",
        "json",
        "xml",
        "txt",
        "css",
        "jpg",
        "png",
        "gif",
        "svg",
        "yaml",
        "yml",
        "rst",
        "cfg",
        "ini",
        "conf",
        "domain",
        "tld",
        "hostname",
        "fake",
        "dummy",
        "none",
        "null",
        "undefined",
        "placeholder",
        "foo",
        "bar",
        "baz",
        "mock",
        "stub",
    }
)
#: Multi-label suffixes that are internal (a host equal to one, or below it).
INTERNAL_SUFFIXES: Tuple[str, ...] = ("cluster.local", "svc.cluster.local", "home.arpa", "in-addr.arpa", "ip6.arpa")
#: Documentation domains (RFC 2606) and their subdomains.
EXAMPLE_DOMAINS: FrozenSet[str] = frozenset({"example.com", "example.org", "example.net", "example.edu"})
#: Domains used as placeholders in templates and samples.
PLACEHOLDER_DOMAINS: FrozenSet[str] = frozenset(
    {
        "domain.com",
        "host.com",
        "site.com",
        "server.com",
        "foo.com",
        "bar.com",
        "baz.com",
        "foo.bar",
        "foobar.com",
        "test.com",
        "acme.com",
        "company.com",
        "website.com",
        "url.com",
        "somewhere.com",
        "somehost.com",
        "dummy.com",
    }
)
_PLACEHOLDER_LABEL = re.compile(
    r"^(your|my)[-_]?(own[-_]?)?(domain|site|server|host|hostname|company|app|api|org|organi[sz]ation|instance|"
    r"tenant|account|bucket|project|workspace|endpoint|name|url|service|store|shop|team|subdomain|region)s?$"
    r"|^your[-_a-z0-9]*$|^x{3,}$|^placeholder$|^changeme$|^dummy$|^fake$"
)

#: Hosts whose URLs are identifiers (XML/RDF namespaces, schemas, DTDs,
#: vocabularies, feature names), mapped to the path prefixes that are
#: identifiers ("" = every path on that host).
IDENTIFIER_HOSTS: Dict[str, Tuple[str, ...]] = {
    "www.w3.org": ("",),
    "tempuri.org": ("",),
    "acs.amazonaws.com": ("/groups/",),
    "www.gexf.net": ("",),
    "gexf.net": ("",),
    "w3.org": ("",),
    "w3id.org": ("",),
    "schemas.xmlsoap.org": ("",),
    "schemas.microsoft.com": ("",),
    "schemas.openxmlformats.org": ("",),
    "schemas.android.com": ("",),
    "schemas.google.com": ("",),
    "schemas.goog": ("",),
    "purl.org": ("",),
    "purl.oclc.org": ("",),
    "json-schema.org": ("",),
    "json.schemastore.org": ("",),
    "www.schemastore.org": ("",),
    "spec.openapis.org": ("",),
    "xmlns.com": ("",),
    "xmlns.jcp.org": ("",),
    "ns.adobe.com": ("",),
    "docs.oasis-open.org": ("",),
    "www.opengis.net": ("",),
    "www.isotc211.org": ("",),
    "xml.org": ("",),
    "www.xml.org": ("",),
    "apache.org": ("/xml/",),
    "xml.apache.org": ("",),
    "java.sun.com": ("/xml/", "/dtd/", "/jsp/", "/j2ee/"),
    "www.openarchives.org": ("",),
    "www.sitemaps.org": ("",),
    "search.yahoo.com": ("/mrss",),
    "www.itunes.com": ("/dtds/",),
    "a9.com": ("",),
    "www.georss.org": ("",),
    "www.topografix.com": ("",),
    "ogp.me": ("",),
    "schema.org": ("",),
    "www.schema.org": ("",),
    "rdfs.org": ("",),
    "creativecommons.org": ("/ns",),
    "earth.google.com": ("/kml",),
    "www.google.com": ("/schemas/", "/kml/"),
    "www.mediawiki.org": ("/xml/",),
    "maven.apache.org": ("/POM/", "/SETTINGS/", "/xsd/"),
    "www.springframework.org": ("/schema/",),
    "jabber.org": ("/protocol/", "/features/"),
    "etherx.jabber.org": ("",),
    "www.idpf.org": ("",),
    "www.daisy.org": ("",),
    "www.loc.gov": ("/MARC21/", "/mods/", "/standards/", "/METS/", "/zing/"),
    "id.loc.gov": ("",),
    "www.tei-c.org": ("/ns/",),
    "www.omg.org": ("/spec/",),
    "www.xbrl.org": ("",),
    "xbrl.org": ("",),
    "www.collada.org": ("",),
    "www.opensearch.org": ("",),
    "uri.etsi.org": ("",),
    "dbpedia.org": ("/resource/", "/ontology/", "/property/"),
    "www.wikidata.org": ("/entity/", "/prop/", "/wiki/"),
    "identifiers.org": ("",),
    "www.geonames.org": ("/ontology",),
    "opentelemetry.io": ("/schemas/",),
    "www.iana.org": ("/assignments/",),
    "s3.amazonaws.com": ("/doc/",),
    "www.googleapis.com": ("/auth/",),
    "ns.nuget.org": ("",),
    "www.openmath.org": ("",),
    "www.plantuml.com": ("",),
    "www.apple.com": ("/DTDs/",),
    "docs.openstack.org": ("/identity/api/", "/common/"),
}
#: Path fragments that mark an identifier on any host.
IDENTIFIER_PATH = re.compile(
    r"(/ns(/|#|$)|/xmlns|/XMLSchema|/namespace|/schemas?(/|$)|/vocab(/|$)|/ontology(/|$)|"
    r"\.(xsd|dtd|rdf|owl|ttl|jsonld)$|/\.default$)",
    re.I,
)

#: Hosts of documentation, references and licences (links for humans).
DOC_HOSTS: FrozenSet[str] = frozenset(
    {
        "docs.python.org",
        "peps.python.org",
        "bugs.python.org",
        "wiki.python.org",
        "hg.python.org",
        "svn.python.org",
        "legacy.python.org",
        "mail.python.org",
        "discuss.python.org",
        "packaging.python.org",
        "devguide.python.org",
        "typing.readthedocs.io",
        "readthedocs.org",
        "readthedocs.io",
        "stackoverflow.com",
        "superuser.com",
        "serverfault.com",
        "tools.ietf.org",
        "datatracker.ietf.org",
        "www.ietf.org",
        "www.rfc-editor.org",
        "rfc-editor.org",
        "developer.mozilla.org",
        "msdn.microsoft.com",
        "learn.microsoft.com",
        "docs.microsoft.com",
        "semver.org",
        "pep8.org",
        "opensource.org",
        "www.opensource.org",
        "www.gnu.org",
        "gnu.org",
        "spdx.org",
        "choosealicense.com",
        "keepachangelog.com",
        "en.wikipedia.org",
        "wikipedia.org",
        "bit.ly",
        "goo.gl",
        "aka.ms",
        "youtu.be",
        "twitter.com",
        "x.com",
        "www.linkedin.com",
        "gitter.im",
        "discord.gg",
        "www.unicode.org",
        "unicode.org",
        "caniuse.com",
        "www.djangoproject.com",
        "code.djangoproject.com",
        "pydantic.dev",
        "www.sphinx-doc.org",
        "sphinx-doc.org",
        "pre-commit.com",
        "codecov.io",
        "shields.io",
        "img.shields.io",
        "badge.fury.io",
        "travis-ci.org",
        "travis-ci.com",
        "ci.appveyor.com",
    }
)
#: First labels of documentation hosts (``docs.aws.amazon.com``).
DOC_HOST_LABELS: FrozenSet[str] = frozenset(
    {"docs", "doc", "documentation", "wiki", "help", "developer", "developers", "learn", "support", "blog", "man"}
)
#: Code hosting sites: a repository page is a link, a download is a fetch.
CODE_HOSTS: FrozenSet[str] = frozenset({"github.com", "www.github.com", "gitlab.com", "bitbucket.org", "codeberg.org"})
#: Path segments after ``owner/repo`` that are pages for humans.
CODE_HOST_PAGES: FrozenSet[str] = frozenset(
    {
        "issues",
        "issue",
        "pull",
        "pulls",
        "blob",
        "tree",
        "wiki",
        "discussions",
        "commit",
        "commits",
        "security",
        "actions",
        "compare",
        "milestone",
        "milestones",
        "labels",
        "projects",
        "graphs",
        "network",
        "stargazers",
        "blame",
        "merge_requests",
        "-",
        "src",
        "releases",
        "tags",
        "pulse",
        "sponsors",
    }
)
#: Path segments that make a code-host URL a fetch after all.
CODE_HOST_FETCH: FrozenSet[str] = frozenset(
    {"download", "archive", "raw", "api", "login", "info", "git-upload-pack", "oauth", "oauth2", "session", "token"}
)
#: Path suffixes of pages for people and of browser assets.
PAGE_SUFFIXES: Tuple[str, ...] = (
    ".html",
    ".htm",
    ".pdf",
    ".css",
    ".js",
    ".mjs",
    ".map",
    ".ico",
    ".svg",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".woff",
    ".woff2",
    ".ttf",
    ".eot",
)

#: Name tokens (of a variable, attribute, keyword or dict key) that mark an
#: identifier: namespaces, schemas, vocabularies, OAuth scopes and audiences.
IDENTIFIER_NAME_TOKENS: FrozenSet[str] = frozenset(
    {
        "ns",
        "nsmap",
        "namespace",
        "namespaces",
        "xmlns",
        "xsd",
        "xsi",
        "dtd",
        "doctype",
        "schema",
        "schemas",
        "rdf",
        "rdfs",
        "owl",
        "skos",
        "foaf",
        "dcterms",
        "vocab",
        "vocabulary",
        "ontology",
        "jsonld",
        "scope",
        "scopes",
        "audience",
        "aud",
        "issuer",
        "iss",
        "claim",
        "claims",
        "realm",
        "id",
        "ids",
        "systemid",
        "publicid",
    }
)
#: Parts of run-together names (``SCHEMALOCATION``) that mark an identifier.
IDENTIFIER_NAME_PARTS: Tuple[str, ...] = ("schema", "namespace", "xmlns", "ontology", "vocab")
#: Name tokens that make an identifier-looking name a service after all.
SERVICE_NAME_TOKENS: FrozenSet[str] = frozenset(
    {"registry", "api", "apis", "endpoint", "endpoints", "server", "service", "host", "webhook", "hook", "gateway"}
)
#: Name tokens that mark a link for humans or our own public address, not a
#: service the code calls.
PAGE_NAME_TOKENS: FrozenSet[str] = frozenset(
    {
        "doc",
        "docs",
        "documentation",
        "help",
        "homepage",
        "home",
        "issues",
        "issue",
        "bug",
        "bugs",
        "tracker",
        "license",
        "licence",
        "changelog",
        "wiki",
        "faq",
        "readme",
        "tutorial",
        "guide",
        "manual",
        "link",
        "links",
        "href",
        "website",
        "about",
        "terms",
        "tos",
        "privacy",
        "contact",
        "feedback",
        "donate",
        "sponsor",
        "funding",
        "logo",
        "icon",
        "image",
        "img",
        "avatar",
        "badge",
        "css",
        "stylesheet",
        "font",
        "favicon",
        "thumbnail",
        "origin",
        "origins",
        "cors",
        "csrf",
        "static",
        "media",
        "canonical",
        "location",
        "refuri",
        "ref",
        "embed",
        "iframe",
        "src",
        "site",
        "frontend",
        "public",
        "unsubscribe",
        "reference",
        "references",
        "refs",
        "share",
        "referer",
        "referrer",
        "repository",
        "repo",
        "author",
        "maintainer",
        "email",
        "copyright",
        "project",
    }
)
#: Name tokens of the pages a payment or sign-in flow sends the browser back to
#: (``success_url``, ``cancel_url``, ``redirect_uri``): quiet only next to a token
#: that says "address" (``CANCEL_TMPL`` is an API template, not a redirect).
REDIRECT_NAME_TOKENS: FrozenSet[str] = frozenset({"redirect", "callback", "return", "success", "cancel"})
ADDRESS_NAME_TOKENS: FrozenSet[str] = frozenset({"url", "urls", "uri", "uris", "link", "href", "page", "location"})
#: Name tokens of identifiers compared with claims (they win over "api": ``API_AUDIENCE``).
CLAIM_NAME_TOKENS: FrozenSet[str] = frozenset({"issuer", "issuers", "iss", "audience", "audiences", "aud"})
#: Name tokens of sample text shown to people (placeholders, example payloads).
SAMPLE_NAME_TOKENS: FrozenSet[str] = frozenset({"sample", "samples", "example", "examples", "placeholder", "demo"})
#: Name tokens of values the browser uses (Content-Security-Policy, share buttons).
BROWSER_NAME_TOKENS: FrozenSet[str] = frozenset({"csp", "share", "sharer"})

#: OpenAPI document metadata (drf-spectacular's SPECTACULAR_SETTINGS, FastAPI's
#: arguments, OpenAPI's ``info``): published in the schema, never called.
#: ``servers`` only around a ``url`` key.
OPENAPI_KEYS: FrozenSet[str] = frozenset(
    {
        "contact",
        "license",
        "license_info",
        "tos",
        "terms_of_service",
        "termsofservice",
        "external_docs",
        "externaldocs",
        "servers",
        "x_logo",
    }
)
#: Name tokens of OpenAPI/Swagger settings dictionaries.
OPENAPI_NAME_TOKENS: FrozenSet[str] = frozenset({"spectacular", "swagger", "openapi", "redoc"})

#: Hosts whose URLs the user's browser fetches (avatars, badges, fonts, tags, share
#: dialogs): the server never connects to them.
BROWSER_HOSTS: FrozenSet[str] = frozenset(
    {
        "gravatar.com",
        "www.gravatar.com",
        "secure.gravatar.com",
        "s.gravatar.com",
        "avatars.githubusercontent.com",
        "fonts.googleapis.com",
        "fonts.gstatic.com",
        "www.googletagmanager.com",
        "www.google-analytics.com",
        "js.stripe.com",
        "checkout.stripe.com",
        "wa.me",
        "api.whatsapp.com",
        "t.me",
        "telegram.me",
    }
)
#: Path prefixes of share dialogs and avatar images (the browser opens or loads them).
BROWSER_PATH_PREFIXES: Tuple[str, ...] = (
    "/avatar/",
    "/avatars/",
    "/sharer",
    "/intent/tweet",
    "/intent/post",
    "/share",
    "/pin/create",
    "/sharearticle",
    "/submit?",
)
#: First path segments of pages for people on a product's website (not under an API host).
PAGE_PATH_SEGMENTS: FrozenSet[str] = frozenset(
    {"docs", "doc", "documentation", "help", "guide", "guides", "blog", "wiki", "faq", "support", "legal", "kb"}
)

#: Decorators whose function's return value is rendered into a template (Django template
#: filters and tags, Flask/Jinja template filters and globals): a URL there is a link.
TEMPLATE_DECORATORS: FrozenSet[str] = frozenset(
    {"filter", "simple_tag", "inclusion_tag", "tag", "template_filter", "app_template_filter", "template_global"}
)

#: ``http://`` by design (OPS504): captive-portal probes must not be TLS (a portal has to
#: intercept them); OCSP and CRL responses are signed and served over http (RFC 6960,
#: RFC 5280), so are the CA certificates of the AIA extension.
PLAINTEXT_PROBE_HOSTS: FrozenSet[str] = frozenset(
    {
        "connectivitycheck.gstatic.com",
        "connectivitycheck.android.com",
        "clients3.google.com",
        "captive.apple.com",
        "www.apple.com",
        "detectportal.firefox.com",
        "www.msftconnecttest.com",
        "www.msftncsi.com",
        "ipv6.msftconnecttest.com",
        "connectivity-check.ubuntu.com",
        "nmcheck.gnome.org",
        "network-test.debian.org",
        "conncheck.opensuse.org",
    }
)
PLAINTEXT_PROBE_PATHS: Tuple[str, ...] = (
    "/generate_204",
    "/gen_204",
    "/hotspot-detect.html",
    "/success.txt",
    "/connecttest.txt",
    "/ncsi.txt",
)
SIGNED_OVER_HTTP_LABELS: Tuple[str, ...] = ("ocsp", "crl", "cacerts", "aia")
SIGNED_OVER_HTTP_SUFFIXES: Tuple[str, ...] = (".crl", ".crt", ".cer", ".p7c")

#: Keywords whose value is text for people (messages, help, metadata).
MESSAGE_KEYWORDS: FrozenSet[str] = frozenset(
    {
        "help",
        "help_text",
        "description",
        "long_description",
        "epilog",
        "usage",
        "message",
        "msg",
        "doc",
        "docs",
        "documentation",
        "summary",
        "title",
        "text",
        "label",
        "verbose_name",
        "comment",
        "note",
        "hint",
        "tooltip",
        "reason",
        "detail",
        "details",
        "error_message",
        "homepage",
        "home_page",
        "project_urls",
        "download_url",
        "docs_url",
        "doc_url",
        "help_url",
        "documentation_url",
        "license_url",
        "terms_of_service",
        "contact",
        "license_info",
        "external_docs",
        "link",
        "href",
        "warning",
        "deprecated",
        "short_help",
        "metavar",
    }
)
#: Callee last names whose string arguments are text for people.
MESSAGE_CALLS: FrozenSet[str] = frozenset(
    {
        "print",
        "warn",
        "warning",
        "warn_explicit",
        "info",
        "debug",
        "error",
        "exception",
        "critical",
        "fatal",
        "log",
        "echo",
        "secho",
        "write",
        "writelines",
        "_",
        "gettext",
        "ngettext",
        "gettext_lazy",
        "ugettext",
        "ugettext_lazy",
        "pgettext",
        "npgettext",
        "gettext_noop",
        "mark_safe",
        "format_html",
        "Markup",
        "escape",
        "fail",
        "skip",
        "xfail",
        "abort",
        "exit",
        "notify",
        "flash",
        "deprecated",
        "deprecate",
        "DeprecationWarning",
        "add_note",
        "set_description",
        "status",
        "progress",
        "emit",
    }
)
#: Qualified callees whose string arguments are never a service the code
#: calls (metadata, browser links, patterns).
QUIET_CALLEES: FrozenSet[str] = frozenset(
    {
        "setuptools.setup",
        "distutils.core.setup",
        "setup",
        "webbrowser.open",
        "webbrowser.open_new",
        "webbrowser.open_new_tab",
        "click.launch",
        "typer.launch",
        "open_new_tab",
    }
)
#: Callees (last names) that send the user's browser to a URL: no server connection
#: (OPS501), but a plaintext one still exposes what the URL carries (OPS504).
BROWSER_CALLEES: FrozenSet[str] = frozenset(
    {"redirect", "RedirectResponse", "HttpResponseRedirect", "HttpResponsePermanentRedirect"}
)
#: HTTP mocking libraries (and the usual names of their mock objects): a URL
#: registered with them is never called.
MOCK_MODULES: Tuple[str, ...] = ("responses", "respx", "httpretty", "requests_mock", "aioresponses", "pytest_httpx")
MOCK_RECEIVERS: FrozenSet[str] = frozenset(
    {"responses", "rsps", "respx_mock", "requests_mock", "httpx_mock", "aioresponses", "mocked", "mock_server", "m"}
)
#: Modules whose functions take patterns (the URL is matched, not called).
PATTERN_MODULES: Tuple[str, ...] = ("re", "regex", "fnmatch", "glob")
#: Methods that test or transform a string: a URL passed to them is matched.
STRING_TEST_METHODS: FrozenSet[str] = frozenset(
    {
        "startswith",
        "endswith",
        "removeprefix",
        "removesuffix",
        "replace",
        "split",
        "rsplit",
        "partition",
        "rpartition",
        "find",
        "rfind",
        "index",
        "rindex",
        "count",
        "lstrip",
        "rstrip",
        "strip",
        "match",
        "fullmatch",
        "search",
        "compile",
        "sub",
        "subn",
        "findall",
        "finditer",
        "assertEqual",
        "assertIn",
        "assertTrue",
        "assertRegex",
        "__contains__",
        "add_url_rule",
        "route",
        "mount",
        "include",
        "is_valid_url",
        "validate",
    }
)
#: Callees (last names) that take XML/RDF namespace or feature identifiers.
NAMESPACE_CALLS: FrozenSet[str] = frozenset(
    {
        "register_namespace",
        "find",
        "findall",
        "findtext",
        "iterfind",
        "iter",
        "xpath",
        "XPath",
        "Element",
        "SubElement",
        "QName",
        "URIRef",
        "Namespace",
        "bind",
        "createElementNS",
        "createAttributeNS",
        "setAttributeNS",
        "getAttributeNS",
        "hasAttributeNS",
        "removeAttributeNS",
        "getElementsByTagNameNS",
        "createDocument",
        "createDocumentType",
        "startPrefixMapping",
        "startElementNS",
        "setFeature",
        "getFeature",
        "setProperty",
        "getProperty",
        "get",
        "set",
        "makeelement",
        "ElementMaker",
        "RDF",
        "Literal",
    }
)
#: Methods on a string receiver that keep it a template (``"...{}".format``).
TEMPLATE_METHODS: FrozenSet[str] = frozenset({"format", "format_map", "strip", "rstrip", "lstrip", "lower", "encode"})

#: Qualified callees that read configuration: the URL as their default is configurable.
LOOKUP_CALLEES: FrozenSet[str] = frozenset(
    {
        "os.environ.get",
        "os.getenv",
        "os.environ.setdefault",
        "os.environ.pop",
        "os.environb.get",
        "os.getenvb",
        "decouple.config",
        "getattr",
    }
)
#: Bare function names that read configuration (``config("X", default=...)``).
LOOKUP_FUNCTIONS: FrozenSet[str] = frozenset(
    {
        "config",
        "env",
        "getenv",
        "get_env",
        "env_var",
        "get_env_var",
        "getenv_or",
        "get_setting",
        "get_settings_value",
        "setting",
        "get_config",
        "get_config_value",
        "getattr",
        "from_env",
        "read_env",
    }
)
#: Method names that read a value with a fallback (``settings.get("X", url)``,
#: django-environ ``env.str("X", url)``).
LOOKUP_METHODS: FrozenSet[str] = frozenset(
    {
        "get",
        "getenv",
        "get_env",
        "setdefault",
        "pop",
        "str",
        "url",
        "get_value",
        "get_string",
        "getstr",
        "get_str",
        "get_setting",
        "get_config",
        "config",
        "env",
        "value",
        "getvalue",
        "get_or_default",
    }
)
#: Keywords that give a default to whatever the call reads or accepts.
DEFAULT_KEYWORDS: FrozenSet[str] = frozenset({"default", "fallback", "default_value", "defaultValue", "missing"})
#: Callees whose every argument is a default of a command-line option.
CONFIG_DEFAULT_CALLS: FrozenSet[str] = frozenset({"set_defaults", "Option", "Argument", "Field", "Env"})
#: Plain class-field declarations: their ``default=`` is a hardcoded value, not configuration.
PLAIN_FIELD_CALLEES: FrozenSet[str] = frozenset(
    {"dataclasses.field", "attr.ib", "attr.attrib", "attrs.field", "attr.field"}
)
#: Base classes whose fields read the environment (pydantic settings and friends).
SETTINGS_BASES: FrozenSet[str] = frozenset({"BaseSettings", "Settings", "AppSettings", "EnvSettings", "GoodConf"})
#: Names that mark an HTTP(S) proxy address (``http://`` is the proxy's normal scheme).
PROXY_NAME_TOKENS: FrozenSet[str] = frozenset({"proxy", "proxies"})
PROXY_KEYS: FrozenSet[str] = frozenset({"http", "https", "all", "http://", "https://", "all://", "ftp"})
#: Name tokens too generic to name an environment variable alone.
GENERIC_NAME_TOKENS: FrozenSet[str] = frozenset(
    {
        "url",
        "urls",
        "uri",
        "base",
        "api",
        "endpoint",
        "endpoints",
        "host",
        "server",
        "root",
        "address",
        "addr",
        "service",
        "remote",
        "target",
        "prefix",
        "path",
        "domain",
        "site",
        "rest",
        "gateway",
        "v1",
        "v2",
        "v3",
        "ws",
        "wss",
        "http",
        "https",
        "web",
        "main",
        "default",
        "defaults",
        "hook",
        "webhook",
    }
)
#: Name tokens that already say "this is an address".
URLISH_TOKENS: FrozenSet[str] = frozenset(
    {
        "url",
        "urls",
        "uri",
        "endpoint",
        "host",
        "base",
        "server",
        "address",
        "dsn",
        "webhook",
        "hook",
        "api",
        "tmpl",
        "template",
    }
)
#: Two-level public suffixes (to find the organisation label of a host).
SECOND_LEVEL_SUFFIXES: FrozenSet[str] = frozenset(
    {
        "co.uk",
        "org.uk",
        "ac.uk",
        "gov.uk",
        "com.au",
        "net.au",
        "org.au",
        "co.jp",
        "ne.jp",
        "or.jp",
        "com.br",
        "com.cn",
        "net.cn",
        "co.kr",
        "or.kr",
        "co.in",
        "co.nz",
        "com.mx",
        "com.tr",
        "com.sg",
        "com.hk",
        "co.za",
        "com.tw",
    }
)
#: Class attributes that name a homepage when the class never uses them.
METADATA_ATTRIBUTES: FrozenSet[str] = frozenset({"url", "homepage", "home_page", "website", "project_url"})
#: Files that hold package metadata or documentation configuration only.
METADATA_FILES: FrozenSet[str] = frozenset(
    {"setup.py", "__about__.py", "__pkginfo__.py", "_version.py", "__version__.py", "version.py", "about.py"}
)

# ---------------------------------------------------------------------------
# Hosts
# ---------------------------------------------------------------------------

_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$")


def valid_host(host: str) -> bool:
    """A syntactically complete DNS name or IP address (no placeholders)."""
    if not host:
        return False
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    name = host[:-1] if host.endswith(".") else host
    return bool(name) and all(_LABEL.match(label) for label in name.split("."))


def host_kind(host: str) -> str:
    """``external``, ``local``, ``internal``, ``example`` or ``placeholder``."""
    host = host.lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        if ip.is_loopback or ip.is_unspecified:
            return "local"
        if ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast or not ip.is_global:
            return "internal"  # includes the CGNAT range 100.64.0.0/10 (Tailscale's 100.100.100.100)
        return "external"
    labels = host.split(".")
    if host == "localhost" or labels[-1] == "localhost":
        return "local"
    if len(labels) == 1:
        return "internal"  # a service name on the cluster/compose network
    if labels[-1] in {"example", "test", "invalid"}:
        return "example"
    if labels[-1] in NOT_TLDS:
        return "placeholder"
    if labels[-1] in INTERNAL_TLDS or any(host == s or host.endswith("." + s) for s in INTERNAL_SUFFIXES):
        return "internal"
    if labels[-1].isdigit():
        return "internal"  # not a public name (a partial address or a version)
    if any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS):
        return "example"
    if host in PLACEHOLDER_DOMAINS or any(_PLACEHOLDER_LABEL.match(label) for label in labels):
        return "placeholder"
    return "external"


#: An ``allowed-hosts`` entry: a host (``api.corp.com``, ``*.corp.com``, ``.corp.com``,
#: ``localhost:8080``) or a URL whose host is meant; never blank or with spaces.
HOST_PATTERN = r"[^\s/]+|[A-Za-z][A-Za-z0-9+.-]*://[^\s/]+\S*"


def host_allowed(host: str, patterns: Sequence[str]) -> bool:
    """Whether ``host`` matches an ``allowed-hosts`` entry (``*.corp.com`` matches subdomains)."""
    host = host.lower().rstrip(".")
    for raw in patterns:
        pattern = raw.strip().lower().rstrip(".")
        if "://" in pattern:
            pattern = urlsplit(pattern).hostname or pattern
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif pattern.startswith("."):
            if host == pattern[1:] or host.endswith(pattern):
                return True
        elif host == pattern:
            return True
    return False


def organisation(host: str) -> str:
    """The label that names the organisation: ``stripe`` for ``api.stripe.com``."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in SECOND_LEVEL_SUFFIXES:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


# ---------------------------------------------------------------------------
# URL kinds
# ---------------------------------------------------------------------------


def is_identifier(host: str, path: str) -> bool:
    """A namespace, schema, vocabulary or feature identifier (never fetched)."""
    prefixes = IDENTIFIER_HOSTS.get(host)
    if prefixes is not None and any(path.startswith(p) for p in prefixes):
        return True
    return bool(IDENTIFIER_PATH.search(path))


def is_page(host: str, path: str, query: str, fragment_present: bool) -> bool:
    """A link for people (docs, repository pages, licences) or a browser asset."""
    if fragment_present:
        return True
    lower = path.lower()
    if lower.endswith(PAGE_SUFFIXES):
        return True
    if "/licenses/" in lower or "/licences/" in lower or lower.startswith("/license"):
        return True
    if lower.startswith(("/embed/", "/embeds/")):
        return True  # loaded by the browser in an iframe
    bare = host[4:] if host.startswith("www.") else host
    if host in DOC_HOSTS or bare in DOC_HOSTS or host.endswith((".readthedocs.io", ".readthedocs.org")):
        return "/api" not in lower and "api.php" not in lower
    if host.split(".")[0] in DOC_HOST_LABELS:
        return "/api/" not in lower
    if bare.endswith("wikipedia.org"):
        return "api.php" not in lower and "/api/" not in lower
    if host in CODE_HOSTS:
        return _code_host_page(path, query)
    if bare == "pypi.org":
        return lower.startswith("/project/")
    if bare == "python.org":
        return not lower.startswith("/ftp/")
    segments = [seg for seg in lower.split("/") if seg]
    if segments and segments[0] in PAGE_PATH_SEGMENTS and not query:
        # ``https://shopfront.io/docs/getting-started``: a product's pages, not its API host.
        return host.split(".")[0] not in ENDPOINT_LABELS
    return False


def is_browser_url(host: str, path: str) -> bool:
    """An image, font, tag or share dialog that the user's browser loads or opens."""
    bare = host[4:] if host.startswith("www.") else host
    if host in BROWSER_HOSTS or bare in BROWSER_HOSTS or host.endswith(".gravatar.com"):
        return True
    return path.lower().startswith(BROWSER_PATH_PREFIXES)


def is_plaintext_by_design(host: str, path: str) -> bool:
    """A captive-portal probe, an OCSP responder, a CRL or a CA certificate: ``http://`` on purpose."""
    lower = path.lower()
    if host in PLAINTEXT_PROBE_HOSTS and (host != "www.apple.com" or lower.startswith(PLAINTEXT_PROBE_PATHS)):
        return True
    if lower.startswith(PLAINTEXT_PROBE_PATHS):
        return True
    if any(label.startswith(SIGNED_OVER_HTTP_LABELS) for label in host.split(".")[:-2]):
        return True
    return lower.endswith(SIGNED_OVER_HTTP_SUFFIXES)


def _code_host_page(path: str, query: str) -> bool:
    segments = [s for s in path.split("/") if s]
    if path.endswith(".git"):
        return False
    if any(s in CODE_HOST_FETCH for s in segments):
        return False
    if len(segments) <= 2:
        return not query  # an owner or a repository page
    return segments[2] in CODE_HOST_PAGES


# ---------------------------------------------------------------------------
# Literals
# ---------------------------------------------------------------------------

_URL = re.compile(r"^(?P<scheme>https?|wss?)://(?P<rest>\S*)$", re.I)
_TEMPLATE = re.compile(r"\{[^{}]*\}|%[-+ #0-9.]*[sdrifxX]|%\([A-Za-z_]+\)[sdrifxX]|\$\{|<[A-Za-z_]+>")


@dataclass(frozen=True)
class UrlLiteral:
    """A string whose text is a URL (the head of an f-string)."""

    node: Union[cst.SimpleString, cst.FormattedString]
    text: str
    scheme: str
    host: str
    path: str
    query: str
    has_fragment: bool
    is_fstring: bool
    #: The literal is a template (``{}``/``%s`` placeholders) or an f-string.
    is_template: bool

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}"


def _split(text: str) -> Optional[SplitResult]:
    try:
        parts = urlsplit(text)
        _ = parts.hostname
    except ValueError:
        return None
    return parts


def parse_literal(node: cst.CSTNode) -> Optional[UrlLiteral]:
    """The URL a string node holds, if its whole text is one URL."""
    if isinstance(node, cst.SimpleString):
        if "b" in node.prefix.lower():
            return None
        if "://" not in node.value and "\\" not in node.value:
            return None  # no scheme separator, even after escapes: skip evaluating it
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001 - odd escapes: not a URL we can read
            return None
        if not isinstance(value, str):
            return None
        return _literal(node, value.strip(), value.strip(), False, True)
    if isinstance(node, cst.FormattedString):
        if "b" in node.prefix.lower() or not node.parts:
            return None
        texts = [p.value for p in node.parts if isinstance(p, cst.FormattedStringText)]
        if any(re.search(r"\s", t) for t in texts):
            return None  # a message that mentions a URL
        head = node.parts[0]
        if not isinstance(head, cst.FormattedStringText):
            return None
        return _literal(node, head.value, head.value, True, len(node.parts) == 1)
    return None


def _literal(
    node: Union[cst.SimpleString, cst.FormattedString], text: str, raw: str, is_f: bool, whole: bool
) -> Optional[UrlLiteral]:
    match = _URL.match(text)
    if match is None:
        return None
    parts = _split(text)
    if parts is None or parts.hostname is None:
        return None
    host = parts.hostname.rstrip(".")
    netloc_end = len(match.group("scheme")) + 3 + len(parts.netloc)
    if not valid_host(host) or parts.hostname.endswith("."):
        return None
    if is_f and not whole and netloc_end >= len(text):
        # The host runs into a replacement field: only a full dotted name counts.
        if "." not in host or text.endswith(("-", ".")):
            return None
    template = is_f or bool(_TEMPLATE.search(text))
    return UrlLiteral(
        node=node,
        text=text,
        scheme=match.group("scheme").lower(),
        host=host.lower(),
        path=parts.path,
        query=parts.query,
        has_fragment="#" in text,
        is_fstring=is_f,
        is_template=template,
    )


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------


def name_tokens(name: str) -> List[str]:
    """``STRIPE_API_BASE`` / ``stripeApiBase`` -> ``["stripe", "api", "base"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if t]


def target_name(expr: cst.BaseExpression) -> Optional[str]:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    if isinstance(expr, cst.Subscript) and len(expr.slice) == 1:
        index = expr.slice[0].slice
        if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
            value = string_value(index.value)
            return value
    return None


def string_value(node: cst.BaseExpression) -> Optional[str]:
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001
            return None
        return value if isinstance(value, str) else None
    return None


_VERSION_SEGMENT = re.compile(r"^(v\d+([._-]\d+)*[a-z]*|\d+([._-]\d+)*|\d{4}-\d{2}-\d{2})$", re.I)
_PLACEHOLDER_SEGMENT = re.compile(r"[{}%<>$]")


def _id_like(word: str) -> bool:
    """A segment that is data, not a name: a number, a hash, a token (``T024BE7LD``)."""
    if re.fullmatch(r"[0-9a-fA-F-]{8,}", word):
        return True
    parts = [p for p in re.split(r"[._-]+", word) if p]
    if len(parts) > 1:
        return any(_id_like(p) for p in parts)
    digits = sum(c.isdigit() for c in word)
    return digits >= 3 or (digits > 0 and any(c.isalpha() for c in word) and len(word) >= 8)


def _host_words(host: str, keep_api: bool) -> List[str]:
    """Organisation label first, then the other labels (``api.eu.opsgenie.com`` -> opsgenie, eu)."""
    labels = host.lower().rstrip(".").split(".")
    org = organisation(host)
    cut = labels.index(org) if org in labels else len(labels) - 1
    dropped = {"www"} if keep_api else {"www", "api", "apis"}
    subs = [
        label
        for label in labels[:cut]
        if label not in dropped and not _id_like(label) and (keep_api or not {"api", "apis"} & set(label.split("-")))
    ]
    # The two labels nearest the organisation, ``api`` last: GITHUB_API_URL (api.github.com)
    # differs from GITHUB_URL (github.com).
    subs = sorted(subs[-2:], key=lambda label: label in ("api", "apis"))
    return [org, *subs]


def _env_join(words: Sequence[str], prefix: str) -> str:
    joined = re.sub(r"[^A-Za-z0-9]+", "_", "_".join(words)).strip("_").upper()
    return f"{prefix}_{joined}" if joined[:1].isdigit() else joined


def env_name_for_host(host: str) -> str:
    """``GITHUB_API_URL`` for ``api.github.com``: one variable per host (the path stays in code)."""
    return _env_join([*_host_words(host, keep_api=True), "url"], "HOST")


def env_name_for_url(host: str, path: str) -> str:
    """One variable per distinct URL, named from its host and path, never from a response:
    ``api.eu.opsgenie.com/v2/alerts`` -> ``OPSGENIE_EU_ALERTS_URL``.

    ``api``/``www`` labels, ``api`` and version segments (``v2``, ``2010-04-01``),
    placeholders and ids are dropped, and so are words that repeat a host label.
    """
    host_words = _host_words(host, keep_api=False)
    labels = set(host.lower().split("."))
    words: List[str] = []
    for segment in path.split("/"):
        if not segment or segment.lower() in ("api", "apis") or _VERSION_SEGMENT.match(segment):
            continue
        if _PLACEHOLDER_SEGMENT.search(segment) or _id_like(segment):
            continue
        for word in re.split(r"[^A-Za-z0-9]+", segment):
            if len(word) > 1 and word.lower() not in labels and not _id_like(word):
                words.append(word)
    return _env_join([*host_words, *words[:4], "url"], "URL")


def env_var_name(name: Optional[str], host: str, constant: bool = False) -> str:
    """An environment variable name for a URL: from its variable, else from its host.

    A module constant keeps its own name (``STRIPE_API_BASE``) unless the name
    is generic (``BASE_URL`` becomes ``STRIPE_BASE_URL``); other names (an
    attribute, keyword, key or parameter) get the organisation's label in front.
    """
    org = organisation(host)
    if name:
        tokens = [t for t in name_tokens(name) if t not in {"default", "defaults"}]
        if tokens:
            generic = all(t in GENERIC_NAME_TOKENS for t in tokens)
            org_tokens = name_tokens(org)
            if (generic or not constant) and not set(org_tokens) <= set(tokens):
                tokens = org_tokens + tokens
            if not constant and not set(tokens) & URLISH_TOKENS:
                tokens.append("url")
            joined = "_".join(tokens).upper()
            if joined and joined[0].isdigit():
                joined = "URL_" + joined
            return joined
    joined = re.sub(r"[^A-Za-z0-9]+", "_", host).strip("_").upper()
    if joined and joined[0].isdigit():
        joined = "HOST_" + joined
    return f"{joined}_URL"


def rebuild_scheme(node: cst.CSTNode, scheme: str, secure: str) -> Optional[Tuple[cst.CSTNode, str]]:
    """The node to replace and its new source text with ``scheme://`` made ``secure://``."""
    old = f"{scheme}://"
    if isinstance(node, cst.SimpleString):
        raw = node.value
        start = len(node.prefix) + len(node.quote)
        body = raw[start:]
        stripped = body.lstrip(" ")
        if not stripped.startswith(old):
            return None
        at = start + len(body) - len(stripped)
        return node, raw[:at] + f"{secure}://" + raw[at + len(old) :]
    if isinstance(node, cst.FormattedString) and node.parts:
        head = node.parts[0]
        if isinstance(head, cst.FormattedStringText) and head.value.startswith(old):
            return head, f"{secure}://" + head.value[len(old) :]
    return None


#: First host labels of API and data endpoints.
ENDPOINT_LABELS: FrozenSet[str] = frozenset(
    {
        "api",
        "apis",
        "hooks",
        "hook",
        "rest",
        "ws",
        "wss",
        "stream",
        "streaming",
        "gateway",
        "ingest",
        "upload",
        "uploads",
        "download",
        "downloads",
        "dl",
        "files",
        "graph",
        "data",
        "services",
        "auth",
        "oauth",
        "login",
        "accounts",
        "sts",
        "s3",
        "storage",
        "feeds",
        "rpc",
        "push",
        "events",
        "collector",
        "sandbox",
        "registry",
        "pypi",
        "mirror",
        "repo",
        "cdn",
        "raw",
    }
)
_ENDPOINT_SEGMENT = re.compile(
    r"^(api|apis|rest|v\d+(\.\d+)*|graphql|oauth2?|token|rpc|json|xml|services?|query|search|webhooks?|hooks?|ws|"
    r"socket|feeds?|rss|download|downloads|upload|simple|pypi|raw|\d{4}-\d{2}-\d{2})$",
    re.I,
)
_DATA_SUFFIX = re.compile(
    r"\.(json|xml|php|asmx|aspx|rss|atom|csv|zip|gz|tgz|bz2|xz|whl|tar|bin|pt|pth|onnx|exe|msi|sh)$", re.I
)


def looks_like_endpoint(literal: UrlLiteral) -> bool:
    """A URL shaped like an API or download (not a website's page)."""
    if literal.scheme in ("ws", "wss") or literal.query or literal.is_template:
        return True
    head = literal.text.split("://", 1)[1].split("/", 1)[0]
    if "@" in head or ":" in head.replace("[", "").replace("]", "")[-6:]:
        return True
    if literal.host.split(".")[0] in ENDPOINT_LABELS:
        return True
    segments = [s for s in literal.path.split("/") if s]
    if any(_ENDPOINT_SEGMENT.match(s) for s in segments):
        return True
    return bool(_DATA_SUFFIX.search(literal.path))


def quiet_name(name: str, keyword: bool = True) -> str:
    """Why a URL bound to ``name`` is not a service the code calls ("" when it may be).

    Redirect names (``cancel_url``) count for keywords and keys only (``success_url=``
    of a checkout session), not for variables (``cancel_url = TMPL % key`` is posted).
    """
    tokens = set(name_tokens(name))
    if name.startswith("__") and name.endswith("__"):
        return "metadata"
    if tokens & CLAIM_NAME_TOKENS:
        return "identifier"
    if tokens & OPENAPI_NAME_TOKENS:
        return "metadata"
    if tokens & SERVICE_NAME_TOKENS:
        return ""
    if keyword and tokens & REDIRECT_NAME_TOKENS and tokens & ADDRESS_NAME_TOKENS:
        return "page"
    if tokens & SAMPLE_NAME_TOKENS:
        return "sample"
    if tokens & IDENTIFIER_NAME_TOKENS or any(w in name.lower() for w in IDENTIFIER_NAME_PARTS):
        return "identifier"
    if tokens & PAGE_NAME_TOKENS:
        return "page"
    return ""


def has_space_text(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.SimpleString):
        value = string_value(node)
        return value is not None and bool(re.search(r"\s", value))
    if isinstance(node, cst.FormattedString):
        return any(isinstance(p, cst.FormattedStringText) and re.search(r"\s", p.value) for p in node.parts)
    if isinstance(node, cst.ConcatenatedString):
        return has_space_text(node.left) or has_space_text(node.right)
    return False


#: Verbs of function names that fetch or send (their URL is a service, whatever the noun).
DATA_VERBS = frozenset(
    {"fetch", "download", "upload", "sync", "push", "pull", "post", "send", "call", "request", "load"}
)
#: A dict with at least this many URLs on at least that many sites is a link table.
LINK_TABLE_SIZE = 8
LINK_TABLE_SITES = 4


def is_settings_module(path: str) -> bool:
    """``settings.py``, ``settings/production.py``, ``local_settings.py``, ``settings_dev.py``."""
    parts = path.replace("\\", "/").split("/")
    base = parts[-1][: -len(".py")] if parts[-1].endswith(".py") else parts[-1]
    return "settings" in name_tokens(base) or (len(parts) > 1 and parts[-2] == "settings")


def is_literal(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString, cst.Integer, cst.Float))


def is_slice(expr: cst.BaseExpression) -> bool:
    """``url[23:]``: a piece of a value the program holds (a stored URL being rewritten)."""
    return isinstance(expr, cst.Subscript) and any(isinstance(e.slice, cst.Slice) for e in expr.slice)


def html_path(statement: Union[cst.Assign, cst.AugAssign], names: Set[str]) -> bool:
    """``path = path[:-3] + ".html"``: one of ``names`` is made to end in ``.html``."""
    targets = [t.target for t in statement.targets] if isinstance(statement, cst.Assign) else [statement.target]
    if not any(isinstance(t, cst.Name) and t.value in names for t in targets):
        return False
    return any(
        isinstance(n, cst.SimpleString) and (string_value(n) or "").endswith((".html", ".htm"))
        for n in iter_nodes(statement.value)
    )
