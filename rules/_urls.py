"""OPS501/OPS504 knowledge: URL literals, host classification, and the contexts
where a URL in code is not a connection to an external service.

A URL literal is a string (or the text head of an f-string) that *is* a URL:
``"https://api.stripe.com/v1"``.  Text that merely mentions a URL (``"see
https://docs..."``) is documentation.  A URL is *external* when its host is a
public name or address: not loopback, private, link-local, reserved for
documentation (``example.com``, ``.test``, RFC 5737 addresses), not a
cluster-internal name (single label, ``.svc``, ``.cluster.local``,
``.internal``) and not a placeholder (``your-domain.com``).

This module holds the pure functions of a URL, a host or a name; the tables of hosts,
names, calls and keywords they read are ``_url_tables.py``.  Where a literal sits in the
code (a docstring, a message, the default of a lookup, a settings class...)
is the family analysis ``_url_uses.py`` (``UrlUses``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from typing import FrozenSet, List, Optional, Sequence, Set, Tuple, Union
from urllib.parse import SplitResult, urlsplit

import libcst as cst

from opslint.rules import _url_tables as T
from opslint.syntax.walk import iter_nodes

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
    if labels[-1] in T.NOT_TLDS:
        return "placeholder"
    if labels[-1] in T.INTERNAL_TLDS or any(host == s or host.endswith("." + s) for s in T.INTERNAL_SUFFIXES):
        return "internal"
    if labels[-1].isdigit():
        return "internal"  # not a public name (a partial address or a version)
    if "-" in labels[-1] and not labels[-1].startswith("xn--"):
        return "internal"  # no public top-level domain has a hyphen: ``svc.kube-system``
    if any(host == d or host.endswith("." + d) for d in T.EXAMPLE_DOMAINS):
        return "example"
    if host in T.PLACEHOLDER_DOMAINS or any(T.PLACEHOLDER_LABEL.match(label) for label in labels):
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
    if len(labels) >= 3 and ".".join(labels[-2:]) in T.SECOND_LEVEL_SUFFIXES:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


# ---------------------------------------------------------------------------
# URL kinds
# ---------------------------------------------------------------------------


def is_identifier(host: str, path: str) -> bool:
    """A namespace, schema, vocabulary or feature identifier (never fetched)."""
    prefixes = T.IDENTIFIER_HOSTS.get(host)
    if prefixes is not None and any(path.startswith(p) for p in prefixes):
        return True
    return bool(T.IDENTIFIER_PATH.search(path))


def is_page(host: str, path: str, query: str, fragment_present: bool) -> bool:
    """A link for people (docs, repository pages, licences) or a browser asset."""
    if fragment_present:
        return True
    lower = path.lower()
    if lower.endswith(T.PAGE_SUFFIXES):
        return True
    if "/licenses/" in lower or "/licences/" in lower or lower.startswith("/license"):
        return True
    if lower.startswith(("/embed/", "/embeds/")):
        return True  # loaded by the browser in an iframe
    bare = host[4:] if host.startswith("www.") else host
    if host in T.DOC_HOSTS or bare in T.DOC_HOSTS or host.endswith((".readthedocs.io", ".readthedocs.org")):
        return "/api" not in lower and "api.php" not in lower
    if host.split(".")[0] in T.DOC_HOST_LABELS:
        return "/api/" not in lower
    if bare.endswith("wikipedia.org"):
        return "api.php" not in lower and "/api/" not in lower
    if host in T.CODE_HOSTS:
        return _code_host_page(path, query)
    if bare == "pypi.org":
        return lower.startswith("/project/")
    if bare == "python.org":
        return not lower.startswith("/ftp/")
    segments = [seg for seg in lower.split("/") if seg]
    if segments and segments[0] in T.PAGE_PATH_SEGMENTS and not query:
        # ``https://shopfront.io/docs/getting-started``: a product's pages, not its API host.
        return host.split(".")[0] not in ENDPOINT_LABELS
    return False


def is_browser_url(host: str, path: str) -> bool:
    """An image, font, tag or share dialog that the user's browser loads or opens."""
    bare = host[4:] if host.startswith("www.") else host
    if host in T.BROWSER_HOSTS or bare in T.BROWSER_HOSTS or host.endswith(".gravatar.com"):
        return True
    return path.lower().startswith(T.BROWSER_PATH_PREFIXES)


def is_plaintext_by_design(host: str, path: str) -> bool:
    """A captive-portal probe, an OCSP responder, a CRL or a CA certificate: ``http://`` on purpose."""
    lower = path.lower()
    if host in T.PLAINTEXT_PROBE_HOSTS and (host != "www.apple.com" or lower.startswith(T.PLAINTEXT_PROBE_PATHS)):
        return True
    if lower.startswith(T.PLAINTEXT_PROBE_PATHS):
        return True
    if any(label.startswith(T.SIGNED_OVER_HTTP_LABELS) for label in host.split(".")[:-2]):
        return True
    return lower.endswith(T.SIGNED_OVER_HTTP_SUFFIXES)


