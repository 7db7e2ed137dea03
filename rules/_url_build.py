"""How a URL string is built: literal pieces and interpolated holes (OPS503).

Pure functions over LibCST expressions: an f-string, a ``%`` or ``.format()``
template, a ``+`` or implicit concatenation, ``urljoin(base, path)``,
``"&".join(<f-string> for ...)``.  What a name or a call stands for (a module
string constant, a configuration lookup with a literal default) is asked of a
:class:`Source` the rule supplies; this module keeps no state.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Dict, List, Optional, Protocol, Sequence, Tuple, Union

import libcst as cst

from opslint.analysis.scopes import BindingKind, BindingTable

_PERCENT = re.compile(r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[a-zA-Z%])")
_NUMERIC_CONVERSIONS = frozenset("diouxXeEfFgG")
_NUMERIC_SPEC = re.compile(r"[\d,_.+\- #0<>=^]*[bdoxXneEfFgG%]$")
#: A strftime spec made of numeric fields and separators (``%Y-%m-%d``, ``%Y%m%dT%H%M%S``):
#: it cannot produce a reserved character.
_NUMERIC_DATE_SPEC = re.compile(r"^(?:%[YmdHMSjyfGVuw]|[-_.:T0-9])+$")
#: ``urljoin(base, path)``: the query is in one of the two pieces.
URL_JOINS = frozenset({"urllib.parse.urljoin", "urlparse.urljoin", "six.moves.urllib.parse.urljoin"})
#: ``urlunsplit((scheme, netloc, path, query, fragment))``, ``urlunparse`` (with params):
#: the index of the query among the parts.
URL_UNSPLITS = {"urllib.parse.urlunsplit": 3, "urllib.parse.urlunparse": 4}


@dataclass(frozen=True)
class Hole:
    """An interpolated value, with what the format says about it."""

    expr: cst.BaseExpression
    #: The format forces a number (``%d``, ``{:d}``, ``{:.2f}``, ``{:%Y-%m-%d}``).
    numeric: bool = False


#: A piece of a built string: literal text, or an interpolated expression.
Piece = Union[str, Hole]


class Source(Protocol):
    """What a name or a call in a URL stands for, as the rule knows it."""

    def qualified_name(self, expr: cst.BaseExpression) -> Optional[str]: ...

    def constant_text(self, name: str) -> Optional[str]:
        """The text of a module-level string constant ``NAME = "..."`` (or of a class
        constant, ``self.NAME``/``Cls.NAME``)."""

    def default_text(self, call: cst.Call) -> Optional[str]:
        """The literal default of a configuration lookup (``os.environ.get("X", "https://...")``)."""


def literal_text(node: cst.BaseExpression) -> Optional[str]:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def module_constant(table: BindingTable, name: str) -> Optional[cst.BaseExpression]:
    """The value of the one module-level assignment to ``name`` (``FEED_HOST = "..."``)."""
    module = table.module_scope
    bindings = module.own(name) if module is not None else []
    if len(bindings) != 1 or bindings[0].kind is not BindingKind.ASSIGN:
        return None
    return bindings[0].value


def flatten_add(node: cst.BaseExpression) -> List[cst.BaseExpression]:
    """The operands of a ``+`` chain; parentheses do not matter (Black wraps long chains)."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return [*flatten_add(node.left), *flatten_add(node.right)]
    return [node]


def pieces(node: cst.BaseExpression, source: Source) -> Optional[List[Piece]]:
    """Literal and interpolated pieces of a string-building expression (None: not one)."""
    if isinstance(node, cst.FormattedString):
        return None if "b" in node.prefix.lower() else fstring_pieces(node, source)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        out: List[Piece] = []
        for operand in flatten_add(node):
            out.extend(operand_pieces(operand, source))
        return out
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
        template = literal_text(node.left)
        if template is None and isinstance(node.left, cst.Name):
            template = source.constant_text(node.left.value)
        return None if template is None else percent_pieces(template, node.right)
    if isinstance(node, cst.Call):
        return _call_pieces(node, source)
    if isinstance(node, cst.ConcatenatedString):
        return [*operand_pieces(node.left, source), *operand_pieces(node.right, source)]
    if isinstance(node, cst.SimpleString):
        text = literal_text(node)
        return None if text is None else [text]
    return None


