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

import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.base import Analysis, FileFacts
from opslint.rules._urls import (
    CONFIG_DEFAULT_CALLS,
    DEFAULT_KEYWORDS,
    LOOKUP_CALLEES,
    LOOKUP_FUNCTIONS,
    LOOKUP_METHODS,
    MESSAGE_CALLS,
    MESSAGE_KEYWORDS,
    METADATA_ATTRIBUTES,
    METADATA_FILES,
    MOCK_MODULES,
    MOCK_RECEIVERS,
    NAMESPACE_CALLS,
    PATTERN_MODULES,
    PLAIN_FIELD_CALLEES,
    PROXY_KEYS,
    PROXY_NAME_TOKENS,
    QUIET_CALLEES,
    SETTINGS_BASES,
    STRING_TEST_METHODS,
    UrlLiteral,
    has_space_text,
    host_allowed,
    host_kind,
    is_identifier,
    is_page,
    looks_like_endpoint,
    name_tokens,
    parse_literal,
    quiet_name,
    string_value,
    target_name,
)
from opslint.syntax.names import dotted_name

# ---------------------------------------------------------------------------
# Lookups with a default
# ---------------------------------------------------------------------------


def _callee_parts(facts: UrlUses, func: cst.BaseExpression) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(qualified name, last name, receiver's dotted name) of a callee."""
    qualified = facts.resolve(func)
    if isinstance(func, cst.Name):
        return qualified or func.value, func.value, None
    if isinstance(func, cst.Attribute):
        return qualified, func.attr.value, dotted_name(func.value)
    return qualified, None, None


def is_lookup_call(facts: UrlUses, call: cst.Call) -> bool:
    """A call that reads configuration with a fallback: env, settings, options, getattr."""
    qualified, last, receiver = _callee_parts(facts, call.func)
    if qualified in LOOKUP_CALLEES:
        return True
    if isinstance(call.func, cst.Name):
        return last in LOOKUP_FUNCTIONS
    if last in LOOKUP_METHODS:
        return bool(call.args) and call.args[0].keyword is None
    return False


def lookup_default_args(facts: UrlUses, call: cst.Call) -> List[cst.BaseExpression]:
    """The expressions a call uses as defaults of configurable values."""
    out: List[cst.BaseExpression] = []
    if facts.resolve(call.func) in PLAIN_FIELD_CALLEES:
        return out
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in DEFAULT_KEYWORDS:
            out.append(arg.value)
    if is_lookup_call(facts, call):
        positional = [a for a in call.args if a.keyword is None and not a.star]
        start = 2 if facts.resolve(call.func) == "getattr" or _is_name(call.func, "getattr") else 1
        out.extend(a.value for a in positional[start:])
    return out


def _is_name(expr: cst.BaseExpression, name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name


def contains_lookup(facts: UrlUses, expr: cst.CSTNode) -> bool:
    """Whether an expression reads configuration (a lookup call, ``os.environ[...]``)."""
    stack: List[cst.CSTNode] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Call) and is_lookup_call(facts, node):
            return True
        if isinstance(node, cst.Subscript) and facts.resolve(node.value) in ("os.environ", "os.environb"):
            return True
        if isinstance(node, (cst.Attribute, cst.Name)):
            dotted = dotted_name(node)
            if dotted and name_tokens(dotted.split(".")[0])[:1] in (["settings"], ["config"], ["conf"], ["cfg"]):
                return True
        stack.extend(node.children)
    return False


def is_settings_class(facts: UrlUses, node: cst.ClassDef, known: Set[str]) -> bool:
    """A class whose fields are read from the environment (pydantic settings...)."""
    for base in node.bases:
        name = dotted_name(base.value)
        if name is None:
            continue
        last = name.rsplit(".", 1)[-1]
        qualified = facts.resolve(base.value) or name
        if last in SETTINGS_BASES and (last != "Settings" or "." in qualified) or last in known:
            return True
        if qualified.startswith(("pydantic_settings.", "pydantic.BaseSettings", "environs.", "goodconf.")):
            return True
    for stmt in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
                callee = dotted_name(small.value.func) or ""
                if callee.endswith("SettingsConfigDict"):
                    return True
    return False


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
    #: ``constant`` is a class attribute.
    class_level: bool = False
    #: Can be replaced by an expression (not a pattern, annotation, etc.).
    replaceable: bool = True
    extra: Dict[str, str] = field(default_factory=dict)
    #: Order among the file's URL literals and constant uses (set by :class:`UrlUses`).
    seq: int = 0


def analyse(facts: UrlUses, node: Union[cst.SimpleString, cst.FormattedString]) -> Optional[UrlUse]:
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
        else:
            _context(facts, use)
    return use


def _context(facts: UrlUses, use: UrlUse) -> None:  # noqa: C901 - one walk, many small cases
    stack = facts.ctx.stack
    base = facts.ctx.path.replace("\\", "/").rsplit("/", 1)[-1]
    if base in METADATA_FILES or (base == "conf.py" and "doc" in facts.ctx.path.lower()):
        use.quiet = "metadata file"
        return
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
            direct = False
            other = parent.right if parent.left is child else parent.left
            if isinstance(parent.operator, cst.Add) and has_space_text(other):
                use.quiet = "message"
                return
        elif isinstance(parent, cst.BooleanOperation):
            direct = False
            other = parent.right if parent.left is child else parent.left
            if contains_lookup(facts, other):
                use.configured = True
        elif isinstance(parent, cst.IfExp):
            direct = False
            others = [n for n in (parent.test, parent.body, parent.orelse) if n is not child]
            if any(contains_lookup(facts, n) for n in others):
                use.configured = True
        elif isinstance(parent, cst.Attribute):
            direct = False
            literal_receiver = isinstance(child, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString))
            if literal_receiver and parent.value is child and parent.attr.value in STRING_TEST_METHODS:
                use.quiet = "string test"
                return
        elif isinstance(parent, cst.Arg):
            direct = False
            if parent.keyword is not None and use.name is None and parent.keyword.value not in DEFAULT_KEYWORDS:
                use.name = parent.keyword.value
        elif isinstance(parent, cst.Call):
            direct = False
            outcome = _call_context(facts, use, parent, child, data_call_seen)
            if outcome == "quiet":
                return
            if outcome == "data":
                data_call_seen = True
        elif isinstance(parent, cst.DictElement):
            direct = False
            if parent.key is child:
                use.quiet = "dict key"
                return
            key = string_value(parent.key)
            if key is not None:
                if key.startswith(("$", "@", "xmlns")):
                    use.quiet = "identifier"
                    return
                if key.lower() in PROXY_KEYS:
                    use.proxy = True
                quiet = quiet_name(key)
                if quiet and use.name is None:
                    use.quiet = quiet
                    return
                if use.name is None:
                    use.name = key
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
                use.name = parent.name.value
            quiet = quiet_name(parent.name.value)
            if quiet:
                use.quiet = quiet
                return
        elif isinstance(parent, cst.Parameters):
            return
        elif isinstance(parent, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            _assignment_context(facts, use, parent, stack)
            return
        elif isinstance(parent, (cst.Return, cst.Yield, cst.Await, cst.Lambda)):
            direct = False
        elif isinstance(parent, (cst.BaseSmallStatement, cst.BaseCompoundStatement, cst.SimpleStatementLine)):
            return
        else:
            direct = False if not isinstance(parent, (cst.ConcatenatedString,)) else direct
        child = parent


def _call_context(facts: UrlUses, use: UrlUse, call: cst.Call, child: cst.CSTNode, data_seen: bool) -> str:
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
    qualified, last, _receiver = _callee_parts(facts, call.func)
    keyword = child.keyword.value if child.keyword is not None else None
    if not data_seen:
        if keyword is not None and (keyword in MESSAGE_KEYWORDS or quiet_name(keyword)):
            use.quiet = "message" if keyword in MESSAGE_KEYWORDS else quiet_name(keyword)
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
    return "data"


def _first_arg_is(call: cst.Call, child: cst.Arg, prefix: str) -> bool:
    if not call.args or call.args[0] is child:
        return False
    value = string_value(call.args[0].value)
    return value is not None and value.startswith(prefix)


def _assignment_context(
    facts: UrlUses, use: UrlUse, stmt: Union[cst.Assign, cst.AnnAssign, cst.AugAssign], stack: Sequence[cst.CSTNode]
) -> None:
    targets: List[cst.BaseExpression] = []
    if isinstance(stmt, cst.Assign):
        targets = [t.target for t in stmt.targets]
    else:
        targets = [stmt.target]
    names = [n for n in (target_name(t) for t in targets) if n]
    for name in names:
        quiet = quiet_name(name)
        if quiet:
            use.quiet = quiet
            return
        if set(name_tokens(name)) & PROXY_NAME_TOKENS:
            use.proxy = True
    for target in targets:
        if isinstance(target, cst.Subscript) and facts.resolve(target.value) in ("os.environ",):
            use.configured = True  # it sets the configuration itself (a default for children)
    if use.name is None and names:
        use.name = names[0]
    # Where is the statement?  Module level or class body, directly.
    scope = _statement_scope(stack, stmt)
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
    elif isinstance(scope, (cst.Module, cst.ClassDef)) and len(targets) == 1 and isinstance(targets[0], cst.Name):
        use.container = targets[0].value


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


def defaulted_names(facts: UrlUses, node: cst.CSTNode) -> List[str]:
    """Names of constants that ``node`` uses as the fallback of a configuration lookup.

    ``os.environ.get("X", DEFAULT_URL)``, ``config("X", default=BASE)``,
    ``os.getenv("X") or DEFAULT_URL``: the constant is already configurable.
    """
    exprs: List[cst.BaseExpression] = []
    if isinstance(node, cst.Call):
        exprs = lookup_default_args(facts, node)
    elif isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or):
        if contains_lookup(facts, node.left):
            exprs = [node.right]
    elif isinstance(node, cst.IfExp):
        if contains_lookup(facts, node.test) or contains_lookup(facts, node.body):
            exprs = [node.orelse]
        if contains_lookup(facts, node.orelse):
            exprs.append(node.body)
    out: List[str] = []
    for expr in exprs:
        while isinstance(expr, cst.Subscript):
            expr = expr.value  # ``DEFAULTS["api"]``: the whole table is a fallback
        if isinstance(expr, cst.Name):
            out.append(expr.value)
        elif isinstance(expr, cst.Attribute):
            out.append(expr.attr.value)
    return out


