"""OPS501/OPS503/OPS504 knowledge as data: the tables of hosts, names, calls and keywords
that ``_urls.py`` (pure functions of a URL, a host or a name) and the URL family's
analyses read.  Only data lives here; each table says what it is for."""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Tuple

#: Schemes the rules look at, and the secure form of each plaintext one.
SCHEMES: Tuple[str, ...] = ("http", "https", "ws", "wss")
SECURE_SCHEME: Dict[str, str] = {"http": "https", "ws": "wss"}
#: Prefilter tokens (a file without any of them cannot hold a URL literal).
TOKENS: Tuple[str, ...] = ("http://", "https://", "ws://", "wss://", "HTTP://", "HTTPS://", "Http://", "Https://")

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
        # Kubernetes ``<service>.<namespace>`` short names: common namespaces that are no
        # public top-level domain (``http://pushgateway.monitoring:9091``)
        "monitoring",
        "observability",
        "logging",
        "metrics",
        "tracing",
        "kafka",
        "prometheus",
        "grafana",
        "infra",
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
PLACEHOLDER_LABEL = re.compile(
    r"^(your|my)[-_]?(own[-_]?)?(domain|site|server|host|hostname|company|app|api|org|organi[sz]ation|instance|"
    r"tenant|account|bucket|project|workspace|endpoint|name|url|service|store|shop|team|subdomain|region)s?$"
    r"|^your[-_a-z0-9]*$|^x{3,}$|^placeholder$|^changeme$|^dummy$|^fake$"
)

#: Hosts whose URLs are identifiers (XML/RDF namespaces, schemas, DTDs,
#: vocabularies, feature names), mapped to the path prefixes that are
#: identifiers ("" = every path on that host).
IDENTIFIER_HOSTS: Dict[str, Tuple[str, ...]] = {
    "www.w3.org": ("",),
    # A DOI in its standard form (``https://doi.org/10.1000/xyz``) names a work.
    "doi.org": ("/10.",),
    "dx.doi.org": ("/10.",),
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
    "specs.openid.net": ("/auth/", "/extensions/"),
    "openid.net": ("/srv/", "/signon/", "/specs/", "/extensions/"),
    "axschema.org": ("",),
    "purl.org": ("",),
    "purl.oclc.org": ("",),
    "json-schema.org": ("",),
    "json.schemastore.org": ("",),
    "www.schemastore.org": ("",),
    "spec.openapis.org": ("",),
    # OPDS catalogs: link relations and the catalog namespace (``http://opds-spec.org/acquisition``)
    "opds-spec.org": ("",),
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
#: With ``type``, name tokens of an RFC 9457 problem type (``problem_type``, ``error_type_uri``):
#: a URI that identifies a kind of error in an API's answers, not a service it calls.
PROBLEM_TYPE_TOKENS: FrozenSet[str] = frozenset({"problem", "error", "errors", "uri"})
#: Parts of run-together names (``SCHEMALOCATION``) that mark an identifier.
IDENTIFIER_NAME_PARTS: Tuple[str, ...] = ("schema", "namespace", "xmlns", "ontology", "vocab")
#: Name tokens that make an identifier-looking name a service after all.
SERVICE_NAME_TOKENS: FrozenSet[str] = frozenset(
    {"registry", "api", "apis", "endpoint", "endpoints", "server", "service", "host", "webhook", "hook", "gateway"}
)
#: Name tokens that mark a link for humans or our own public address, not a
#: service the code calls.
#: Page names that say "the deployment's own site" (links built from it are sent to people).
SITE_NAME_TOKENS: FrozenSet[str] = frozenset({"site", "frontend", "public"})
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
        "thumb",
        "thumbnail",
        "cover",
        "poster",
        "badge",
        "css",
        "stylesheet",
        "font",
        "favicon",
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
        "uploader",
        "photographer",
        "attribution",
        "credit",
        "credits",
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
#: Keys of a link in a record shown to people (a search result, a feed item)...
LINK_KEYS: FrozenSet[str] = frozenset({"url", "link", "href", "permalink"})
#: ... recognised by the text beside it: a title, a snippet, a caption.
RECORD_KEYS: FrozenSet[str] = frozenset(
    {"title", "content", "snippet", "summary", "caption", "label", "img_src", "thumbnail", "thumbnail_src"}
)

#: Name tokens of a key that credits a work (``license_id``, ``license_author``,
#: ``attribution``): a record holding one is an attribution stored with the data it
#: credits, and every ``*_url`` beside it (``source_url``, ``object_url``) is a link
#: for people, never requested.
CREDIT_KEY_TOKENS: FrozenSet[str] = frozenset({"license", "licence", "attribution", "copyright"})

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
    }
)
#: Callees (last names, or qualified) that send the user's browser to a URL: no server
#: connection (OPS501), but a plaintext one still exposes what the URL carries (OPS504).
BROWSER_CALLEES: FrozenSet[str] = frozenset(
    {"redirect", "RedirectResponse", "HttpResponseRedirect", "HttpResponsePermanentRedirect", "open_new_tab"}
    | {"webbrowser.open", "webbrowser.open_new", "webbrowser.open_new_tab", "click.launch", "typer.launch"}
)
#: HTTP mocking libraries (and the usual names of their mock objects): a URL
#: registered with them is never called.
MOCK_MODULES: Tuple[str, ...] = ("responses", "respx", "httpretty", "requests_mock", "aioresponses", "pytest_httpx")
#: What builds fake HTTP traffic: a module importing one is test support (a test double
#: plugin's canned responses), whatever its path.
HTTP_FAKES: Tuple[str, ...] = (
    *MOCK_MODULES,
    "googleapiclient.http.HttpMock",
    "googleapiclient.http.HttpMockSequence",
    "googleapiclient.http.HttpRequestMock",
)
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
CONFIG_DEFAULT_CALLS: FrozenSet[str] = frozenset(
    # django-configurations' ``values.URLValue(default)`` reads ``DJANGO_<NAME>`` from the environment
    {"set_defaults", "Option", "Argument", "Field", "Env", "URLValue", "Value", "SecretValue"}
)
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
