"""OPS503 unencoded-query-string: query values interpolated into a URL without encoding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set, Tuple, Union

import libcst as cst

from opslint.analysis.scopes import BindingKind, BindingTable, Scope, ScopeKind
from opslint.rule import AnyEdit, PendingFix, RelatedNode, Rule, keyword
from opslint.rules import _net, _url_build, _url_tables
from opslint.rules._net import CALLS, NetCall
from opslint.rules._net_clients import NetClients, enclosing_function
from opslint.rules._url_build import Hole, Piece
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import suite_statements
from opslint.syntax.walk import iter_nodes

if TYPE_CHECKING:
    from opslint.context import FileContext

_FIX_KEY = re.compile(r"^[A-Za-z0-9_.\-\[\]]+$")
_FIX_LITERAL = re.compile(r"^[A-Za-z0-9_.\-~,:]*$")
#: Attribute names that hold database keys (integers) or hex digests in practice.
_SAFE_ATTRS = frozenset({"id", "pk", "hex", "int"})


#: More calls than this and a function is not an encoding helper but does other work
#: too (and may encode only part of what it returns).
_ENCODER_HELPER_CALLS = 4


@dataclass
class _Built:
    """One way a URL argument is built: the expressions it is made of, in order, and the
    scope their names are read in."""

    segments: List[cst.BaseExpression]
    scope: Scope
    #: The expression is the call's own argument (the ``params=`` fix applies).
    direct: bool
    #: Report here instead of at the building expression (a helper's call).
    report_at: Optional[cst.BaseExpression] = None


class UnencodedQueryString(Rule):
    """A URL whose query values are interpolated without percent-encoding.

    ## What it does
    Checks for URLs passed to an HTTP client (`requests`, `httpx`, `aiohttp`,
    `urllib`, `urllib3`, and sessions or clients made from them, or a request
    object sent later: `requests.Request`, `httpx.Request`) whose query
    string is built with an f-string, `%`, `.format()` or `+` from variables:
    a value after `?key=` or `&key=` that is not encoded with
    `urllib.parse.quote`/`quote_plus`/`urlencode` (or `requests.utils.quote`,
    `yarl`). Literals, constants, numbers (`{page:d}`, `{day:%Y-%m-%d}`) and
    identifiers (`asset_id`, `user.pk`, `uuid4().hex`) are not reported. The URL is followed through a local variable built before
    the call (also with `+=`), both branches of a conditional expression, a
    helper function or method of the file that returns it, a base constant
    that already ends in `?q=`, the default of `os.environ.get(...)`,
    `urljoin(base, path)` and `"&".join(f"{k}={v}" ...)`.

    ## Why it matters
    A value holding `&`, `#`, `+`, `%` or a space silently changes the query:
    `q=tom & jerry` sends `q=tom ` and a stray parameter, `+` becomes a space.
    In incident 003 unencoded query parameters broke the calls when they were
    rerouted through a proxy.

    ## Example
    ```python
    import requests

    def search(base_url, term):
        return requests.get(f"{base_url}/search?q={term}&page=1", timeout=10)
    ```

    ## Use instead
    ```python
    import requests

    def search(base_url, term):
        return requests.get(f"{base_url}/search", params={"q": term, "page": 1}, timeout=10)
    ```

    ## Fix safety
    For a plain `f"...?k={v}&k2={w}"` passed to a `requests` or `httpx` call
    without `params=`, the fix moves the pairs to `params={"k": v, "k2": w}`
    and keeps the base URL; the client then encodes every value.  It is
    unsafe: the request changes for every value that needed encoding (the
    point of the fix), and `params` also treats some values differently from
    an f-string: `None` is dropped instead of sent as `None`, a list or tuple
    becomes a repeated key, bytes are sent without their `b'...'`.  The
    request is the same only for values that needed no encoding.  Elsewhere
    a suggestion names `urllib.parse.urlencode`/`quote`.

    ## See also
    OPS501 (hardcoded-external-url) and OPS504 (plaintext-external-http)
    look at the same URLs. ruff has no rule for query encoding.
    """

    code = "OPS503"
    name = "unencoded-query-string"
    message = (
        "Query value `{value}` is put into the URL for {callee} without percent-encoding: "
        "`&`, `#`, `+` or a space in it corrupts the query"
    )
    tokens = ("requests", "httpx", "aiohttp", "urllib", "tornado")
    fix_availability = "sometimes"
    #: The project's own encoding helpers (``def q(v): return quote(str(v), safe="")`` in
    #: ``textutil.py``): a value passed through one is encoded.
    needs_project = True

    requires = (BindingTable, NetClients)

    def __init__(self, ctx: FileContext, options: Any) -> None:
        super().__init__(ctx, options)
        self.table = self.ctx.analysis(BindingTable)
        self.clients = self.ctx.analysis(NetClients)
        self.pending: List[Tuple[cst.Call, Scope, Optional[NetCall], str]] = []
        #: The ancestors of a pending call that passes a name (``requests.get(url)``): which
        #: of several ``url = ...`` reaches it.
        self._stacks: Dict[int, Tuple[cst.CSTNode, ...]] = {}
        self.reported: Set[int] = set()
        #: Statement shapes of bindings (by the id of the bound ``Name``): plain ``=``
        #: targets, ``+=`` targets (and whether the operator is ``+=``), loop targets' iterables.
        self._plain: Set[int] = set()
        self._augments: Dict[int, bool] = {}
        self._loops: Dict[int, cst.BaseExpression] = {}
        #: id(a name of a tuple target) -> its element of the tuple value.
        self._unpacked: Dict[int, cst.BaseExpression] = {}
        #: Calls with arguments by a name (``fetch_json(session, f"...")``), for the URLs
        #: this file's functions are handed as parameters.
        self._calls: List[Tuple[cst.Call, Scope]] = []

    # -- binding shapes ----------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        self._plain.update(id(target.target) for target in node.targets)
        value = node.value
        for target in node.targets:
            # ``t, a = quote_plus(x), quote_plus(y)``: each name has its element.
            names = target.target
            if isinstance(names, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)):
                if len(names.elements) == len(value.elements):
                    for name, element in zip(names.elements, value.elements):
                        if isinstance(name.value, cst.Name) and not isinstance(element, cst.StarredElement):
                            self._unpacked[id(name.value)] = element.value

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._augments[id(node.target)] = isinstance(node.operator, cst.AddAssign)

    def visit_For(self, node: cst.For) -> None:
        self._loops[id(node.target)] = node.iter

    # -- calls -----------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args:
            return
        at = self.table.current()
        if any(isinstance(arg.value, cst.Name) for arg in node.args):
            self._stacks[id(node)] = tuple(self.stack)
        if isinstance(node.func, (cst.Name, cst.Attribute)):
            self._calls.append((node, at))
        callee = self.qualified_name(node.func)
        if callee is not None and callee in CALLS:
            spec = CALLS[callee]
            if spec.url_pos is not None:
                self.pending.append((node, at, spec, f"`{callee}`"))
            return
        if isinstance(node.func, cst.Attribute):
            self.pending.append((node, at, None, ""))

    def leave_Module(self, original_node: cst.Module) -> None:
        if _net.lint_rule_fixture(self.ctx.display_path, self.ctx.text):
            return  # test data of a lint rule, never run
        for call, at, spec, shown in self.pending:
            if spec is None:
                func = call.func
                assert isinstance(func, cst.Attribute)
                client = self.clients.client(func.value, at)
                if client is None:
                    continue
                spec = client.kind.methods.get(func.attr.value)
                if spec is None or spec.url_pos is None:
                    continue
                shown = f"`{self.edits.code(func)}` (`{client.kind.label}`)"
            self._check(call, at, spec, shown)

    # -- analysis --------------------------------------------------------------

    def _url_arg(self, call: cst.Call, spec: NetCall) -> Optional[cst.Arg]:
        arg = keyword(call, spec.url_keyword)
        if arg is not None:
            return arg
        positional: List[cst.Arg] = []
        for item in call.args:
            if item.star:
                break
            if item.keyword is None:
                positional.append(item)
        if spec.url_pos is not None and len(positional) > spec.url_pos:
            return positional[spec.url_pos]
        return None

    def _check(self, call: cst.Call, at: Scope, spec: NetCall, shown: str) -> None:
        arg = self._url_arg(call, spec)
        if arg is None:
            return
        for built in self._alternatives(arg.value, at, self._stacks.get(id(call), ())):
            flat: List[Tuple[cst.BaseExpression, Piece]] = []
            for segment in built.segments:
                pieces = _url_build.pieces(segment, self)
                for piece in pieces if pieces is not None else [Hole(segment)]:
                    inner = self._built_in_local(piece, built.scope)
                    if inner is None:
                        flat.append((segment, piece))
                        continue
                    # ``qs = "&".join(f"{k}={v}" ...)`` then ``f"{base}?{qs}"``: the local's
                    # pieces stand in the URL (the fix cannot move them: a suggestion).
                    flat.extend((segment, p) for p in inner)
                    built.direct = False
            holes = _url_build.query_value_holes(flat)
            unsafe = [(node, h) for node, h in holes if not self._is_safe(h, built.scope)]
            if unsafe:
                self._report(call, arg, built, *unsafe[0], shown=shown, spec=spec)
                return

    def _report(
        self,
        call: cst.Call,
        arg: cst.Arg,
        built: _Built,
        node: cst.BaseExpression,
        hole: Hole,
        *,
        shown: str,
        spec: NetCall,
    ) -> None:
        where = built.report_at or node
        if id(where) in self.reported:
            return
        self.reported.add(id(where))
        url = arg.value
        fix = None
        if built.direct and spec.takes_params and isinstance(url, cst.FormattedString):
            fix = self._params_fix(call, arg, url)
        if fix is None:
            fix = PendingFix.suggestion(
                "Pass the pairs as `params={...}`, or encode each value with `urllib.parse.quote`/`urlencode`"
            )
        related: Tuple[RelatedNode, ...] = ()
        if built.report_at is not None:
            related = (RelatedNode(node, "the URL is built here"),)
        elif not built.direct:
            related = (RelatedNode(call, "the URL is used here"),)
        self.report(where, fix=fix, related=related, value=self.edits.code(hole.expr), callee=shown)

    def _built_in_local(self, piece: Piece, at: Scope) -> Optional[List[Piece]]:
        """The pieces of a local string a URL interpolates whole (``{qs}``), when the local
        is built once from pieces (a join, an f-string, a template)."""
        if not isinstance(piece, Hole) or not isinstance(piece.expr, cst.Name):
            return None
        values = self._local_values(piece.expr.value, at)
        if len(values) != 1:
            return None
        inner = _url_build.pieces(values[0], self)
        if inner is None or all(isinstance(p, str) for p in inner):
            return None
        return inner

    def _url_text(self, expr: cst.BaseExpression) -> cst.BaseExpression:
        """The string a URL object is made from (``httpx.URL(f"...?q={q}")``): its query is
        taken as written, encoded by nobody."""
        if (
            isinstance(expr, cst.Call)
            and len(expr.args) == 1
            and expr.args[0].keyword is None
            and not expr.args[0].star
            and self.qualified_name(expr.func) in _net.URL_OBJECTS
        ):
            return expr.args[0].value
        return expr

    def _alternatives(self, url: cst.BaseExpression, at: Scope, stack: Tuple[cst.CSTNode, ...]) -> List[_Built]:
        """The ways the URL argument can be built: itself, the values of a local built just
        before, both branches of a conditional expression, the returns of a helper function."""
        url = self._url_text(url)
        if isinstance(url, cst.IfExp):
            return [_Built([url.body], at, direct=False), _Built([url.orelse], at, direct=False)]
        if isinstance(url, cst.Name):
            values = [self._url_text(v) for v in self._local_values(url.value, at, stack)]
            if len(values) == 1 and isinstance(values[0], cst.Call) and self._helper(values[0].func, at) is not None:
                return self._alternatives(values[0], at, ())  # ``url = _search_url(term, brand)``
            if len(values) == 1 and isinstance(values[0], cst.IfExp):
                return [_Built([values[0].body], at, direct=False), _Built([values[0].orelse], at, direct=False)]
            if not values:
                element = self._comprehended(url.value, at)
                if element is not None:
                    return [_Built([element], at, direct=False)]
                return self._handed_in(url.value, at)
            return [_Built(values, at, direct=False)]
        if isinstance(url, cst.Attribute) and isinstance(url.value, cst.Name):
            # ``query.url`` of a ``@property`` of a class of this file: what it returns.
            prop = self._member(url, at)
            inner = self.table.scope_of(prop) if prop is not None and _is_property(prop) else None
            if prop is not None and inner is not None:
                returns = [v for v in self.table.returns(prop) if v is not None]
                return [_Built([value], inner, direct=False, report_at=url) for value in returns]
            # ``self.url`` bound once (``self.url = f"...?q={q}"`` in ``__init__``): that value,
            # read in the method that bound it.
            bindings = self.table.resolve(url, at)
            if len(bindings) == 1 and bindings[0].kind is BindingKind.ASSIGN and bindings[0].value is not None:
                return [_Built([bindings[0].value], bindings[0].value_scope, direct=False)]
            return [_Built([url], at, direct=True)]
        if isinstance(url, cst.Call) and self.qualified_name(url.func) is None:
            # ``requests.get(search_url(q, c))``, ``self._url(...)``: what a helper of this file returns.
            helper = self._helper(url.func, at)
            inner = self.table.scope_of(helper) if helper is not None else None
            if helper is not None and inner is not None:
                returns = [v for v in self.table.returns(helper) if v is not None]
                return [
                    _Built(self._returned_pieces(value, inner), inner, direct=False, report_at=url) for value in returns
                ]
            # ``search_url = lambda title: f"...?title={title}"``: what the lambda returns.
            bound = self.table.resolve(url.func, at) if isinstance(url.func, cst.Name) else []
            lam = bound[0].value if len(bound) == 1 and bound[0].kind is BindingKind.ASSIGN else None
            inner = self.table.scope_of(lam) if isinstance(lam, cst.Lambda) else None
            if isinstance(lam, cst.Lambda) and inner is not None:
                return [_Built([lam.body], inner, direct=False, report_at=url)]
        return [_Built([url], at, direct=True)]

    def _returned_pieces(self, value: cst.BaseExpression, inner: Scope) -> List[cst.BaseExpression]:
        """What a helper returns: the expression, or the pieces of the local it returns
        (``url = BASE + "/search?"`` then ``url += "q=" + term`` then ``return url``)."""
        if isinstance(value, cst.Name):
            built = self._local_values(value.value, inner)
            if built:
                return built
        return [value]

    def _handed_in(self, name: str, at: Scope) -> List[_Built]:
        """A parameter of a function of this file (``def fetch_json(session, url)``): the
        URLs its callers in the file hand it (``fetch_json(session, f"...?name={n}")``)."""
        bindings = self.table.lookup(name, at)
        if len(bindings) != 1 or bindings[0].kind is not BindingKind.PARAM:
            return []
        function = bindings[0].scope.node
        if not isinstance(function, cst.FunctionDef):
            return []
        params = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
        if name not in params:
            return []
        out: List[_Built] = []
        for call, where in self._calls:
            if self._helper(call.func, where) is not function:
                continue
            index = params.index(name)
            if isinstance(call.func, cst.Attribute) and params and params[0] in ("self", "cls"):
                index -= 1  # ``self.fetch(url)``
            arg = keyword(call, name)
            if arg is None:
                positional = [a for a in call.args if a.keyword is None and not a.star]
                arg = positional[index] if 0 <= index < len(positional) else None
            if arg is not None:
                out.append(_Built([arg.value], where, direct=False, report_at=arg.value))
        return out

    def _helper(self, func: cst.BaseExpression, at: Scope) -> Optional[cst.FunctionDef]:
        """The one ``def`` a callee names (a function of the file, a method through ``self``
        or through an instance of a class of the file)."""
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return None
        bindings = self.table.resolve(func, at)
        if len(bindings) != 1 or not isinstance(bindings[0].node, cst.FunctionDef):
            return self._member(func, at) if isinstance(func, cst.Attribute) else None
        return bindings[0].node

    def _member(self, expr: cst.Attribute, at: Scope) -> Optional[cst.FunctionDef]:
        """``query.url`` / ``client.search_url``: the ``def`` of that name in the class of this
        file the receiver holds an instance of."""
        owner = self.table.instance_class(expr.value, at)
        found = self.table.attribute(owner, expr.attr.value) if owner is not None else []
        return found[0].node if len(found) == 1 and isinstance(found[0].node, cst.FunctionDef) else None

    # -- what names and calls stand for (``_url_build.Source``) --------------------------------

    def constant_text(self, name: str) -> Optional[str]:
        """A module-level ``NAME = "literal"`` (a URL base or template constant), or a class
        constant ``self.NAME``/``Cls.NAME`` that one class of the file defines."""
        if "." in name:
            return self._class_constant(*name.split(".", 1))
        value = _url_build.module_constant(self.table, name)
        if value is None:
            return None
        if isinstance(value, cst.Call):
            # ``SEARCH_URL = os.environ.get("SEARCH_URL", "https://...?q=")``: read with its default.
            return self.default_text(value)
        return _url_build.literal_text(value)

    def _class_constant(self, owner: str, name: str) -> Optional[str]:
        texts: List[str] = []
        for scope in self.table.scopes():
            node = scope.node
            if scope.kind is not ScopeKind.CLASS or not isinstance(node, cst.ClassDef):
                continue
            if owner not in ("self", "cls") and node.name.value != owner:
                continue
            bindings = scope.own(name)
            if len(bindings) == 1 and bindings[0].kind is BindingKind.ASSIGN and bindings[0].value is not None:
                text = _url_build.literal_text(bindings[0].value)
                if text is not None:
                    texts.append(text)
        return texts[0] if len(texts) == 1 else None

    def default_text(self, call: cst.Call) -> Optional[str]:
        """``os.environ.get("X", "https://...?q=")``: the literal the URL is read with."""
        qualified = self.qualified_name(call.func)
        if qualified not in _url_tables.LOOKUP_CALLEES:
            return None
        positional = [a for a in call.args if a.keyword is None and not a.star]
        index = 2 if qualified == "getattr" else 1
        default = next((a for a in call.args if a.keyword is not None and a.keyword.value == "default"), None)
        if default is None and len(positional) > index:
            default = positional[index]
        return _url_build.literal_text(default.value) if default is not None else None

    def _comprehended(self, name: str, at: Scope) -> Optional[cst.BaseExpression]:
        """``for url in urls`` where ``urls = [f"...?sku={sku}" for sku in skus]``: the
        element each URL is built from."""
        bindings = self.table.lookup(name, at)
        if len(bindings) != 1 or bindings[0].kind is not BindingKind.LOOP:
            return None
        source = self._loops.get(id(bindings[0].node))
        if isinstance(source, cst.Name):
            values = self._local_values(source.value, at)
            source = values[0] if len(values) == 1 else None
        if isinstance(source, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            return source.elt
        return None

    def _local_values(self, name: str, at: Scope, stack: Tuple[cst.CSTNode, ...] = ()) -> List[cst.BaseExpression]:
        """``name = <expr>`` then ``name += <expr>``...: the pieces of a URL built in a local.

        Empty when the name is a parameter, bound more than once by ``=`` (unless
        ``stack``, the use's ancestors, shows which assignment reaches it), or bound in
        other ways.
        """
        function = enclosing_function(at)
        bindings = self.table.lookup(name, at)
        if function is None or not bindings or any(b.scope.node is not function for b in bindings):
            return []
        if stack and len(bindings) > 1:
            reaching = _reaching_assignment(bindings, stack, function)
            if reaching is not None:
                bindings = [reaching]
        values: List[cst.BaseExpression] = []
        assigned = 0
        for binding in bindings:
            plain = binding.kind is BindingKind.ASSIGN and id(binding.node) in self._plain
            if plain and binding.value is not None:
                values.append(binding.value)
                assigned += 1
            elif binding.kind is BindingKind.AUGMENTED and self._augments.get(id(binding.node)) and values:
                assert binding.value is not None
                values.append(binding.value)
            else:
                return []
        return values if assigned == 1 else []

    def _is_safe(self, hole: Hole, at: Scope) -> bool:
        return hole.numeric or self._safe_expr(hole.expr, at, depth=0)

    def _safe_expr(self, expr: cst.BaseExpression, at: Scope, depth: int) -> bool:
        if isinstance(expr, (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString)):
            return True
        if isinstance(expr, cst.UnaryOperation):
            return self._safe_expr(expr.expression, at, depth)
        if isinstance(expr, cst.Name):
            if expr.value in ("True", "False", "None") or _is_constant_name(expr.value) or _is_id_name(expr.value):
                return True
            if depth < 2:
                return self._safe_name(expr.value, at, depth)
            return False
        if isinstance(expr, cst.Attribute):
            name = expr.attr.value
            if name in ("value", "name") and self._safe_enum(expr.value, at):
                return True
            return _is_constant_name(name) or name in _SAFE_ATTRS or _is_id_name(name)
        if isinstance(expr, cst.IfExp):
            return self._safe_expr(expr.body, at, depth) and self._safe_expr(expr.orelse, at, depth)
        if isinstance(expr, cst.Subscript) and isinstance(expr.value, cst.Name) and depth < 2:
            # ``q["title"]`` of ``q = {k: quote_plus(v) for k, v in ...}`` (or a dict display):
            # every value the container holds is encoded.
            values = self._local_values(expr.value.value, at)
            return len(values) == 1 and self._safe_values(values[0], at, depth + 1)
        if isinstance(expr, cst.Call):
            qualified = self.qualified_name(expr.func)
            if qualified is not None and (qualified in _net.ENCODERS or qualified.startswith(_net.ENCODER_PREFIXES)):
                return True
            if qualified is not None and self._project_encoder(qualified):
                return True
            if isinstance(expr.func, cst.Name) and expr.func.value in _net.NUMERIC_CALLS:
                return True
            return qualified in _net.SAFE_TEXT_CALLS or self._safe_method(expr, at, depth)
        if isinstance(expr, cst.BinaryOperation):
            if isinstance(expr.operator, (cst.Subtract, cst.Multiply, cst.FloorDivide, cst.Divide, cst.Power)):
                return True
            if isinstance(expr.operator, cst.Add):
                return isinstance(expr.left, (cst.Integer, cst.Float)) or isinstance(
                    expr.right, (cst.Integer, cst.Float)
                )
        return False

    def _project_encoder(self, qualified: str) -> bool:
        """A function of the project that encodes what it is given: a short helper that
        calls a percent-encoder (``return quote(str(value), safe="")``)."""
        project = self.ctx.project
        if project is None:
            return False
        function = project.function(project.canonical(qualified))
        if function is None or len(function.calls) > _ENCODER_HELPER_CALLS:
            return False
        return any(c.callee in _net.ENCODERS or c.callee.startswith(_net.ENCODER_PREFIXES) for c in function.calls)

    def _safe_values(self, container: cst.BaseExpression, at: Scope, depth: int) -> bool:
        """Every value of a dict or list display or comprehension is safe."""
        if isinstance(container, cst.DictComp):
            return self._safe_expr(container.value, at, depth)
        if isinstance(container, (cst.ListComp, cst.GeneratorExp)):
            return self._safe_expr(container.elt, at, depth)
        if isinstance(container, cst.Dict):
            return bool(container.elements) and all(
                isinstance(e, cst.DictElement) and self._safe_expr(e.value, at, depth) for e in container.elements
            )
        if isinstance(container, (cst.List, cst.Tuple)):
            return bool(container.elements) and all(
                not isinstance(e, cst.StarredElement) and self._safe_expr(e.value, at, depth)
                for e in container.elements
            )
        return False

    def _safe_method(self, call: cst.Call, at: Scope, depth: int) -> bool:
        """``h.hexdigest()``, ``day.strftime("%Y-%m-%d")``, ``",".join(str(i) for i in ids)``."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return False
        method = func.attr.value
        if method in _net.SAFE_TEXT_METHODS:
            return True
        if method == "strftime" and call.args:
            text = _url_build.literal_text(call.args[0].value)
            return text is not None and _net.SAFE_STRFTIME.match(text) is not None
        if method == "join" and len(call.args) == 1:
            separator = _url_build.literal_text(func.value)
            if separator is None or not _net.SAFE_QUERY_TEXT.match(separator):
                return False
            items = call.args[0].value
            if isinstance(items, (cst.GeneratorExp, cst.ListComp)):
                inner = items.for_in
                if inner.inner_for_in is not None or not isinstance(inner.target, cst.Name):
                    return False
                element = items.elt
                if isinstance(element, cst.Call) and isinstance(element.func, cst.Name) and element.args:
                    if element.func.value in ("str", "int") and len(element.args) == 1:
                        element = element.args[0].value
                if isinstance(element, cst.Name) and element.value == inner.target.value:
                    return self._safe_expr(inner.iter, at, depth)
                return False
            return self._safe_expr(items, at, depth)
        return False

    def _safe_enum(self, expr: cst.BaseExpression, at: Scope) -> bool:
        """A parameter annotated with an ``Enum`` of this module whose values are all safe text."""
        if not isinstance(expr, cst.Name):
            return False
        for binding in self.table.lookup(expr.value, at):
            param = binding.node
            if binding.kind is not BindingKind.PARAM or not isinstance(param, cst.Param) or param.annotation is None:
                continue
            annotation = param.annotation.annotation
            if not isinstance(annotation, cst.Name):
                return False
            for scope in self.table.classes.get(annotation.value, ()):
                node = scope.node
                if not isinstance(node, cst.ClassDef) or not any(
                    (dotted_name(b.value) or "").rsplit(".", 1)[-1] in _ENUM_BASES for b in node.bases
                ):
                    return False
                values = [
                    small.value
                    for line in suite_statements(node.body)
                    if isinstance(line, cst.SimpleStatementLine)
                    for small in line.body
                    if isinstance(small, cst.Assign)
                ]
                return bool(values) and all(_safe_literal(v) for v in values)
        return False

    def _safe_name(self, name: str, at: Scope, depth: int) -> bool:
        if enclosing_function(at) is None:
            return False
        bindings = self.table.lookup(name, at)
        for binding in bindings:
            param = binding.node
            if binding.kind is not BindingKind.PARAM or not isinstance(param, cst.Param):
                continue
            if param.annotation is None:
                # ``page=1``: an int default says what the parameter holds.
                return isinstance(param.default, (cst.Integer, cst.Float))
            for ann in _net.annotation_names(param.annotation.annotation):
                qualified = self.qualified_name(ann) or dotted_name(ann)
                if qualified in _net.NUMERIC_ANNOTATIONS:
                    return True
            return _literal_annotation(param.annotation.annotation, self.qualified_name)
        if bindings and all(
            b.kind is BindingKind.ASSIGN and id(b.node) in self._plain and b.value is not None for b in bindings
        ):
            # ``fmt = "json"`` then ``if verbose: fmt = "json-verbose"``: every value is safe.
            if len(bindings) > 1 and all(_safe_literal(b.value) for b in bindings if b.value is not None):
                return True
        if bindings and all(id(b.node) in self._unpacked for b in bindings):
            return all(self._safe_expr(self._unpacked[id(b.node)], at, depth + 1) for b in bindings)
        for binding in bindings:
            it = self._loops.get(id(binding.node)) if binding.kind is BindingKind.LOOP else None
            if it is not None:
                return isinstance(it, cst.Call) and isinstance(it.func, cst.Name) and it.func.value == "range"
        values = self._local_values(name, at)
        if not values:
            return False
        return all(self._safe_expr(value, at, depth + 1) for value in values)

    # -- fix ---------------------------------------------------------------------

    def _params_fix(self, call: cst.Call, url_arg: cst.Arg, url: cst.FormattedString) -> Optional[PendingFix]:
        if keyword(call, "params") is not None or any(a.star for a in call.args):
            return None
        parts = list(url.parts)
        # Find the literal part holding "?".
        split_at = None
        for index, part in enumerate(parts):
            if isinstance(part, cst.FormattedStringText) and "?" in part.value:
                split_at = index
                break
        if split_at is None:
            return None
        head_part = parts[split_at]
        assert isinstance(head_part, cst.FormattedStringText)
        before, _, after = head_part.value.partition("?")
        pairs: List[Tuple[str, str]] = []
        tail: List[Union[str, cst.FormattedStringExpression]] = [after]
        for part in parts[split_at + 1 :]:
            if isinstance(part, cst.FormattedStringText):
                tail.append(part.value)
            elif isinstance(part, cst.FormattedStringExpression):
                if part.conversion is not None or part.format_spec or part.equal is not None:
                    return None
                tail.append(part)
            else:
                return None
        # Tokenise "k=" (expr | literal) ("&" ...)*
        current_key: Optional[str] = None
        buffer = ""
        expecting_value_expr: Optional[cst.FormattedStringExpression] = None
        items: List[Union[str, cst.FormattedStringExpression]] = []
        for item in tail:
            items.append(item)
        text_stream: List[Union[str, cst.FormattedStringExpression]] = []
        for item in items:
            if isinstance(item, str):
                text_stream.extend(item)
            else:
                text_stream.append(item)
        for token in [*text_stream, "&"]:
            if isinstance(token, cst.FormattedStringExpression):
                if current_key is None or buffer or expecting_value_expr is not None:
                    return None
                expecting_value_expr = token
                continue
            if token == "&":
                if current_key is None:
                    return None
                if expecting_value_expr is not None:
                    pairs.append((current_key, self.edits.code(expecting_value_expr.expression)))
                else:
                    if not _FIX_LITERAL.match(buffer):
                        return None
                    literal = (
                        buffer if buffer.isdigit() and not buffer.startswith("0") else self.edits.literal(buffer, url)
                    )
                    pairs.append((current_key, literal))
                current_key, buffer, expecting_value_expr = None, "", None
                continue
            if token == "=" and current_key is None:
                if not _FIX_KEY.match(buffer):
                    return None
                current_key, buffer = buffer, ""
                continue
            if expecting_value_expr is not None:
                return None
            buffer += token
        keys = [k for k, _ in pairs]
        if not pairs or len(set(keys)) != len(keys):
            return None
        base_parts = [*parts[:split_at]]
        if before:
            base_parts.append(cst.FormattedStringText(before))
        base = self._render_base(url, base_parts)
        # New string literals take the URL's quotes.
        params = "params={" + ", ".join(f"{self.edits.literal(k, url)}: {v}" for k, v in pairs) + "}"
        title = "Move the query pairs to `params={...}`"
        index = list(call.args).index(url_arg)
        if all(a.keyword is not None or a.star == "**" for a in call.args[index + 1 :]):
            # Only keywords follow the URL: put `params=` right after it.
            return PendingFix.unsafe(title, self.edits.replace(url, f"{base}, {params}"))
        edits: List[AnyEdit] = [self.edits.replace(url, base), *self.edits.add_keyword(call, params)]
        return PendingFix.unsafe(title, *edits)

    def _render_base(self, url: cst.FormattedString, parts: List[cst.BaseFormattedStringContent]) -> str:
        if any(isinstance(p, cst.FormattedStringExpression) for p in parts):
            return self.edits.code(url.with_changes(parts=parts))
        text = "".join(p.value for p in parts if isinstance(p, cst.FormattedStringText))
        text = text.replace("{{", "{").replace("}}", "}")
        prefix = url.prefix.replace("f", "").replace("F", "")
        return f"{prefix}{url.quote}{text}{url.quote}"


_ENUM_BASES = frozenset({"Enum", "StrEnum", "IntEnum"})


def _safe_literal(value: cst.BaseExpression) -> bool:
    """A number, or a string that needs no encoding in a query."""
    if isinstance(value, (cst.Integer, cst.Float)):
        return True
    text = _url_build.literal_text(value)
    return text is not None and _net.SAFE_QUERY_TEXT.match(text) is not None


def _literal_annotation(annotation: cst.BaseExpression, qualify: Callable[[Any], Optional[str]]) -> bool:
    """``Literal["asc", "desc"]`` (or optional): every value it allows is safe text."""
    if not isinstance(annotation, cst.Subscript):
        return False
    name = qualify(annotation.value) or dotted_name(annotation.value) or ""
    if name.rsplit(".", 1)[-1] != "Literal":
        return False
    values = [e.slice.value for e in annotation.slice if isinstance(e.slice, cst.Index)]
    return bool(values) and all(_safe_literal(v) for v in values)


def _is_id_name(name: str) -> bool:
    """``asset_id``, ``orderId``, ``uuid``: identifiers (numbers, uuids, slugs) need no encoding."""
    last = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower().rsplit("_", 1)[-1]
    return last in ("id", "ids", "pk", "uuid")


def _is_constant_name(name: str) -> bool:
    letters = [c for c in name if c.isalpha()]
    return bool(letters) and name.upper() == name and len(name) > 1


def _reaching_assignment(bindings: List[Any], stack: Tuple[cst.CSTNode, ...], function: cst.CSTNode) -> Any:
    """The one plain ``name = value`` that reaches the use at the top of ``stack``: the last
    statement before it, in its block or an enclosing one, that binds the name, when that
    statement is the assignment itself (not a branch or loop that may rebind it) and no
    loop around the use rebinds the name after it.  None when that is not clear."""
    targets = {id(b.node): b for b in bindings}
    for depth in range(len(stack) - 1, 0, -1):
        block, child = stack[depth - 1], stack[depth]
        if block is function:
            return None
        if isinstance(block, (cst.For, cst.While)) and any(id(n) in targets for n in iter_nodes(block.body)):
            return None  # ``url = next_page`` later in the loop reaches the next iteration
        if not isinstance(block, cst.IndentedBlock):
            continue
        index = next((i for i, stmt in enumerate(block.body) if stmt is child), None)
        if index is None:
            return None
        for stmt in reversed(block.body[:index]):
            bound = [targets[id(n)] for n in iter_nodes(stmt) if id(n) in targets]
            if not bound:
                continue
            if len(bound) == 1 and isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
                small = stmt.body[0]
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    if small.targets[0].target is bound[0].node:
                        return bound[0]
            return None
    return None


def _is_property(function: cst.FunctionDef) -> bool:
    return any(dotted_name(d.decorator) in _net.PROPERTY_DECORATORS for d in function.decorators)