def _code_host_page(path: str, query: str) -> bool:
    segments = [s for s in path.split("/") if s]
    if path.endswith(".git"):
        return False
    if any(s in T.CODE_HOST_FETCH for s in segments):
        return False
    if len(segments) <= 2:
        return not query  # an owner or a repository page
    return segments[2] in T.CODE_HOST_PAGES


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
        value = _text_of(node)
        if value is None:
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


#: ``http://%s.api.vendor.com/v2`` / ``http://{region}.vendor.com``: a placeholder as the
#: first host label(s), then a literal domain.
_LEADING_FIELD = re.compile(r"^(?:[A-Za-z0-9-]+\.)*(?:%[-+ #0-9.]*s|%\([A-Za-z_]+\)s|\{[^{}]*\})\.(?=[A-Za-z0-9])")
#: The head of an f-string URL before a host placeholder: the scheme, then whole labels
#: (``http://`` or ``http://ecs.`` in ``f"http://ecs.{region}.aliyuncs.com"``).
_HOST_HEAD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[A-Za-z0-9-]+\.)*$")


#: A shell command that downloads what its URL names (``curl -fsSL http://... | tar -xz``).
_DOWNLOAD_COMMAND = re.compile(r"^\s*(?:sudo\s+)?(?:curl|wget|aria2c)\s")
_URL_IN_TEXT = re.compile(r"(?<![\w/])(?:https?|wss?)://[^\s'\"|;&()<>]+", re.I)


def simple_pieces(node: cst.CSTNode) -> List[cst.SimpleString]:
    """The plain strings of a string or of an implicit concatenation of them
    (``"curl -fsS " "http://mirror/x"``); empty when a piece is an f-string."""
    pieces: List[cst.SimpleString] = []
    part: cst.CSTNode = node
    while isinstance(part, cst.ConcatenatedString):
        if not isinstance(part.left, cst.SimpleString):
            return []
        pieces.append(part.left)
        part = part.right
    if not isinstance(part, cst.SimpleString):
        return []
    pieces.append(part)
    return pieces


def command_urls(node: cst.CSTNode) -> List[UrlLiteral]:
    """The URLs inside a download command written as a string (``"curl -fsS http://mirror/x"``,
    or pieces of an implicit concatenation), each held by the piece it is written in."""
    if isinstance(node, cst.FormattedString):
        texts = [p.value if isinstance(p, cst.FormattedStringText) else "{}" for p in node.parts]
        if "b" in node.prefix.lower() or not _DOWNLOAD_COMMAND.match("".join(texts)):
            return []
        urls = [m.group(0) for t in texts for m in _URL_IN_TEXT.finditer(t)]
        return [lit for url in urls if (lit := _literal(node, url, url, True, True)) is not None]
    pieces = simple_pieces(node)
    values = [p.evaluated_value for p in pieces]
    if not pieces or not all(isinstance(v, str) for v in values) or not _DOWNLOAD_COMMAND.match(str(values[0])):
        return []
    out: List[UrlLiteral] = []
    for piece, value in zip(pieces, values):
        for match in _URL_IN_TEXT.finditer(str(value)):
            literal = _literal(piece, match.group(0), match.group(0), False, False)
            if literal is not None:
                out.append(literal)
    return out


