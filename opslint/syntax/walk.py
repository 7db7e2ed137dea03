"""A read-only traversal of a LibCST tree, in LibCST's own visit order.

``Module.visit`` rebuilds every node it passes (``_visit_and_replace_children``
constructs and validates a copy, then throws it away for a plain visitor):
about as costly as the parse itself (PERF_FACTS.md, floor (e)).  The engine's
visitor never replaces nodes, so it walks the fields directly.

The order of a node type's children is read once from its
``_visit_and_replace_children`` source, which names each field in the order it
visits them (``visit_sequence(self, "decorators", ...)``), and checked once per
type, on the first node of that type met, against LibCST's public
``node.children``.  A type whose order cannot be read, or whose order disagrees,
is walked by LibCST itself (``node.visit``, that subtree only): a LibCST release
that changes its private code costs speed, never correctness.
``tests/test_walk.py`` checks both orders agree node for node.

Whitespace, comments and punctuation (``TRIVIA``) are not walked: no analysis reads
them by traversal (rules reach ``node.comma`` or ``node.lpar`` as fields), they hold
nothing else, and they are about 60% of a tree's nodes (Django's ``query.py``: 22,700
of 36,500), so every traversal of the engine and of the rules costs less than half.
Fields whose annotation admits only layout (``whitespace_after_func``, ``lpar``,
``comma``: most of a node's fields) are left out of the order, so the walk does not
even read them.
"""

from __future__ import annotations

import collections.abc
import inspect
import re
import sys
import typing
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Protocol, Tuple, Type, TypeVar, Union

import libcst as cst

_FIELD = re.compile(r"\bvisit_\w+\(\s*self,\s*\"(\w+)\"")
_ORDER: Dict[type, Optional[Tuple[str, ...]]] = {}
#: The orders the walk uses: read, then checked against ``node.children`` once per type.
_CHECKED: Dict[type, Optional[Tuple[str, ...]]] = {}
#: Types of field values that are never nodes, and types that are (isinstance
#: on CSTNode, an ABC, is slow enough to matter on every field).
#: Node types that only hold source layout: whitespace, comments, newlines and
#: punctuation tokens.  Each holds only others of these.
TRIVIA: FrozenSet[type] = frozenset(
    {
        cst.SimpleWhitespace,
        cst.ParenthesizedWhitespace,
        cst.TrailingWhitespace,
        cst.Newline,
        cst.EmptyLine,
        cst.Comment,
        cst.Comma,
        cst.Dot,
        cst.Colon,
        cst.Semicolon,
        cst.AssignEqual,
        cst.LeftParen,
        cst.RightParen,
        cst.LeftSquareBracket,
        cst.RightSquareBracket,
        cst.LeftCurlyBrace,
        cst.RightCurlyBrace,
    }
)
_NODE_TYPES: Dict[type, bool] = {str: False, type(None): False, tuple: False, list: False}
_NODE_TYPES.update(dict.fromkeys(TRIVIA, False))


class Visitor(Protocol):
    def on_visit(self, node: cst.CSTNode) -> bool: ...

    def on_leave(self, original_node: cst.CSTNode) -> None: ...


def _order_of(node: cst.CSTNode) -> Optional[Tuple[str, ...]]:
    """The field order of ``node``'s type without its layout-only fields, read and
    checked on the first node of the type."""
    kind = type(node)
    if kind in _CHECKED:
        return _CHECKED[kind]
    order = field_order(kind)
    if order is not None:
        hints = _hints(kind)
        order = tuple(name for name in order if not _layout_only(hints.get(name)))
        if _fields_in(node, order) != _public_children(node):
            order = None
    _CHECKED[kind] = order
    return order


def _hints(kind: type) -> Dict[str, Any]:
    try:
        return typing.get_type_hints(kind)
    except Exception:  # noqa: BLE001 - unreadable annotations: every field is walked
        return {}


