"""OPS6xx consume sites: the loops that take a consumer's records, and how many records a
poll returns.

A ``for`` over a consumer (``async for`` for aiokafka), a single-record consume call
inside a loop, or a batch call (``poll()``/``getmany()``/``consume()``) whose records a
loop takes one by one; each site knows its per-record region and, for a batch call, the
body run once per poll.  The loop-shape helpers below read the syntax around the call.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Set, Union

import libcst as cst

from opslint.rules import _kafka
from opslint.rules._consumer_kinds import ConsumerKinds
from opslint.rules._consumers import Consumer, ConsumerFacts, ConsumeSite, Records, Seen
from opslint.rules._kafka_facts import literal_value
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import is_none, positional, scope_nodes, unwrap_await


def consume_sites(facts: ConsumerFacts, kinds: ConsumerKinds) -> List[ConsumeSite]:
    """The file's consume sites: ``for`` loops over a consumer, then consume calls."""
    sites: List[ConsumeSite] = []
    for seen in facts.loops:
        site = _loop_site(seen, kinds)
        if site is not None:
            sites.append(site)
    for seen in facts.method_calls:
        call = seen.node
        assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
        if call.func.attr.value not in _kafka.CONSUME_METHODS:
            continue
        consumer = kinds.consumer_of(call.func.value, seen.scope)
        if consumer is None:
            continue
        spec = _kafka.CONSUME_CALLS[consumer.library.name].get(call.func.attr.value)
        if spec is not None:
            site = _call_site(seen, call, consumer, spec, kinds)
            if site is not None:
                sites.append(site)
    return sites


def _loop_site(seen: Seen, kinds: ConsumerKinds) -> Optional[ConsumeSite]:
    loop = seen.node
    assert isinstance(loop, cst.For)
    source = loop.iter
    if isinstance(source, cst.Call) and dotted_name(source.func) == "enumerate" and source.args:
        source = source.args[0].value
    if not isinstance(source, (cst.Name, cst.Attribute)):
        return None
    consumer = kinds.consumer_of(source, seen.scope)
    if consumer is None or not consumer.library.iterable:
        return None
    if consumer.library.event_loop_heartbeat:
        if loop.asynchronous is None:
            return None
        records = Records(1, "async for: getone per record")
    else:
        if loop.asynchronous is not None:
            return None
        records = _records_setting(consumer)
    return ConsumeSite(loop.iter, consumer, records, [loop.body], seen.scope, None, _function_name(seen.stack))


def _records_setting(consumer: Consumer, prefix: str = "") -> Records:
    library = consumer.library
    key = library.records_key
    found = consumer.setting(key) if key is not None else None
    if found is not None:
        if not found.known or not isinstance(found.value, int) or isinstance(found.value, bool):
            return Records(None, f"{prefix}{key} from configuration", known=False)
        return Records(found.value, f"{prefix}{key}={found.value}", found.literal)
    if not consumer.complete:
        return Records(None, f"{prefix}{key} unknown", known=False)
    if library.records_default is None:
        return Records(None, f"{prefix}no {key} cap", known=True)
    add_to = consumer.call if consumer.where.node is consumer.call else None
    return Records(library.records_default, f"{prefix}default {key}", None, add_to)


def _call_site(
    seen: Seen, call: cst.Call, consumer: Consumer, spec: _kafka.ConsumeCall, kinds: ConsumerKinds
) -> Optional[ConsumeSite]:
    method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
    records = _call_records(call, consumer, spec, method, seen, kinds)
    function = _function_name(seen.stack)
    if spec.shape == _kafka.SINGLE:
        loop = _enclosing_loop(seen.stack)
        if loop is None:
            return None
        return ConsumeSite(call, consumer, records, [loop.body], seen.scope, call, function)
    holder = _result_name(seen.stack, call)
    body = _function_body(seen.stack)
    region: List[cst.CSTNode] = []
    if spec.shape == _kafka.LIST:
        for loop in _loops_in(body):
            if loop.iter is call or (holder is not None and _is_name(loop.iter, holder)):
                region.append(loop.body)
        enclosing = _enclosing_loop(seen.stack)
        if not region and holder is not None and enclosing is not None and _takes_items(enclosing.body, holder):
            # ``msgs = consumer.consume()`` then ``msg = msgs.pop()`` (koku's sources
            # listener): the records are taken one by one without a ``for``; the loop
            # around the consume call is the per-record work.
            region.append(enclosing.body)
    else:
        record_lists: Set[str] = set()
        for loop in _loops_in(body):
            iterated = _batch_part(loop.iter, call, holder)
            if iterated == "items" and isinstance(loop.target, cst.Tuple) and len(loop.target.elements) == 2:
                second = loop.target.elements[1].value
                if isinstance(second, cst.Name):
                    record_lists.add(second.value)
            elif iterated == "values" and isinstance(loop.target, cst.Name):
                record_lists.add(loop.target.value)
            elif iterated == "records":
                region.append(loop.body)
        for loop in _loops_in(body):
            if isinstance(loop.iter, cst.Name) and loop.iter.value in record_lists:
                region.append(loop.body)
    if not region:
        return None
    loop = _enclosing_loop(seen.stack)
    poll_body = loop.body if loop is not None else None
    return ConsumeSite(call, consumer, records, region, seen.scope, call, function, poll_body, holder)


