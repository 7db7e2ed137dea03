"""Where a URL literal sits, read from the traversal's ancestor stack (OPS501/OPS504).

:func:`analyse` turns a string node into a :class:`UrlUse`: why it is not a
connection when it is not (a docstring, a message, an identifier, a mock, a page for
people...), whether it is already the default of a configuration lookup, whether the
user's browser is what loads it, the name it is bound to.  Which calls read
configuration with a fallback, and which names they fall back to, is asked of
``_url_config.py``.  The per-file state lives in ``_url_uses.UrlUses``, which this
module only reads through :class:`_url_config.Facts`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Union

import libcst as cst

from opslint.rules import _net
from opslint.rules._url_config import (
    Facts,
    callee_parts,
    contains_lookup,
    fallback_branch,
    is_settings,
    lookup_default_args,
)
from opslint.rules._url_tables import (
    ADDRESS_NAME_TOKENS,
    BROWSER_CALLEES,
    BROWSER_NAME_TOKENS,
    CONFIG_DEFAULT_CALLS,
    CREDIT_KEY_TOKENS,
    DEFAULT_KEYWORDS,
    LINK_KEYS,
    MESSAGE_CALLS,
    MESSAGE_KEYWORDS,
    METADATA_FILES,
    MOCK_MODULES,
    MOCK_RECEIVERS,
    NAMESPACE_CALLS,
    OPENAPI_KEYS,
    PATTERN_MODULES,
    PLAIN_FIELD_CALLEES,
    PROXY_KEYS,
    PROXY_NAME_TOKENS,
    QUIET_CALLEES,
    RECORD_KEYS,
    REDIRECT_NAME_TOKENS,
    SITE_NAME_TOKENS,
    STRING_TEST_METHODS,
    TEMPLATE_DECORATORS,
)
from opslint.rules._urls import (
    DATA_VERBS,
    LINK_TABLE_SITES,
    LINK_TABLE_SIZE,
    UrlLiteral,
    has_space_text,
    host_kind,
    html_path,
    is_browser_url,
    is_identifier,
    is_literal,
    is_page,
    is_slice,
    looks_like_endpoint,
    name_tokens,
    organisation,
    parse_literal,
    quiet_name,
    string_value,
    target_name,
)
from opslint.syntax.names import dotted_name
from opslint.syntax.walk import iter_nodes, walk

# ---------------------------------------------------------------------------
# Context analysis
# ---------------------------------------------------------------------------


@dataclass
class UrlUse:
    literal: UrlLiteral
    #: Why the URL is not a connection (docstring, message, identifier...), or "".
    quiet: str = ""
    #: The default of a configuration lookup (env var, settings, CLI option).
    configured: bool = False
    #: A proxy address (``http://`` is the usual scheme of a proxy).
    proxy: bool = False
    #: The variable, attribute, keyword or key the URL is bound to.
    name: Optional[str] = None
    #: A module/class-level ``NAME = "<url>"`` (its use elsewhere may configure it).
    constant: Optional[str] = None
    #: Part of an implicit concatenation (the literal cannot be wrapped alone).
    in_concat: bool = False
    #: In a list/tuple/set of URLs.
    in_collection: bool = False
    #: The module/class-level name of the table (dict, list) holding the URL.
    container: Optional[str] = None
    #: ``constant`` (or ``container``) is a class attribute.
    class_level: bool = False
    #: Can be replaced by an expression (not a pattern, annotation, etc.).
    replaceable: bool = True
    extra: Dict[str, str] = field(default_factory=dict)
    #: Loaded or opened by the user's browser (an avatar, a share dialog, a template
    #: link, a CSP report URI): no server connection (OPS501), still plaintext (OPS504).
    browser: bool = False
    #: What ``name`` is: "constant" (module/class level), "keyword" (argument, key,
    #: parameter) or "local" (a function's variable); "" without a name.
    name_kind: str = ""
    #: A direct operand of ``+`` (``"https://host/commits/" + sha``): the fix cannot
    #: replace the literal alone.
    in_sum: bool = False
    #: Order among the file's URL literals and constant uses (set by :class:`UrlUses`).
    seq: int = 0
    #: Quiet as a page only because its name says it is the deployment's own site
    #: (``SITE_URL``, ``FRONTEND_URL``): links built from it reach people, and OPS504 still
    #: reads it (plaintext links).
    named_page: bool = False


def analyse(facts: Facts, node: Union[cst.SimpleString, cst.FormattedString]) -> Optional[UrlUse]:
    """The URL a string node holds and its context (None: not a URL)."""
    literal = parse_literal(node)
    use: Optional[UrlUse] = None
    if literal is not None:
        use = UrlUse(literal)
        kind = host_kind(literal.host)
        if kind != "external":
            use.quiet = f"{kind} host"
        elif is_identifier(literal.host, literal.path):
            use.quiet = "identifier"
        elif is_page(literal.host, literal.path, literal.query, literal.has_fragment):
            use.quiet = "page"
        elif _concatenated_page(facts, literal) or _formatted_page(node, literal):
            use.quiet = "page"
        else:
            _context(facts, use)
    return use


def _formatted_page(node: cst.CSTNode, literal: UrlLiteral) -> bool:
    """``f"https://groups.google.com/a/{domain}/forum/#!forum/{name}"``: an f-string whose
    text after a placeholder holds a fragment, which only a browser reads (an HTTP client
    never sends it).  A page suffix there is not enough: ``f".../svg/{name}.svg"`` is as
    often downloaded by a script."""
    if not isinstance(node, cst.FormattedString) or len(node.parts) < 2:
        return False
    text = "".join(p.value if isinstance(p, cst.FormattedStringText) else "x" for p in node.parts)
    whole = parse_literal(cst.SimpleString(repr(text)))
    if whole is None or whole.host != literal.host:
        return False
    return whole.has_fragment


def _concatenated_page(facts: Facts, literal: UrlLiteral) -> bool:
    """``("https://scikit-learn.org/stable/" "model_persistence.html")``: the head of an
    implicit concatenation is judged with the pieces written after it."""
    stack = facts.ctx.stack
    if len(stack) < 2 or not isinstance(stack[-2], cst.ConcatenatedString) or stack[-2].left is not literal.node:
        return False
    outer = stack[-2]
    for parent in reversed(stack[:-2]):
        if not isinstance(parent, cst.ConcatenatedString):
            break
        outer = parent
    text = _leading_text(outer)
    if text is None:
        return False
    whole = parse_literal(cst.SimpleString(repr(text)))
    if whole is None or whole.host != literal.host:
        return False
    return is_page(whole.host, whole.path, whole.query, whole.has_fragment) or is_browser_url(whole.host, whole.path)


def _leading_text(node: cst.BaseExpression) -> Optional[str]:
    """The text of a concatenation of literals up to its first interpolation."""
    if isinstance(node, cst.SimpleString):
        value = string_value(node)
        return value
    if isinstance(node, cst.FormattedString):
        head = node.parts[0] if node.parts else None
        return head.value if isinstance(head, cst.FormattedStringText) else ""
    if isinstance(node, cst.ConcatenatedString):
        left = _leading_text(node.left)
        if left is None:
            return None
        if isinstance(node.left, cst.FormattedString) and len(node.left.parts) > 1:
            return left
        right = _leading_text(node.right)
        return left + right if right is not None else left
    return None


def _context(facts: Facts, use: UrlUse) -> None:  # noqa: C901 - one walk, many small cases
    stack = facts.ctx.stack
    base = facts.ctx.path.replace("\\", "/").rsplit("/", 1)[-1]
    if base in METADATA_FILES or (base == "conf.py" and "doc" in facts.ctx.path.lower()):
        use.quiet = "metadata file"
        return
    if _in_library_self_test(facts, stack):
        use.quiet = "self-test demo"
        return
    if is_browser_url(use.literal.host, use.literal.path):
        use.browser = True
    direct = True  # only string-ish wrappers crossed so far
    data_call_seen = False  # crossed a call that consumes the URL as data
    child: cst.CSTNode = stack[-1]
    for parent in reversed(stack[:-1]):
        if isinstance(parent, cst.ConcatenatedString):
            use.in_concat = True
            for piece in (parent.left, parent.right):
                if piece is not child and has_space_text(piece):
                    use.quiet = "message"
                    return
        elif isinstance(parent, cst.FormattedStringExpression):
            direct = False
        elif isinstance(parent, cst.FormattedString):
            if any(isinstance(p, cst.FormattedStringText) and re.search(r"\s", p.value) for p in parent.parts):
                use.quiet = "message"
                return
            use.replaceable = False
        elif isinstance(parent, cst.Expr):
            if direct:
                use.quiet = "docstring"
            return
        elif isinstance(parent, (cst.Annotation, cst.MatchValue, cst.MatchSingleton)):
            use.quiet = "annotation or pattern"
            return
        elif isinstance(parent, (cst.Comparison, cst.ComparisonTarget)):
            use.quiet = "comparison"
            return
        elif isinstance(parent, (cst.Raise, cst.Assert, cst.Del)):
            use.quiet = "message"
            return
        elif isinstance(parent, cst.BinaryOperation):
            other = parent.right if parent.left is child else parent.left
            if isinstance(parent.operator, cst.Add):
                if has_space_text(other):
                    use.quiet = "message"
                    return
                if is_slice(other):
                    use.quiet = "rewrite of a stored URL"  # ``"https://discord.com/" + url[23:]``
                    return
                use.in_sum = use.in_sum or direct
            direct = False
        elif isinstance(parent, cst.BooleanOperation):
            direct = False
            other = parent.right if parent.left is child else parent.left
            if contains_lookup(facts, other):
                use.configured = True
            elif isinstance(parent.operator, cst.Or) and parent.right is child and not is_literal(other):
                use.configured = True  # ``self.custom_host or DEFAULT``: the fallback of a value given elsewhere
        elif isinstance(parent, cst.IfExp):
            direct = False
            others = [n for n in (parent.test, parent.body, parent.orelse) if n is not child]
            if any(contains_lookup(facts, n) for n in others) or fallback_branch(parent, child):
                use.configured = True
        elif isinstance(parent, cst.Attribute):
            direct = False
            literal_receiver = isinstance(child, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString))
            if literal_receiver and parent.value is child and parent.attr.value in STRING_TEST_METHODS:
                use.quiet = "string test"
                return
        elif isinstance(parent, cst.Arg):
            direct = False
            keyword = parent.keyword.value if parent.keyword is not None else None
            call = stack[stack.index(parent) - 1] if stack.index(parent) > 0 else None
            if isinstance(call, cst.Call) and _record_link(keyword, _call_keys(call)):
                use.browser = True  # ``MainResult(url=f"https://nvd.nist.gov/vuln/detail/{cve}", title=cve)``
            if keyword is not None and _openapi_key(keyword, use):
                use.quiet = "API schema metadata"
                return
            if keyword is not None and use.name is None and keyword not in DEFAULT_KEYWORDS:
                use.name, use.name_kind = keyword, "keyword"
        elif isinstance(parent, cst.Call):
            direct = False
            outcome = _call_context(facts, use, parent, child, data_call_seen)
            if outcome == "quiet":
                return
            by_default = (
                isinstance(child, cst.Arg) and child.keyword is not None and child.keyword.value in DEFAULT_KEYWORDS
            )
            if outcome == "data" and not by_default:  # ``field(default=URL)`` only wraps the value
                data_call_seen = True
        elif isinstance(parent, cst.DictElement):
            direct = False
            if parent.key is child:
                use.quiet = "dict key"
                return
            key = string_value(parent.key)
            if key is not None and _record_keys(facts, stack, parent, key):
                use.browser = True  # ``{"title": ..., "url": "https://news.ycombinator.com/item?id=..."}``
            if key is not None:
                if key.startswith(("$", "@", "xmlns")):
                    use.quiet = "identifier"
                    return
                if key.lower() in PROXY_KEYS:
                    use.proxy = True
                if key in DEFAULT_KEYWORDS:
                    use.configured = True  # the default of a configuration schema field
                if _openapi_key(key, use):
                    use.quiet = "API schema metadata"
                    return
                quiet = _quiet_name(use, key)
                if quiet and use.name is None:
                    use.quiet = quiet
                    return
                if use.name is None:
                    use.name, use.name_kind = key, "keyword"
            if _link_table(facts, stack, parent):
                use.quiet = "reference link table"
                return
        elif isinstance(parent, (cst.Element, cst.List, cst.Tuple, cst.Set)):
            direct = False
            use.in_collection = True
        elif isinstance(parent, (cst.SubscriptElement, cst.Index, cst.Slice)):
            direct = False
            use.quiet = "lookup key"
            return
        elif isinstance(parent, cst.Subscript):
            direct = False
        elif isinstance(parent, cst.Param):
            direct = False
            if use.name is None:
                use.name, use.name_kind = parent.name.value, "keyword"
            quiet = _quiet_name(use, parent.name.value)
            if quiet:
                use.quiet = quiet
                return
        elif isinstance(parent, cst.Parameters):
            return
        elif isinstance(parent, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            _assignment_context(facts, use, parent, stack, data_call_seen)
            return
        elif isinstance(parent, cst.Return):
            if not data_call_seen:
                _function_purpose(facts, use, stack, returned=True)
            return
        elif isinstance(parent, (cst.Yield, cst.Await, cst.Lambda)):
            direct = False
        elif isinstance(parent, (cst.BaseSmallStatement, cst.BaseCompoundStatement, cst.SimpleStatementLine)):
            return
        else:
            direct = False if not isinstance(parent, (cst.ConcatenatedString,)) else direct
        child = parent


def _call_context(facts: Facts, use: UrlUse, call: cst.Call, child: cst.CSTNode, data_seen: bool) -> str:
    """``quiet``, ``data`` (a call consuming the URL) or ``pass`` (a template method)."""
    if child is call.func:
        # ``"https://.../{}".format(x)`` and friends: still the same URL.
        return "pass"
    if not isinstance(child, cst.Arg):
        return "pass"
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "join" and has_space_text(func.value):
        use.quiet = "message"  # ``" ".join([...])`` builds text (a schemaLocation, a sentence)
        return "quiet"
    qualified, last, _receiver = callee_parts(facts, call.func)
    keyword = child.keyword.value if child.keyword is not None else None
    if not data_seen:
        if keyword is not None and (keyword in MESSAGE_KEYWORDS or _quiet_name(use, keyword)):
            use.quiet = "message" if keyword in MESSAGE_KEYWORDS else _quiet_name(use, keyword)
            return "quiet"
        if last in BROWSER_CALLEES or qualified in BROWSER_CALLEES or _partial_of_browser(facts, call, last):
            use.browser = True
            return "quiet"
        if last in MESSAGE_CALLS or qualified in QUIET_CALLEES or last in QUIET_CALLEES:
            use.quiet = "message"
            return "quiet"
        if last is not None and last.endswith(("Error", "Exception", "Warning")):
            use.quiet = "message"
            return "quiet"
        if (qualified is not None and qualified.split(".", 1)[0] in MOCK_MODULES) or (
            _receiver is not None and _receiver.split(".")[-1] in MOCK_RECEIVERS
        ):
            use.quiet = "mock"
            return "quiet"
        if qualified is not None and qualified.split(".", 1)[0] in PATTERN_MODULES:
            use.quiet = "pattern"
            return "quiet"
        if last in STRING_TEST_METHODS:
            use.quiet = "string test"
            return "quiet"
        if last in NAMESPACE_CALLS and last not in ("get", "set") and last != "Literal":
            use.quiet = "identifier"
            return "quiet"
        if last in ("get", "set") and _first_arg_is(call, child, "xmlns"):
            use.quiet = "identifier"
            return "quiet"
    first = call.args[0] if call.args else None
    key = string_value(first.value) if first is not None and first is not child else None
    if key is not None and set(name_tokens(key)) & PROXY_NAME_TOKENS:
        use.proxy = True
    if keyword is not None:
        if set(name_tokens(keyword)) & PROXY_NAME_TOKENS:
            use.proxy = True
        if keyword in DEFAULT_KEYWORDS and qualified not in PLAIN_FIELD_CALLEES:
            use.configured = True
    if last in CONFIG_DEFAULT_CALLS or any(child.value is d for d in lookup_default_args(facts, call)):
        use.configured = True
    if last == "str" and isinstance(call.func, cst.Name):
        return "pass"
    if qualified in _net.CALLS:
        # ``requests.post(url="https://host/share/share")``: the server connects, whatever
        # the path looks like in a browser.
        use.browser = False
    return "data"


def _partial_of_browser(facts: Facts, call: cst.Call, last: Optional[str]) -> bool:
    """``partial(webbrowser.open, url)``, or ``partial(open_web, url)`` where the enclosing
    function or module binds ``open_web = partial(webbrowser.open)``."""
    if last != "partial" or not call.args:
        return False
    first = call.args[0].value
    if _opens_browser(facts, first):
        return True
    if not isinstance(first, cst.Name):
        return False
    scope = next((n for n in reversed(facts.ctx.stack) if isinstance(n, cst.FunctionDef)), facts.ctx.module)
    for node in iter_nodes(scope.body if isinstance(scope, cst.FunctionDef) else scope):
        if (
            isinstance(node, cst.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0].target, cst.Name)
            and node.targets[0].target.value == first.value
            and isinstance(node.value, cst.Call)
            and node.value.args
            and (dotted_name(node.value.func) or "").rsplit(".", 1)[-1] == "partial"
        ):
            return _opens_browser(facts, node.value.args[0].value)
    return False


def _opens_browser(facts: Facts, expr: cst.BaseExpression) -> bool:
    name = facts.resolve(expr) or dotted_name(expr) or ""
    return name in BROWSER_CALLEES or name.rsplit(".", 1)[-1] in BROWSER_CALLEES


def _first_arg_is(call: cst.Call, child: cst.Arg, prefix: str) -> bool:
    if not call.args or call.args[0] is child:
        return False
    value = string_value(call.args[0].value)
    return value is not None and value.startswith(prefix)


def _assignment_context(
    facts: Facts,
    use: UrlUse,
    stmt: Union[cst.Assign, cst.AnnAssign, cst.AugAssign],
    stack: Sequence[cst.CSTNode],
    data_call_seen: bool,
) -> None:
    targets: List[cst.BaseExpression] = []
    if isinstance(stmt, cst.Assign):
        targets = [t.target for t in stmt.targets]
    else:
        targets = [stmt.target]
    names = [n for n in (target_name(t) for t in targets) if n]
    # Where is the statement?  Module level or class body, directly.
    scope = _statement_scope(stack, stmt)
    for name in names:
        # A redirect name counts for a setting (LOGIN_REDIRECT_URL), not a function's variable.
        quiet = _quiet_name(use, name, keyword=not isinstance(scope, cst.FunctionDef))
        if quiet:
            use.quiet = quiet
            return
        if set(name_tokens(name)) & PROXY_NAME_TOKENS:
            use.proxy = True
        if name in DEFAULT_KEYWORDS and isinstance(targets[0], cst.Subscript):
            use.configured = True  # ``schema["properties"]["url"]["default"] = "https://..."``
    for target in targets:
        if isinstance(target, cst.Subscript) and facts.resolve(target.value) in ("os.environ",):
            use.configured = True  # it sets the configuration itself (a default for children)
    if use.name is None and names and not data_call_seen:
        # (``response = requests.get("https://...")`` does not name the URL.)
        use.name = names[0]
        use.name_kind = "local" if isinstance(scope, cst.FunctionDef) else "keyword"
    if isinstance(scope, cst.FunctionDef) and use.name_kind == "local":
        _function_purpose(facts, use, stack, returned=False)
        if use.quiet:
            return
    if isinstance(scope, cst.FunctionDef) and len(names) == 1 and _local_only_links(scope, names[0]):
        # ``url = f"https://odysee.com/{name}"`` ... ``{"url": url, "title": ...}``, also when
        # the local holds what a call built from the literal (``url = make_uri("https://...")``).
        use.browser = True
    if isinstance(scope, cst.ClassDef):
        if is_settings(facts, scope):
            use.configured = True
            return
    if (
        isinstance(scope, (cst.Module, cst.ClassDef))
        and len(targets) == 1
        and isinstance(targets[0], cst.Name)
        and not use.in_collection
        and use.name == targets[0].value
    ):
        use.constant = targets[0].value
        use.class_level = isinstance(scope, cst.ClassDef)
        use.name_kind = "constant"
    elif isinstance(scope, (cst.Module, cst.ClassDef)) and len(targets) == 1 and isinstance(targets[0], cst.Name):
        use.container = targets[0].value
        use.class_level = isinstance(scope, cst.ClassDef)


def _statement_scope(stack: Sequence[cst.CSTNode], stmt: cst.CSTNode) -> Optional[cst.CSTNode]:
    """The module, class or function whose body holds ``stmt``."""
    seen = False
    for node in reversed(stack):
        if node is stmt:
            seen = True
            continue
        if seen and isinstance(node, (cst.Module, cst.ClassDef, cst.FunctionDef)):
            return node
    return None


_DUMMY = UrlLiteral(cst.SimpleString('""'), "", "https", "", "", "", False, False, False)


def reference_is_quiet(facts: Facts) -> str:
    """How the expression being visited (a constant's use) uses the URL: "quiet" (text for
    people only), "browser" (a link or image the user's browser loads), or ""."""
    use = UrlUse(_DUMMY)
    _context(facts, use)
    if use.quiet and use.quiet not in ("docstring", "comparison", "lookup key", "string test"):
        return "quiet"
    return "browser" if use.browser and not use.quiet else ""


def is_binding(stack: Sequence[cst.CSTNode]) -> bool:
    """Whether the visited Name/Attribute is an assignment target."""
    node = stack[-1]
    parent = stack[-2] if len(stack) > 1 else None
    if isinstance(parent, cst.AssignTarget):
        return parent.target is node
    if isinstance(parent, (cst.AnnAssign, cst.AugAssign)):
        return parent.target is node
    return False


# ---------------------------------------------------------------------------
# What surrounds a literal: small questions of the context walk
# ---------------------------------------------------------------------------


def _quiet_name(use: UrlUse, name: str, keyword: bool = True) -> str:
    """:func:`_urls.quiet_name`, except that sample text never hides an endpoint-shaped URL;
    a browser name (``CSP_REPORT_URI``) marks the use."""
    tokens = set(name_tokens(name))
    if tokens & BROWSER_NAME_TOKENS:
        use.browser = True
    quiet = quiet_name(name, keyword)
    if quiet == "sample" and name != "placeholder" and looks_like_endpoint(use.literal):
        return ""
    if quiet == "page" and tokens & (SITE_NAME_TOKENS | REDIRECT_NAME_TOKENS):
        use.named_page = True  # the site's address, a redirect target: plaintext all the same
    return quiet


def _openapi_key(key: str, use: UrlUse) -> bool:
    """A key or keyword of OpenAPI metadata (``contact``, ``license``, ``servers`` around a ``url``)."""
    normal = key.lower().replace("-", "_")
    if normal not in OPENAPI_KEYS:
        return False
    return normal != "servers" or use.name == "url"


def _in_library_self_test(facts: Facts, stack: Sequence[cst.CSTNode]) -> bool:
    """Directly in the ``if __name__ == "__main__":`` block of a module inside a package:
    a library's self-test or demo (``xml.sax.expatreader``), not the program's configuration."""
    if "." not in (facts.ctx.module_name or "") or len(stack) < 3 or not isinstance(stack[1], cst.If):
        return False
    if any(isinstance(n, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) for n in stack):
        return False
    test = stack[1].test
    return (
        isinstance(test, cst.Comparison)
        and dotted_name(test.left) == "__name__"
        and len(test.comparisons) == 1
        and string_value(test.comparisons[0].comparator) == "__main__"
    )


def _function_purpose(facts: Facts, use: UrlUse, stack: Sequence[cst.CSTNode], returned: bool) -> None:
    """A URL a function returns (or builds in a local it returns) serves the function's
    purpose: a template filter renders a link; ``doc_url()``, ``_reference()``,
    ``get_reference_url()`` build pages for people; ``f"https://site/{path}"`` where
    ``path`` was made to end in ``.html`` is a website link."""
    function = next((n for n in reversed(stack) if isinstance(n, cst.FunctionDef)), None)
    if function is None:
        return
    for decorator in function.decorators:
        target = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
        last = (dotted_name(target) or "").rsplit(".", 1)[-1]
        if last in TEMPLATE_DECORATORS:
            use.browser = True
    name = function.name.value.strip("_")
    tokens = set(name_tokens(name))
    # A local is named by its function only when the function says it builds an address.
    if not tokens & DATA_VERBS and (returned or tokens & ADDRESS_NAME_TOKENS):
        quiet = _quiet_name(use, name, keyword=False)
        if quiet in ("page", "sample"):
            use.quiet = quiet
            return
    node = use.literal.node
    if returned and isinstance(node, cst.FormattedString):
        names = {
            p.expression.value
            for p in node.parts
            if isinstance(p, cst.FormattedStringExpression) and isinstance(p.expression, cst.Name)
        }
        for statement in iter_nodes(function.body):
            if isinstance(statement, (cst.Assign, cst.AugAssign)) and html_path(statement, names):
                use.quiet = "page"
                return


def _record_keys(facts: Facts, stack: Sequence[cst.CSTNode], element: cst.DictElement, key: str) -> bool:
    """``element`` (under ``key``) is the link of a record for people (``_record_link``)."""
    table = next((n for n in reversed(stack) if isinstance(n, cst.Dict) and element in n.elements), None)
    if table is None:
        return False
    return _record_link(key, _dict_keys(table))


def _record_link(key: Optional[str], keys: Set[Optional[str]]) -> bool:
    """``key`` is the link of a record shown to people, not an address the program calls:
    a ``url`` beside a title or text (a search result, a news item), or any ``*_url``
    beside a licence (``IngredientData(source_url=..., object_url=..., license_id=...)``:
    attribution stored with the data it credits)."""
    if key is None:
        return False
    if key in LINK_KEYS and keys & RECORD_KEYS:
        return True
    if name_tokens(key)[-1:] not in (["url"], ["link"], ["href"]):
        return False
    return any(k is not None and not CREDIT_KEY_TOKENS.isdisjoint(name_tokens(k)) for k in keys)


def _local_only_links(function: cst.FunctionDef, name: str) -> bool:
    """Every read of the local ``name`` in ``function`` is the link of a record shown to
    people (``{"url": url, "title": ...}``, ``Result(url=url, title=...)``): in one walk,
    the reads that are such links are counted against all reads (``requests.get(url)``,
    ``return url``, ``url + "/x"`` are not links)."""

    class _Find(cst.CSTVisitor):
        names = bound = links = 0
        ok = True

        def visit_Name(inner, node: cst.Name) -> None:  # noqa: N805
            inner.names += node.value == name

        def visit_AssignTarget(inner, node: cst.AssignTarget) -> None:  # noqa: N805
            inner.bound += isinstance(node.target, cst.Name) and node.target.value == name

        def visit_Dict(inner, node: cst.Dict) -> None:  # noqa: N805
            keys = _dict_keys(node)
            for element in node.elements:
                if isinstance(element, cst.DictElement) and _is_name(element.value, name):
                    inner.links += 1
                    inner.ok = inner.ok and _record_link(string_value(element.key), keys)

        def visit_Call(inner, node: cst.Call) -> None:  # noqa: N805
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == name:
                    inner.bound += 1  # ``source_url=source_url``: the keyword is no read
                if _is_name(arg.value, name):
                    inner.links += 1
                    keyword = arg.keyword.value if arg.keyword is not None else None
                    inner.ok = inner.ok and _record_link(keyword, _call_keys(node))

    finder = _Find()
    walk(function.body, finder)
    return finder.ok and finder.links > 0 and finder.names - finder.bound == finder.links


def _is_name(expr: cst.BaseExpression, name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name


def _dict_keys(table: cst.Dict) -> Set[Optional[str]]:
    return {string_value(e.key) for e in table.elements if isinstance(e, cst.DictElement)}


def _call_keys(call: cst.Call) -> Set[Optional[str]]:
    return {a.keyword.value for a in call.args if a.keyword is not None}


def _link_table(facts: Facts, stack: Sequence[cst.CSTNode], element: cst.DictElement) -> bool:
    """A dict of many URLs to many sites keyed by identifiers (DefectDojo's VULNERABILITY_URLS:
    advisory link prefixes by id prefix): reference data for people, not services called."""
    table = next((n for n in reversed(stack) if isinstance(n, cst.Dict) and element in n.elements), None)
    if table is None:
        return False
    known = facts.link_tables.get(id(table))
    if known is None:
        orgs: Set[str] = set()
        count = 0
        for item in table.elements:
            literal = parse_literal(item.value) if isinstance(item, cst.DictElement) else None
            if literal is not None:
                count += 1
                orgs.add(organisation(literal.host))
        known = facts.link_tables[id(table)] = count >= LINK_TABLE_SIZE and len(orgs) >= LINK_TABLE_SITES
    return known