def _layout_only(hint: Any) -> bool:
    """Whether a field annotated ``hint`` can hold nothing but ``TRIVIA`` (and non-nodes
    such as ``MaybeSentinel``): such fields (``whitespace_after``, ``lpar``, ``comma``
    ...) are most of a node's fields, and the walk skips them.  Unknown: False."""
    if hint is None:
        return False
    origin = typing.get_origin(hint)
    if origin is Union:
        return all(_layout_only(arg) for arg in typing.get_args(hint))
    if origin in (tuple, list, collections.abc.Sequence):
        args = [arg for arg in typing.get_args(hint) if arg is not Ellipsis]
        return bool(args) and all(_layout_only(arg) for arg in args)
    if origin is typing.Literal:
        return True  # ``star: Literal["", "*"]``: text, not a node
    if not isinstance(hint, type):
        return False
    if hint in TRIVIA or hint is str or hint is cst.MaybeSentinel or hint is type(None):
        return True
    if not issubclass(hint, cst.CSTNode):
        return False
    # An abstract base (``BaseParenthesizableWhitespace``): layout when every node type
    # it stands for is.
    concrete = [k for k in _descendants(hint) if not inspect.isabstract(k)]
    return bool(concrete) and all(k in TRIVIA for k in concrete)


def _descendants(kind: type) -> List[type]:
    """``kind`` and its subclasses, but the stale copies LibCST's ``add_slots`` leaves
    behind (the class it rebuilt with slots is the one its module holds)."""
    out = [kind]
    subclasses: List[type] = kind.__subclasses__()
    for sub in subclasses:
        if getattr(sys.modules.get(sub.__module__), sub.__name__, None) is sub:
            out.extend(_descendants(sub))
    return out


def _fields_in(node: cst.CSTNode, order: Tuple[str, ...]) -> List[cst.CSTNode]:
    out: List[cst.CSTNode] = []
    for name in order:
        value: Any = getattr(node, name, None)
        if type(value) in (tuple, list):
            out.extend(item for item in value if _is_node(item))
        elif _is_node(value):
            out.append(value)
    return out


def field_order(kind: type) -> Optional[Tuple[str, ...]]:
    """The fields a node type visits, in order, as read from LibCST's source (None if
    it cannot be read).  The engine uses ``_order_of``, which also checks it."""
    if kind in _ORDER:
        return _ORDER[kind]
    order: Optional[Tuple[str, ...]]
    try:
        source = inspect.getsource(kind._visit_and_replace_children)  # type: ignore[attr-defined]
    except (OSError, TypeError, AttributeError):
        order = None
    else:
        names = _FIELD.findall(source)
        calls = len(re.findall(r"\bvisit_\w+\(\s*self,", source))
        # A visit call whose field we cannot name: do not guess.
        order = tuple(dict.fromkeys(names)) if calls == len(names) else None
    _ORDER[kind] = order
    return order


def _is_node(value: object) -> bool:
    kind = type(value)
    known = _NODE_TYPES.get(kind)
    if known is None:
        known = _NODE_TYPES[kind] = isinstance(value, cst.CSTNode)
    return known


def _public_children(node: cst.CSTNode) -> List[cst.CSTNode]:
    return [child for child in node.children if type(child) not in TRIVIA]


def children(node: cst.CSTNode) -> List[cst.CSTNode]:
    """The node's children but ``TRIVIA``, in visit order, without LibCST's copying
    ``node.children`` (which it still serves for a type whose order cannot be read)."""
    order = _CHECKED[type(node)] if type(node) in _CHECKED else _order_of(node)
    if order is None:
        return _public_children(node)
    return _fields_in(node, order)


def walk(node: cst.CSTNode, visitor: Visitor) -> None:
    """Visit ``node`` and its descendants but ``TRIVIA`` as ``node.visit(visitor)``
    would, without copying."""
    # The loop of ``children`` is inlined: this runs for every node of every
    # file, and building a list per node costs 15% more here.
    order = _CHECKED[type(node)] if type(node) in _CHECKED else _order_of(node)
    if order is None:
        node.visit(visitor)  # type: ignore[arg-type]  # LibCST's own walk, for this subtree only
        return
    if visitor.on_visit(node):
        for name in order:
            value = getattr(node, name)
            if type(value) in (tuple, list):
                for item in value:
                    if _is_node(item):
                        walk(item, visitor)
            elif _is_node(value):
                walk(value, visitor)
    visitor.on_leave(node)


N = TypeVar("N", bound=cst.CSTNode)


def iter_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and every node under it, in visit order (what ``m.findall`` searches)."""
    stack: List[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def find_all(node: cst.CSTNode, kind: Union[Type[N], Tuple[Type[N], ...]]) -> List[N]:
    """The nodes of a type (or types) in ``node``'s subtree, itself included, in order."""
    return [n for n in iter_nodes(node) if isinstance(n, kind)]


def is_name(node: cst.CSTNode, value: Optional[str] = None) -> bool:
    """A ``Name`` (with that value, if given)."""
    return isinstance(node, cst.Name) and (value is None or node.value == value)