def _call_records(
    call: cst.Call, consumer: Consumer, spec: _kafka.ConsumeCall, method: str, seen: Seen, kinds: ConsumerKinds
) -> Records:
    argument: Optional[cst.BaseExpression] = None
    label = f"{method} {spec.records_keyword}" if spec.records_keyword else method
    if spec.records_keyword is not None:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == spec.records_keyword:
                argument = arg.value
        args = positional(call)
        if argument is None and spec.records_position is not None and len(args) > spec.records_position:
            argument = args[spec.records_position].value
    if argument is not None:
        literal = literal_value(argument)
        if isinstance(literal, int) and not isinstance(literal, bool):
            return Records(literal, f"{label}={literal}", argument)
        if is_none(argument):
            return _records_setting(consumer)
        # ``consume(num_messages=BATCH_SIZE)``: a constant of this module or an imported one.
        known, value, _where = kinds.settings.scalar(argument, seen.scope, 0)
        if known and isinstance(value, int) and not isinstance(value, bool):
            return Records(value, f"{label}={value} ({dotted_name(argument) or 'a constant'})", argument)
        return Records(None, f"{label} from a variable", known=False)
    if spec.records_default is not None:
        if spec.records_keyword is not None:
            return Records(spec.records_default, f"{method} default {spec.records_keyword}={spec.records_default}")
        return Records(spec.records_default, f"{_short_library(consumer)}.{method}")
    return _records_setting(consumer)


def _short_library(consumer: Consumer) -> str:
    return consumer.library.label.rsplit(" ", 1)[-1]


def _function_name(stack: Sequence[cst.CSTNode]) -> str:
    function = next((n for n in reversed(stack) if isinstance(n, cst.FunctionDef)), None)
    return function.name.value if function is not None else "<module>"


def _function_body(stack: Sequence[cst.CSTNode]) -> cst.CSTNode:
    function = next((n for n in reversed(stack) if isinstance(n, cst.FunctionDef)), None)
    return function.body if function is not None else stack[0]


def _enclosing_loop(stack: Sequence[cst.CSTNode]) -> Optional[Union[cst.For, cst.While]]:
    for node in reversed(stack[:-1]):
        if isinstance(node, (cst.For, cst.While)):
            return node
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return None
    return None


def _loops_in(body: cst.CSTNode) -> List[cst.For]:
    return [node for node in scope_nodes(body) if isinstance(node, cst.For)]


def _takes_items(body: cst.CSTNode, holder: str) -> bool:
    """``holder.pop()`` or ``holder[i]`` in ``body``: a batch's records taken one by one."""
    for node in scope_nodes(body):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "pop":
            if _is_name(node.func.value, holder):
                return True
        elif isinstance(node, cst.Subscript) and _is_name(node.value, holder):
            return True
    return False


def _is_name(expr: cst.BaseExpression, name: str) -> bool:
    return isinstance(expr, cst.Name) and expr.value == name


def _result_name(stack: Sequence[cst.CSTNode], call: cst.Call) -> Optional[str]:
    """``batch = consumer.poll(...)`` / ``batch = await consumer.getmany(...)`` -> ``batch``."""
    for node in reversed(stack[:-1]):
        if isinstance(node, cst.Await):
            continue
        if isinstance(node, cst.Assign) and unwrap_await(node.value) is call and len(node.targets) == 1:
            target = node.targets[0].target
            return target.value if isinstance(target, cst.Name) else None
        if isinstance(node, cst.AnnAssign) and node.value is not None and unwrap_await(node.value) is call:
            return node.target.value if isinstance(node.target, cst.Name) else None
        return None
    return None


def _batch_part(iterable: cst.BaseExpression, call: cst.Call, holder: Optional[str]) -> str:
    """How a loop iterates a ``{partition: [records]}`` batch: ``items``, ``values``, or
    ``records`` (``batch[tp]``, ``batch.get(tp)``, ``chain.from_iterable(batch.values())``)."""

    def is_batch(expr: cst.BaseExpression) -> bool:
        expr = unwrap_await(expr)
        return expr is call or (holder is not None and _is_name(expr, holder))

    if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute):
        method = iterable.func.attr.value
        if method in ("items", "values") and is_batch(iterable.func.value):
            return method
        if method == "get" and is_batch(iterable.func.value):
            return "records"
        if method == "from_iterable" and iterable.args:
            inner = iterable.args[0].value
            if _batch_part(inner, call, holder) == "values":
                return "records"
    if isinstance(iterable, cst.Subscript) and is_batch(iterable.value):
        return "records"
    return ""


def idle_branches(body: cst.CSTNode, holder: Optional[str]) -> List[cst.CSTNode]:
    """The ``if`` bodies of ``body`` taken only when the poll returned nothing:
    ``if not batch:``, ``if batch is None:``, ``if len(batch) == 0:``."""
    if holder is None:
        return []
    branches: List[cst.CSTNode] = []
    for node in scope_nodes(body):
        if isinstance(node, cst.If) and _tests_empty(node.test, holder):
            branches.append(node.body)
    return branches


def _tests_empty(test: cst.BaseExpression, holder: str) -> bool:
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = test.expression
        if isinstance(inner, cst.Call) and _is_name(inner.func, "len") and inner.args:
            inner = inner.args[0].value
        return _is_name(inner, holder)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        left, target = test.left, test.comparisons[0]
        if isinstance(left, cst.Call) and _is_name(left.func, "len") and left.args:
            literal = literal_value(target.comparator)
            return (
                _is_name(left.args[0].value, holder)
                and isinstance(target.operator, cst.Equal)
                and literal == 0
                and not isinstance(literal, bool)
            )
        return _is_name(left, holder) and isinstance(target.operator, cst.Is) and is_none(target.comparator)
    return False
