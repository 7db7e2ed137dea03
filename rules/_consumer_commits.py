"""OPS6xx commits (OPS602): consumers of this file that turn auto commit off, and whether
anything may commit them.

A commit on the consumer in this file (through names, ``self.x``, factories, and the
parameters of this file's functions it is passed to), a seek or an assignment callback
that positions it, no consumer group, or a way out of the file (stored, returned to
another module's caller, passed to another object) through which another module may
commit it.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.scopes import Answer, Binding, BindingKind, Scope, ScopeKind
from opslint.project import CallSite
from opslint.rules import _kafka
from opslint.rules._consumer_kinds import ConsumerKinds, default_factory
from opslint.rules._consumers import Consumer, Escape, KafkaFile, Seen, Setting, plain_target
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import positional
from opslint.syntax.walk import children, iter_nodes


class Commits:
    """OPS602's questions for one file (one per ``KafkaModel``)."""

    def __init__(self, file: KafkaFile, consumer_kinds: ConsumerKinds) -> None:
        self.file = file
        self.consumer_kinds = consumer_kinds

    def manual_consumers(self) -> List[Tuple[Consumer, Setting, Seen]]:
        """Constructions of this file that turn auto commit off."""
        out = []
        for seen in self.file.facts.constructions:
            call = seen.node
            assert isinstance(call, cst.Call)
            consumer = self.consumer_kinds.of_value(call, seen.scope)
            if consumer is None:
                continue
            setting = consumer.setting(consumer.library.auto_commit_key)
            if setting is not None and setting.known and _kafka.is_off(setting.value):
                out.append((consumer, setting, seen))
        return out

    def reaches_commit(self, consumer: Consumer, seen: Seen) -> bool:
        """Whether the consumer may be committed: a commit on it in this file (through
        names, ``self.x``, factories and the parameters of this file's functions it is
        passed to), or it leaves the file in a way that another module could commit it."""
        holders: Set[int] = set()
        if self._commits_itself(consumer):
            return True
        container = self._container(seen)
        if container is not None:
            return self._no_group(consumer) or self._container_committed(consumer, container, seen.scope)
        if self._leaves_at_construction(seen):
            return True

        def holds(answers: Sequence[Answer[Any]]) -> bool:
            return any(a.kind is consumer or (a.binding is not None and id(a.binding) in holders) for a in answers)

        changed = True
        escaped = False
        while changed and not escaped:
            changed = False
            for escape in self.file.facts.escapes:
                if not isinstance(escape.expr, (cst.Name, cst.Attribute, cst.Call)):
                    continue
                if isinstance(escape.expr, cst.Call) and escape.expr is not consumer.call:
                    if not holds(self.file.table.kinds(escape.expr, escape.scope, self.consumer_kinds)):
                        continue
                elif not holds(self.file.table.kinds(escape.expr, escape.scope, self.consumer_kinds)):
                    continue
                verdict = self._escape_verdict(escape)
                if verdict is None:
                    continue
                if isinstance(verdict, Binding):
                    if id(verdict) not in holders:
                        holders.add(id(verdict))
                        changed = True
                    continue
                escaped = True
                break
        if escaped or self._no_group(consumer):
            return True
        methods = consumer.library.commit_methods
        for call_seen in self.file.facts.method_calls:
            call = call_seen.node
            assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            method = call.func.attr.value
            if method in _kafka.TRANSACTION_OFFSET_METHODS:
                # The producer's transaction commits the offsets of the consumer whose group
                # metadata (or positions) it is handed.
                receivers = [
                    node.func.value
                    for arg in call.args
                    for node in iter_nodes(arg.value)
                    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                ]
                if any(holds(self.file.table.kinds(r, call_seen.scope, self.consumer_kinds)) for r in receivers):
                    return True
                if self._names_group(call, call_seen.scope, consumer):
                    return True  # aiokafka: ``send_offsets_to_transaction(offsets, GROUP_ID)``
                continue
            if method not in methods and method not in _kafka.SEEK_METHODS and method != "subscribe":
                continue
            if not holds(self.file.table.kinds(call.func.value, call_seen.scope, self.consumer_kinds)):
                continue
            # A consumer the application positions (seek, or an assignment callback that
            # sets the offsets it stored elsewhere) does not restart from committed offsets.
            if method != "subscribe" or self._positions_on_assign(consumer, call, call_seen.scope):
                return True
        for ref in self.file.facts.commit_refs:
            attribute = ref.node
            assert isinstance(attribute, cst.Attribute)
            if attribute.attr.value in methods and holds(
                self.file.table.kinds(attribute.value, ref.scope, self.consumer_kinds)
            ):
                return True
        return self._committed_elsewhere(consumer, seen)

    @staticmethod
    def _container(seen: Seen) -> Optional[str]:
        """The local name of a container the construction is put in: ``consumers = {t:
        KafkaConsumer(t, ...) for t in TOPICS}``, a list of them, ``consumers[t] = ...``."""
        stack = seen.stack
        if len(stack) < 3:
            return None
        parent, index = stack[-2], 2
        if isinstance(parent, (cst.Element, cst.DictElement)):
            parent, index = stack[-3], 3
        if isinstance(parent, (cst.DictComp, cst.ListComp, cst.SetComp, cst.List, cst.Tuple, cst.Set, cst.Dict)):
            holder = stack[-index - 1] if len(stack) > index else None
            if isinstance(holder, cst.Assign) and len(holder.targets) == 1:
                target = holder.targets[0].target
                return target.value if isinstance(target, cst.Name) else None
            return None
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
            if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
                return target.value.value
        return None

    def _container_committed(self, consumer: Consumer, container: str, scope: Scope) -> bool:
        """Whether a consumer kept in a local container may be committed: a commit on an
        element (``for topic, c in consumers.items(): ... c.commit()``, ``consumers[t].commit()``),
        or the container leaves the function (another module may commit its elements)."""
        for escape in self.file.facts.escapes:
            if isinstance(escape.expr, cst.Name) and escape.expr.value == container and escape.scope is scope:
                if self._escape_verdict(escape) is not None:
                    return True
        methods = consumer.library.commit_methods
        receivers: List[Tuple[cst.BaseExpression, Scope]] = []
        for call_seen in self.file.facts.method_calls:
            call = call_seen.node
            assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            if call.func.attr.value in methods or call.func.attr.value in _kafka.TRANSACTION_OFFSET_METHODS:
                receivers.append((call.func.value, call_seen.scope))
        for ref in self.file.facts.commit_refs:
            attribute = ref.node
            assert isinstance(attribute, cst.Attribute)
            if attribute.attr.value in methods:
                receivers.append((attribute.value, ref.scope))
        return any(self._element_of(receiver, where, container) for receiver, where in receivers)

    def _element_of(self, expr: cst.BaseExpression, scope: Scope, container: str) -> bool:
        """``consumers[t]``, or a name bound by a loop over the container (its values or items)."""
        if isinstance(expr, cst.Subscript):
            return isinstance(expr.value, cst.Name) and expr.value.value == container
        if not isinstance(expr, cst.Name):
            return False
        for binding in self.file.table.lookup(expr.value, scope):
            if binding.kind is not BindingKind.LOOP:
                continue
            for loop in self.file.facts.loops:
                node = loop.node
                if isinstance(node, cst.For) and any(n is binding.node for n in iter_nodes(node.target)):
                    return _iterates(node.iter, container)
        return False

    @staticmethod
    def _no_group(consumer: Consumer) -> bool:
        """kafka-python/aiokafka without ``group_id`` (the default None): no group, so
        nothing to commit to; the consumer reads from where it is told."""
        if consumer.library.dotted:
            return False
        found = consumer.settings.get("group_id")
        if found is None:
            return consumer.complete
        return found.known and found.value is None

    def _positions_on_assign(self, consumer: Consumer, call: cst.Call, scope: Scope) -> bool:
        """``subscribe(..., on_assign=cb)`` / ``listener=Listener()`` whose callback (a
        function or class of this file) seeks or sets the partitions' offsets."""
        keyword, position = _kafka.ASSIGN_CALLBACKS[consumer.library.name]
        argument: Optional[cst.BaseExpression] = None
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == keyword:
                argument = arg.value
        args = positional(call)
        if argument is None and len(args) > position:
            argument = args[position].value
        if isinstance(argument, cst.Call):
            argument = argument.func
        if not isinstance(argument, cst.Name):
            return False
        bindings = self.file.table.resolve(argument, scope)
        if len(bindings) != 1 or not isinstance(bindings[0].node, (cst.FunctionDef, cst.ClassDef)):
            return False
        for node in _all_nodes(bindings[0].node):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                if node.func.attr.value in _kafka.SEEK_METHODS:
                    return True
            elif isinstance(node, (cst.Assign, cst.AugAssign)):
                targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
                if any(isinstance(t, cst.Attribute) and t.attr.value == "offset" for t in targets):
                    return True
        return False

    def _commits_itself(self, consumer: Consumer) -> bool:
        """A consumer subclass whose methods commit (``self.commit()``)."""
        owner = self.consumer_kinds.subclasses.get(id(consumer))
        if owner is None:
            return False
        methods = consumer.library.commit_methods
        for call_seen in self.file.facts.method_calls:
            call = call_seen.node
            assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            method = call_seen.scope.enclosing_method()
            if (
                call.func.attr.value in methods
                and method is not None
                and method.owner is owner
                and isinstance(call.func.value, cst.Name)
                and call.func.value.value == method.self_name
            ):
                return True
        return False

    def _names_group(self, call: cst.Call, scope: Scope, consumer: Consumer) -> bool:
        """A transaction's offsets sent for the consumer's group by its id: the literal, or a
        name bound once to it (``GROUP_ID = "normalizer"``)."""
        if not consumer.group:
            return False
        for arg in call.args:
            value = arg.value
            if isinstance(value, (cst.Name, cst.Attribute)):
                bindings = self.file.table.resolve(value, scope)
                found = bindings[0].value if len(bindings) == 1 else None
                value = found if found is not None else value
            if isinstance(value, cst.SimpleString) and value.evaluated_value == consumer.group:
                return True
        return False

    def _leaves_at_construction(self, seen: Seen) -> bool:
        """The construction is handed on at once (``closing(KafkaConsumer(...))``, a list,
        another object's attribute) instead of being bound to a name or returned."""
        stack = seen.stack
        if len(stack) < 2:
            return True
        parent = stack[-2]
        if isinstance(parent, cst.Await) and len(stack) >= 3:
            parent = stack[-3]
        if (
            isinstance(parent, cst.Arg)
            and len(stack) >= 4
            and isinstance(stack[-3], cst.Call)
            and self.file.resolve(stack[-3].func) in _kafka.CLOSING
        ):
            # ``with closing(KafkaConsumer(...)) as consumer:``: bound like the consumer itself.
            parent = stack[-4]
        if (
            isinstance(parent, cst.Lambda)
            and len(stack) >= 5
            and isinstance(stack[-4], cst.Call)
            and default_factory(stack[-4], self.file.resolve(stack[-4].func) or "") is stack[-1]
        ):
            # ``consumer: Consumer = field(default_factory=lambda: Consumer(...))``: each
            # instance's attribute holds it.
            parent = stack[-5]
        if isinstance(parent, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
            return not all(isinstance(t, cst.Name) or plain_target(t) for t in targets)
        return not isinstance(parent, (cst.WithItem, cst.Return, cst.For))

    def _escape_verdict(self, escape: Escape) -> Union[None, bool, Binding]:
        """What passing the consumer here means: None (nothing: a log call, its own
        method), a parameter ``Binding`` of this file's function that now holds it, or
        True (it leaves: another module or object may commit it)."""
        if escape.context == "store":
            return True
        if escape.context == "return":
            return self._return_leaves(escape.function)
        call = escape.call
        assert call is not None
        func = call.func
        name = dotted_name(func) or ""
        last = name.rsplit(".", 1)[-1]
        if name in _kafka.HARMLESS_RECEIVERS or last in _kafka.LOG_METHODS:
            return None
        if isinstance(func, cst.Attribute) and func.value is escape.expr:
            return None
        target: Optional[cst.FunctionDef] = None
        bound = False
        if isinstance(func, cst.Name):
            target = self.file.table.function_named(func.value, escape.scope)
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            bindings = self.file.table.resolve(func, escape.scope)
            if len(bindings) == 1 and isinstance(bindings[0].node, cst.FunctionDef):
                target, bound = bindings[0].node, True
        if target is None:
            return self._other_module_verdict(func, escape)
        inner = self.file.table.scope_of(target)
        if inner is None or any(not _transparent(d) for d in target.decorators):
            # A decorated function is called through its decorator's wrapper (which may
            # take the consumer and commit: ``@commits_offset``): it leaves this file's sight.
            return True
        params = [*target.params.posonly_params, *target.params.params]
        if bound and inner.owner is not None:
            params = params[1:]
        param: Optional[cst.Param] = None
        if escape.keyword:
            param = next((p for p in [*params, *target.params.kwonly_params] if p.name.value == escape.keyword), None)
        elif 0 <= escape.index < len(params):
            param = params[escape.index]
        if param is None:
            return True
        binding = next((b for b in inner.own(param.name.value) if b.kind is BindingKind.PARAM), None)
        return binding if binding is not None else True

    def _other_module_verdict(self, func: cst.BaseExpression, escape: Escape) -> Optional[bool]:
        """The consumer handed to a plain function of another module (``consume_forever(consumer)``):
        None when its summary only polls and closes the parameter; True when it may commit,
        position, or pass it on (or when the function is not one the index knows)."""
        project = self.file.project
        qualified = self.file.resolve(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
        function = project.function(qualified) if project is not None and qualified else None
        if function is None or function.class_qualname is not None or function.module == self.file.module_name:
            return True
        if escape.keyword:
            name = escape.keyword if escape.keyword in function.params else None
        else:
            name = function.params[escape.index] if 0 <= escape.index < len(function.params) else None
        if name is None:
            return True
        return None if _only_consumes(function.calls, name) else True

    def _return_leaves(self, function: Optional[cst.FunctionDef]) -> Optional[bool]:
        """A function that returns the consumer: its callers in this file are followed by
        the binding table; callers in other modules may commit it."""
        if function is None:
            return True
        scope = self.file.table.scope_of(function)
        parent = scope.parent if scope is not None else None
        if parent is None or parent.kind not in (ScopeKind.MODULE, ScopeKind.CLASS):
            return True
        if parent.kind is ScopeKind.CLASS:
            owner = parent.node
            if (
                not isinstance(owner, cst.ClassDef)
                or parent.parent is None
                or parent.parent.kind is not ScopeKind.MODULE
            ):
                return True
            qualname = f"{self.file.module_name}.{owner.name.value}.{function.name.value}"
        else:
            qualname = f"{self.file.module_name}.{function.name.value}"
        if self.file.project is None:
            return None
        followed = {function.name.value, f"self.{function.name.value}", f"cls.{function.name.value}"}
        for caller, site in self.file.project.callers(qualname):
            if caller.module == self.file.module_name and site.raw in followed:
                continue
            # Another module's plain function that binds the consumer to a local and only
            # polls it (``consumer = build_consumer(...)``) keeps it; any other caller, or a
            # call the binding table cannot follow (``obj.make()``), may commit it.
            if caller.module == self.file.module_name or caller.class_qualname is not None:
                return True
            if caller.kind != "function" or not _only_consumes(caller.calls, f"{qualname}()", since=site.index):
                return True
        return None

    def _committed_elsewhere(self, consumer: Consumer, seen: Seen) -> bool:
        """A module-level consumer or a ``self.x`` one used from another module."""
        if self.file.project is None:
            return False
        stack = seen.stack
        parent = stack[-2] if len(stack) >= 2 else None
        if isinstance(parent, cst.Await) and len(stack) >= 3:
            parent = stack[-3]
        if not isinstance(parent, (cst.Assign, cst.AnnAssign)):
            return False
        targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
        patterns: List[str] = []
        prefixes: List[str] = []
        for target in targets:
            if isinstance(target, cst.Name) and seen.scope.kind is ScopeKind.MODULE:
                prefixes.append(f"{self.file.module_name}.{target.value}")
            elif isinstance(target, cst.Attribute):
                patterns.append(f".{target.attr.value}.")
        if not patterns and not prefixes:
            return False
        for function in self.file.project.functions():
            if function.module == self.file.module_name:
                continue
            for site in function.calls:
                method = site.callee.rsplit(".", 1)[-1]
                texts = (site.callee, site.raw, *site.args)
                if any(t.startswith(p) for t in texts for p in prefixes):
                    return True
                if method in _kafka.COMMIT_METHODS and any(p in f".{site.raw}" for p in patterns):
                    return True
        return False


#: Decorators that keep a function's parameters as they are.
_TRANSPARENT_DECORATORS = frozenset({"staticmethod", "classmethod", "property", "lru_cache", "cache", "wraps"})


def _transparent(decorator: cst.Decorator) -> bool:
    expr = decorator.decorator
    name = dotted_name(expr.func if isinstance(expr, cst.Call) else expr) or ""
    return name.rsplit(".", 1)[-1] in _TRANSPARENT_DECORATORS


def _iterates(expr: cst.BaseExpression, container: str) -> bool:
    """``consumers``, ``consumers.values()``, ``consumers.items()``."""
    if isinstance(expr, cst.Name):
        return expr.value == container
    if (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value in ("values", "items")
    ):
        return isinstance(expr.func.value, cst.Name) and expr.func.value.value == container
    return False


def _only_consumes(calls: Sequence[CallSite], name: str, since: int = -1) -> bool:
    """Whether the calls of a summarised function use the consumer ``name`` (a parameter,
    or ``pkg.factory()`` for a local the factory's result is bound to) only through its
    own methods, none of which commits or positions it, and never hand it on."""
    prefix = name + "."
    used = False
    for site in calls:
        if site.index <= since:
            continue
        text = site.raw if site.raw.startswith(prefix) else site.callee
        if text.startswith(prefix):
            method = text[len(prefix) :]
            if method.split(".", 1)[0].endswith("()"):
                continue  # ``consumer.poll().items()``: a call on what a method returned
            if "." in method or method in _kafka.COMMIT_METHODS or method in _kafka.SEEK_METHODS:
                return False
            if method == "subscribe" and (site.kwargs or len(site.args) > 1):
                return False  # an assignment callback may position it
            used = True
            continue
        values = (*site.args, *(v for _, v in site.kwargs))
        if name in values:
            return False  # handed on
        if site.callee.rsplit(".", 1)[-1] in _kafka.TRANSACTION_OFFSET_METHODS and any(
            v.startswith(prefix) for v in values
        ):
            return False
    return used


def _all_nodes(node: cst.CSTNode) -> List[cst.CSTNode]:
    """``node`` and everything under it, nested functions included (a listener class's
    methods)."""
    out: List[cst.CSTNode] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(children(current))
    return out