def settings_field_names(node: cst.ClassDef) -> List[str]:
    """Constants used as field defaults in a settings class body."""
    out: List[str] = []
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for stmt in body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) else None
            if isinstance(value, cst.Name):
                out.append(value.value)
            elif isinstance(value, cst.Attribute):
                out.append(value.attr.value)
    return out


def is_settings(facts: UrlUses, node: cst.ClassDef) -> bool:
    """A settings class; remembered, so that its subclasses in the file are settings too."""
    known = facts.settings_classes
    if is_settings_class(facts, node, known):
        known.add(node.name.value)
        return True
    return False


_DUMMY = UrlLiteral(cst.SimpleString('""'), "", "https", "", "", "", False, False, False)


def reference_is_quiet(facts: UrlUses) -> bool:
    """Whether the expression being visited (a constant's use) is text for people only."""
    use = UrlUse(_DUMMY)
    _context(facts, use)
    return bool(use.quiet) and use.quiet not in ("docstring", "comparison", "lookup key", "string test")


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
# The analysis
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
        self.uses: Dict[str, List[Tuple[int, bool]]] = {}
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

    # -- literals --------------------------------------------------------------------------

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self._literal(node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._literal(node)

    def _literal(self, node: Union[cst.SimpleString, cst.FormattedString]) -> None:
        use = analyse(self, node)
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
        uses = [quiet for seq, quiet in self.uses.get(name, []) if seq > first[name]]
        if uses:
            return all(uses)
        # Never used here: a class attribute holding a website (a homepage, like
        # Pygments' ``url``) is metadata; an endpoint-shaped URL may be used by a base class.
        # Constant-style names (``PARTNER_URL``) of a config class are still reported.
        if not (use.class_level and name.islower()):
            return False
        website = use.literal.host.startswith("www.") and name in METADATA_ATTRIBUTES
        return website or not looks_like_endpoint(use.literal)