def _call_pieces(node: cst.Call, source: Source) -> Optional[List[Piece]]:
    func = node.func
    if isinstance(func, cst.Attribute) and func.attr.value == "format":
        template = _template(func.value, source)
        return None if template is None else format_pieces(template, node.args)
    if isinstance(func, cst.Attribute) and func.attr.value == "format_map" and len(node.args) == 1:
        # ``TEMPLATE.format_map({"q": term})``: the dict's entries are the keywords of ``format``.
        mapping = node.args[0].value
        template = _template(func.value, source)
        keywords = _keywords_of(mapping)
        return None if template is None or keywords is None else format_pieces(template, keywords)
    if isinstance(func, cst.Attribute) and func.attr.value == "join" and len(node.args) == 1:
        # ``"&".join(f"{k}={v}" for k, v in pairs)``: every pair has the element's shape.
        separator = literal_text(func.value)
        element = node.args[0].value
        if separator is None or not isinstance(element, (cst.GeneratorExp, cst.ListComp)):
            return None
        inner = pieces(element.elt, source)
        return None if inner is None else [separator, *inner]
    query_at = URL_UNSPLITS.get(source.qualified_name(func) or "")
    if query_at is not None and len(node.args) == 1 and isinstance(node.args[0].value, (cst.Tuple, cst.List)):
        # ``urlunsplit(("https", host, "/search", f"q={term}", ""))``: the query after its ``?``.
        parts = node.args[0].value.elements
        if len(parts) <= query_at or any(isinstance(p, cst.StarredElement) for p in parts):
            return None
        return ["https://host/path?", *operand_pieces(parts[query_at].value, source)]
    if source.qualified_name(func) in URL_JOINS and len(node.args) == 2 and not any(a.star for a in node.args):
        return [*operand_pieces(node.args[0].value, source), *operand_pieces(node.args[1].value, source)]
    default = source.default_text(node)
    return None if default is None else [default]


def _template(owner: cst.BaseExpression, source: Source) -> Optional[str]:
    """The text of a template: a literal, a module constant (``SEARCH_URL``), or a class
    constant read through the class or an instance (``self.SEARCH_URL``, ``Client.SEARCH_URL``)."""
    template = literal_text(owner)
    if template is None and isinstance(owner, cst.Name):
        template = source.constant_text(owner.value)
    if template is None and isinstance(owner, cst.Attribute) and isinstance(owner.value, cst.Name):
        template = source.constant_text(f"{owner.value.value}.{owner.attr.value}")
    return template


def _keywords_of(mapping: cst.BaseExpression) -> Optional[List[cst.Arg]]:
    """A dict display with string keys as keyword arguments (None for anything else)."""
    if not isinstance(mapping, cst.Dict):
        return None
    out: List[cst.Arg] = []
    for element in mapping.elements:
        if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
            return None
        key = element.key.evaluated_value
        if not isinstance(key, str) or not key.isidentifier():
            return None
        out.append(cst.Arg(value=element.value, keyword=cst.Name(key)))
    return out


def operand_pieces(operand: cst.BaseExpression, source: Source) -> List[Piece]:
    """The pieces of one operand of a concatenation (a hole when it is not a string)."""
    if isinstance(operand, cst.Name):
        text = source.constant_text(operand.value)
        return [text] if text is not None else [Hole(operand)]
    built = pieces(operand, source)
    return built if built is not None else [Hole(operand)]


def fstring_pieces(node: cst.FormattedString, source: Source) -> List[Piece]:
    out: List[Piece] = []
    for part in node.parts:
        if isinstance(part, cst.FormattedStringText):
            out.append(part.value.replace("{{", "{").replace("}}", "}"))
        elif isinstance(part, cst.FormattedStringExpression):
            spec = ""
            if part.format_spec:
                spec = "".join(p.value for p in part.format_spec if isinstance(p, cst.FormattedStringText))
            numeric = bool(spec) and part.conversion is None and _numeric_spec(spec)
            expr = part.expression
            text = source.constant_text(expr.value) if isinstance(expr, cst.Name) and not spec else None
            out.append(text if text is not None else Hole(expr, numeric))
    return out