def parse_open_literal(node: cst.CSTNode) -> Optional[UrlLiteral]:
    """A URL whose host starts with a placeholder (``f"http://{bucket}.s3.amazonaws.com/..."``,
    ``"http://%s.api.vendor.com"``), with the literal rest of the host as ``host``
    (``s3.amazonaws.com``); or a URL split over an implicit concatenation
    (``"http://" "api.vendor.com/v1"``), held by its first piece.  ``parse_literal``
    reads neither: the scheme (what OPS504 is about) is all that is certain of them."""
    if isinstance(node, cst.ConcatenatedString):
        pieces = simple_pieces(node)
        if not pieces:
            return None
        values = [p.evaluated_value for p in pieces if "b" not in p.prefix.lower()]
        if len(values) != len(pieces) or not all(isinstance(v, str) for v in values):
            return None
        first = str(values[0])
        if _URL.match(first) is None or not first.endswith("://"):
            return None  # the first piece holds more than the scheme: parse_literal reads it
        text = "".join(str(v) for v in values).strip()
        if re.search(r"\s", text):
            return None
        return _literal(pieces[0], text, text, False, True)
    if isinstance(node, cst.FormattedString):
        if "b" in node.prefix.lower() or len(node.parts) < 3:
            return None
        with_userinfo = _userinfo_literal(node)
        if with_userinfo is not None:
            return with_userinfo
        head, field, rest = node.parts[0], node.parts[1], node.parts[2]
        if not (isinstance(head, cst.FormattedStringText) and isinstance(rest, cst.FormattedStringText)):
            return None
        if not isinstance(field, cst.FormattedStringExpression) or not rest.value.startswith("."):
            return None
        texts = [p.value for p in node.parts if isinstance(p, cst.FormattedStringText)]
        if any(re.search(r"\s", t) for t in texts) or _URL.match(head.value) is None:
            return None
        if _HOST_HEAD.match(head.value) is None:
            return None
        scheme = head.value[: head.value.index("://") + 3]
        found = _literal(node, scheme + "x" + rest.value, head.value, True, len(node.parts) == 3)
        return _open(found)
    if (
        isinstance(node, cst.SimpleString)
        and ("%" in node.value or "{" in node.value)
        and "b" not in node.prefix.lower()
    ):
        value = _text_of(node)
        if value is None:
            return None
        match = _URL.match(value.strip())
        if match is None:
            return None
        leading = _LEADING_FIELD.match(match.group("rest"))
        if leading is None:
            return None
        text = f"{match.group('scheme')}://x.{match.group('rest')[leading.end() :]}"
        return _open(_literal(node, text, value, False, True))
    return None


#: ``f"http://{user}:{password}@trac.example.org/xmlrpc"``: the scheme, then placeholders
#: and literal text up to an ``@`` that ends the user information.
_SCHEME_ONLY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*$")


def _userinfo_literal(node: cst.FormattedString) -> Optional[UrlLiteral]:
    """An f-string URL whose user information is interpolated before a literal host."""
    head = node.parts[0]
    if not isinstance(head, cst.FormattedStringText) or _SCHEME_ONLY.match(head.value) is None:
        return None
    for part in node.parts[1:]:
        if not isinstance(part, cst.FormattedStringText):
            continue
        before, at, after = part.value.partition("@")
        if re.search(r"[/\s]", before):
            return None
        if not at:
            continue
        if not after[:1].isalnum():
            return None
        scheme = head.value[: head.value.index("://") + 3]
        found = _literal(node, scheme + after, head.value, True, False)
        return replace(found, is_template=False) if found is not None else None
    return None


def _text_of(node: cst.SimpleString) -> Optional[str]:
    """The text a (non-bytes) string literal holds; None when its escapes do not evaluate."""
    try:
        value = node.evaluated_value
    except Exception:  # noqa: BLE001 - odd escapes: not a URL we can read
        return None
    return value if isinstance(value, str) else None


def _open(found: Optional[UrlLiteral]) -> Optional[UrlLiteral]:
    """``found`` (parsed with ``x`` for the placeholder) with the placeholder label dropped."""
    if found is None or not found.host.startswith("x."):
        return None
    return replace(found, host=found.host[2:], is_template=True)


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
#: A file extension on a path segment says nothing of what the URL is (``Calls.json``).
_EXTENSION = re.compile(r"\.(json|xml|html?|php|aspx?|cgi|jsp|txt)$", re.I)


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
    placeholders, ids and file extensions are dropped, and so are words that repeat a
    host label.
    """
    host_words = _host_words(host, keep_api=False)
    labels = set(host.lower().split("."))
    words: List[str] = []
    for segment in path.split("/"):
        if not segment or segment.lower() in ("api", "apis") or _VERSION_SEGMENT.match(segment):
            continue
        if _PLACEHOLDER_SEGMENT.search(segment) or _id_like(segment):
            continue
        for word in re.split(r"[^A-Za-z0-9]+", _EXTENSION.sub("", segment)):
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
            generic = all(t in T.GENERIC_NAME_TOKENS for t in tokens)
            org_tokens = name_tokens(org)
            if (generic or not constant) and not set(org_tokens) <= set(tokens):
                tokens = org_tokens + tokens
            if not constant and not set(tokens) & T.URLISH_TOKENS:
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
    if tokens & T.CLAIM_NAME_TOKENS:
        return "identifier"
    if tokens & T.OPENAPI_NAME_TOKENS:
        return "metadata"
    if tokens & T.SERVICE_NAME_TOKENS:
        return ""
    if keyword and tokens & T.REDIRECT_NAME_TOKENS and tokens & T.ADDRESS_NAME_TOKENS:
        return "page"
    if tokens & T.SAMPLE_NAME_TOKENS:
        return "sample"
    if tokens & T.IDENTIFIER_NAME_TOKENS or any(w in name.lower() for w in T.IDENTIFIER_NAME_PARTS):
        return "identifier"
    if "type" in tokens and tokens & T.PROBLEM_TYPE_TOKENS:
        return "identifier"
    if tokens & T.PAGE_NAME_TOKENS:
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
