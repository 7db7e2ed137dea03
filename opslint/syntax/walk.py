"""A read-only traversal of a LibCST tree, in LibCST's own visit order.

``Module.visit`` rebuilds every node it passes (``_visit_and_replace_children``
constructs and validates a copy, then throws it away for a plain visitor):
about as costly as the parse itself (PERF_FACTS.md, floor (e)).  The engine's
visitor never replaces nodes, so it walks the fields directly.

The order of a node type's children is read once from its
``_visit_and_replace_children`` source, which names each field in the order it
visits them (``visit_sequence(self, "decorators", ...)``).  A type whose order
cannot be read is walked by LibCST itself (``node.visit``, that subtree
only); ``tests/test_walk.py`` checks both orders agree node for node.
"""

from __future__ import annotations

import inspect
import re
from typing import Dict, Iterator, List, Optional, Protocol, Tuple, Type, TypeVar, Union

import libcst as cst

_FIELD = re.compile(r"\bvisit_\w+\(\s*self,\s*\"(\w+)\"")
_ORDER: Dict[type, Optional[Tuple[str, ...]]] = {}
#: Types of field values that are never nodes, and types that are (isinstance
#: on CSTNode, an ABC, is slow enough to matter on every field).
_NODE_TYPES: Dict[type, bool] = {str: False, type(None): False, tuple: False, list: False}


class Visitor(Protocol):
    def on_visit(self, node: cst.CSTNode) -> bool: ...

    def on_leave(self, original_node: cst.CSTNode) -> None: ...


def field_order(kind: type) -> Optional[Tuple[str, ...]]:
    """The fields a node type visits, in order (None if it cannot be read)."""
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


def children(node: cst.CSTNode) -> List[cst.CSTNode]:
    """The node's children in visit order, without LibCST's copying ``node.children``
    (which it still serves for a type whose order cannot be read)."""
    order = _ORDER[type(node)] if type(node) in _ORDER else field_order(type(node))
    if order is None:
        return list(node.children)
    out: List[cst.CSTNode] = []
    for name in order:
        value = getattr(node, name)
        if type(value) in (tuple, list):
            out.extend(item for item in value if _is_node(item))
        elif _is_node(value):
            out.append(value)
    return out


def walk(node: cst.CSTNode, visitor: Visitor) -> None:
    """Visit ``node`` and its descendants as ``node.visit(visitor)`` would, without copying."""
    # The loop of ``children`` is inlined: this runs for every node of every
    # file, and building a list per node costs 15% more here.
    order = _ORDER[type(node)] if type(node) in _ORDER else field_order(type(node))
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