def _numeric_spec(spec: str) -> bool:
    return bool(_NUMERIC_SPEC.match(spec)) or bool(_NUMERIC_DATE_SPEC.match(spec))


def query_value_holes(flat: Sequence[Tuple[cst.BaseExpression, Piece]]) -> List[Tuple[cst.BaseExpression, Hole]]:
    """Holes sitting in a query value: after ``?`` and after ``key=`` in the same pair."""
    in_query = False
    segment = ""
    out: List[Tuple[cst.BaseExpression, Hole]] = []
    for node, piece in flat:
        if isinstance(piece, str):
            for char in piece:
                if char == "#" and in_query:
                    return out
                if char == "?" and not in_query:
                    in_query, segment = True, ""
                elif char == "&" and in_query:
                    segment = ""
                else:
                    segment += char
        elif in_query and "=" in segment:
            out.append((node, piece))
            segment += "\x00"
        else:
            segment += "\x00"
    return out


def percent_pieces(template: str, right: cst.BaseExpression) -> List[Piece]:
    """Pieces of ``template % right``; conversions mapped to the operand's elements."""
    if isinstance(right, cst.Tuple):
        values: List[cst.BaseExpression] = [e.value for e in right.elements]
    else:
        values = [right]
    named: Dict[str, cst.BaseExpression] = {}
    if isinstance(right, cst.Dict):
        for element in right.elements:
            if isinstance(element, cst.DictElement):
                key = literal_text(element.key)
                if key is not None:
                    named[key] = element.value
    out: List[Piece] = []
    position = 0
    index = 0
    for match in _PERCENT.finditer(template):
        out.append(template[position : match.start()])
        position = match.end()
        conv = match.group("conv")
        if conv == "%":
            out.append("%")
            continue
        key = match.group("key")
        if key is not None:
            target = named.get(key)
        else:
            target = values[index] if index < len(values) else None
            index += 1
        out.append(Hole(target if target is not None else right, conv in _NUMERIC_CONVERSIONS))
    out.append(template[position:])
    return out


def _local_names(expr: cst.BaseExpression) -> bool:
    """``locals()`` or ``vars()`` (no argument): the function's own names."""
    return (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Name)
        and expr.func.value in ("locals", "vars")
        and not expr.args
    )


def _field_names(template: str) -> List[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return []
    return [re.split(r"[.\[]", f, maxsplit=1)[0] for _l, f, _s, _c in parsed if f]


def format_pieces(template: str, args: Sequence[cst.Arg]) -> Optional[List[Piece]]:
    positional = [a.value for a in args if a.keyword is None and not a.star]
    keywords = {a.keyword.value: a.value for a in args if a.keyword is not None}
    stars = [a for a in args if a.star]
    if len(stars) == 1 and stars[0].star == "**" and _local_names(stars[0].value) and not keywords:
        # ``TEMPLATE.format(**locals())``: each named field is the local of that name.
        keywords = {name: cst.Name(name) for name in _field_names(template) if name.isidentifier()}
    elif stars:
        return None
    out: List[Piece] = []
    auto = 0
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    for literal, field_name, spec, conversion in parsed:
        out.append(literal)
        if field_name is None:
            continue
        head = re.split(r"[.\[]", field_name, maxsplit=1)[0]
        target: Optional[cst.BaseExpression]
        if head == "":
            target = positional[auto] if auto < len(positional) else None
            auto += 1
        elif head.isdigit():
            number = int(head)
            target = positional[number] if number < len(positional) else None
        else:
            target = keywords.get(head)
        if target is None:
            return None
        numeric = bool(spec) and conversion is None and _numeric_spec(spec or "")
        out.append(Hole(target, numeric))
    return out
