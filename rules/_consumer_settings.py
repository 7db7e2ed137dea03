"""OPS6xx values: what a consumer's configuration and a timeout argument hold.

A construction's settings (keywords, ``**spreads``, confluent's config dict), a dict's
(literal, variable, ``{**BASE, ...}``, ``dict(...)``, ``.copy()``, the one dict a
function of this file returns, then the ``update``/``setdefault``/``conf[k] = v`` changes
made to it), scalars through names, arithmetic over constants and other modules'
constants (the project facts of ``_kafka_facts``); timeouts in seconds; the
``httpTimeout`` the firebase apps use.  Each value keeps where it is written, so that a
message can point at it and a fix replace it.
"""

from __future__ import annotations

import ast
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import libcst as cst

from opslint.analysis.scopes import Binding, BindingKind, Scope
from opslint.rules import _kafka, _net
from opslint.rules._consumers import MAX_DEPTH, KafkaFile, Seen, Setting, Where
from opslint.rules._kafka_facts import (
    NOTHING,
    DictFact,
    ValueFact,
    confluent_config_arg,
    dataclass_fields,
    firebase_options_arg,
    literal_value,
)
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import is_none, positional
from opslint.syntax.walk import find_all


class SettingsReader:
    """Values as a consumer's configuration reads them (one per ``KafkaModel``): the
    settings of a construction or a dict, scalars through names, arithmetic and other
    modules' constants, timeouts in seconds, the firebase apps' ``httpTimeout``."""

    def __init__(self, file: KafkaFile) -> None:
        self.file = file
        self._firebase: Optional[Tuple[bool, Optional[float], str]] = None
        self._cli_defaults: Optional[Dict[str, Optional[cst.BaseExpression]]] = None

    # -- settings ------------------------------------------------------------------------

    def call_settings(self, call: cst.Call, library: _kafka.Library, scope: Scope) -> Tuple[Dict[str, Setting], bool]:
        if library.dotted:
            config = confluent_config_arg(call)
            if config is None:
                return {}, False
            return self.dict_settings(config, scope, 0)
        settings: Dict[str, Setting] = {}
        complete = True
        for arg in call.args:
            if arg.keyword is not None:
                key = arg.keyword.value
                known, value, where = self.scalar(arg.value, scope, 0)
                literal = arg.value if literal_value(arg.value) is not NOTHING else None
                settings[key] = Setting(key, value, known, where if where.node is not None else Where(arg), literal)
            elif arg.star == "**":
                nested, nested_complete = self.dict_settings(arg.value, scope, 0)
                settings.update(nested)
                complete = complete and nested_complete
        return settings, complete

    # -- values ------------------------------------------------------------------------

    def scalar(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> Tuple[bool, Any, Where]:
        """(known, value, where it is written) of a setting or timeout expression."""
        literal = literal_value(expr)
        if literal is not NOTHING:
            return True, literal, Where(expr)
        if depth >= MAX_DEPTH:
            return False, None, Where(expr)
        if isinstance(expr, cst.Name):
            bindings = [b for b in self.file.table.lookup(expr.value, scope) if b.kind is not BindingKind.DELETE]
            if len(bindings) == 1 and bindings[0].value is not None and bindings[0].kind is BindingKind.ASSIGN:
                return self.scalar(bindings[0].value, bindings[0].scope, depth + 1)
            if len(bindings) == 1 and bindings[0].kind is BindingKind.IMPORT:
                return self._fact_scalar_ref(self.file.resolve(expr), depth + 1)
            return False, None, Where(expr)
        if isinstance(expr, cst.Attribute):
            field_value = self._config_field(expr, scope)
            if field_value is not None:
                return self.scalar(field_value, scope, depth + 1)
            # ``self.timeout`` that the class sets once (``self.timeout = 30`` in ``__init__``).
            bindings = [b for b in self.file.table.resolve(expr, scope) if b.kind is not BindingKind.DELETE]
            if len(bindings) == 1 and bindings[0].value is not None and bindings[0].kind is BindingKind.ASSIGN:
                return self.scalar(bindings[0].value, bindings[0].scope, depth + 1)
            default = self._cli_default(expr, scope)
            if default is not None:
                return self.scalar(default, self.file.table.module_scope or scope, depth + 1)
            return self._fact_scalar_ref(self.file.resolve(expr), depth + 1)
        if isinstance(expr, cst.Call):
            return self._call_scalar(expr, scope, depth)
        if isinstance(expr, cst.BinaryOperation):
            # ``1 / REQUESTS_PER_SECOND``, ``5 * MINUTE``: arithmetic over named constants.
            left_known, left, _w = self.scalar(expr.left, scope, depth + 1)
            right_known, right, _w = self.scalar(expr.right, scope, depth + 1)
            if left_known and right_known:
                folded = literal_value(
                    expr.with_changes(left=cst.parse_expression(repr(left)), right=cst.parse_expression(repr(right)))
                )
                if folded is not NOTHING:
                    return True, folded, Where(expr)
        return False, None, Where(expr)

    def _cli_default(self, expr: cst.Attribute, scope: Scope) -> Optional[cst.BaseExpression]:
        """``args.max_records`` where ``args = parser.parse_args()`` and the file declares
        ``add_argument("--max-records", type=int, default=200)``: the value the consumer
        runs with when the command line does not say (as an environment default is)."""
        if not isinstance(expr.value, cst.Name):
            return None
        bindings = self.file.table.resolve(expr.value, scope)
        if len(bindings) != 1 or not isinstance(bindings[0].value, cst.Call):
            return None
        if not self._parses_args(bindings[0].value, scope):
            return None
        if self._cli_defaults is None:
            self._cli_defaults = _argparse_defaults(self.file.ctx.module)
        return self._cli_defaults.get(expr.attr.value)

    def _parses_args(self, call: cst.Call, scope: Scope) -> bool:
        """``parser.parse_args(argv)``, or a function of the file that returns one
        (``args = parse_args(argv)``)."""
        func = call.func
        if isinstance(func, cst.Attribute):
            return func.attr.value == "parse_args"
        if not isinstance(func, cst.Name):
            return False
        bindings = self.file.table.lookup(func.value, scope)
        if len(bindings) != 1 or not isinstance(bindings[0].node, cst.FunctionDef):
            return False
        returns = [r.value for r in find_all(bindings[0].node.body, cst.Return)]
        return bool(returns) and all(
            isinstance(r, cst.Call) and isinstance(r.func, cst.Attribute) and r.func.attr.value == "parse_args"
            for r in returns
        )

    def _call_scalar(self, expr: cst.Call, scope: Scope, depth: int) -> Tuple[bool, Any, Where]:
        """``int(os.getenv("PUSH_BATCH_SIZE", "200"))``: the value the code runs with when
        the environment does not set it (the default written next to the name)."""
        args = [a for a in expr.args if a.keyword is None and not a.star]
        func = expr.func
        if isinstance(func, cst.Name) and func.value in _NUMBER_TYPES and len(args) == 1:
            if self.file.table.lookup(func.value, scope):
                return False, None, Where(expr)  # a local ``int`` is not the builtin
            known, value, where = self.scalar(args[0].value, scope, depth + 1)
            if known and isinstance(value, (str, int, float)) and not isinstance(value, bool):
                try:
                    return True, _NUMBER_TYPES[func.value](value), where
                except ValueError:
                    pass
            return False, None, Where(expr)
        if self.file.resolve(func) in _ENV_READS and len(args) == 2:
            return self.scalar(args[1].value, scope, depth + 1)
        return False, None, Where(expr)

    def _config_field(self, expr: cst.Attribute, scope: Scope) -> Optional[cst.BaseExpression]:
        """``cfg.batch_size`` where ``cfg`` is an instance of a settings class of this file
        (a parameter annotated with it or defaulting to ``RelayConfig()``, or a local built
        by ``RelayConfig(...)``): the keyword the instance is built with, else the field's
        literal default when no construction in the file sets that field."""
        if not isinstance(expr.value, cst.Name):
            return None
        bindings = self.file.table.lookup(expr.value.value, scope)
        if len(bindings) != 1:
            return None
        binding = bindings[0]
        built: Optional[cst.Call] = None
        cls_name: Optional[str] = None
        if binding.kind is BindingKind.ASSIGN and isinstance(binding.value, cst.Call):
            built = binding.value
        elif binding.kind is BindingKind.PARAM and isinstance(binding.node, cst.Param):
            param = binding.node
            if isinstance(param.default, cst.Call):
                built = param.default
            elif param.annotation is not None and isinstance(param.annotation.annotation, cst.Name):
                cls_name = param.annotation.annotation.value
        if built is not None:
            cls_name = built.func.value if isinstance(built.func, cst.Name) else None
            given = next(
                (a.value for a in built.args if a.keyword is not None and a.keyword.value == expr.attr.value), None
            )
            if given is not None:
                return given
        found = self.file.table.class_named(cls_name) if cls_name else None
        cls = found.node if found is not None else None
        if not isinstance(cls, cst.ClassDef):
            return None
        default = next(
            (
                f.value
                for f in dataclass_fields(cls)
                if isinstance(f.target, cst.Name) and f.target.value == expr.attr.value
            ),
            None,
        )
        if default is None or self._field_set(cls, expr.attr.value):
            return None
        return default

    def _field_set(self, cls: cst.ClassDef, field_name: str) -> bool:
        """Whether some construction of the class in this file may set the field (a keyword
        of that name, positional arguments, ``**kwargs``, or ``cls(...)`` in its own body)."""
        name = cls.name.value
        own = {id(call) for call in find_all(cls, cst.Call)}
        for call in find_all(self.file.ctx.module, cst.Call):
            func = call.func
            builds = isinstance(func, cst.Name) and func.value == name
            builds = builds or (isinstance(func, cst.Name) and func.value == "cls" and id(call) in own)
            if not builds or not call.args:
                continue
            if any(a.keyword is None or a.keyword.value == field_name for a in call.args):
                return True
        return False

    def module_constant(self, qualified: str) -> Tuple[bool, Any, Where]:
        """(known, value, where) of a module-level constant of the project (``pkg.mod.NAME``)."""
        return self._fact_scalar_ref(qualified, 0)

    def _fact_scalar_ref(self, qualified: Optional[str], depth: int) -> Tuple[bool, Any, Where]:
        if qualified is None or self.file.project is None or depth >= MAX_DEPTH:
            return False, None, Where()
        name = self.file.project.canonical(qualified)
        if name.startswith(_DJANGO_SETTINGS):
            # ``from django.conf import settings``: the project's one settings module.
            settings_module = self._django_settings_module()
            if settings_module is None:
                return False, None, Where()
            name = f"{settings_module}.{name[len(_DJANGO_SETTINGS) :]}"
        module, _, attr = name.rpartition(".")
        facts = self.file.module_facts.get(module)
        if facts is None and "." in module:
            # ``config.settings.max_poll_records``: a field of a module-level settings object.
            outer, _, obj = module.rpartition(".")
            outer_facts = self.file.module_facts.get(outer)
            if outer_facts is not None and f"{obj}.{attr}" in outer_facts.scalars:
                module, facts, attr = outer, outer_facts, f"{obj}.{attr}"
        summary = self.file.project.summary(module)
        if summary is None:
            return False, None, Where()
        if facts is not None and attr in facts.scalars:
            return self._fact_value(facts.scalars[attr], summary.path, depth + 1)
        # A module without Kafka facts (``settings.py``): the constants the index keeps.
        text = summary.constants.get(attr)
        if text is None:
            return False, None, Where()
        number = _kafka.summary_number(text)
        if number is not None:
            return True, int(number) if number.is_integer() and "." not in text else number, Where()
        try:
            return True, ast.literal_eval(text), Where()
        except (ValueError, SyntaxError):
            return False, None, Where()

    def _django_settings_module(self) -> Optional[str]:
        """The module ``django.conf.settings`` reads in this project: the one module named
        ``settings`` (a split ``settings/`` package of several is not guessed)."""
        if not hasattr(self, "_django_settings"):
            project = self.file.project
            assert project is not None
            found = [name for name in project.modules if name == "settings" or name.endswith(".settings")]
            self._django_settings: Optional[str] = found[0] if len(found) == 1 else None
        return self._django_settings

    def _fact_value(self, fact: ValueFact, path: str, depth: int) -> Tuple[bool, Any, Where]:
        where = Where(path=path, span=fact.span)
        if fact.kind == "lit":
            try:
                return True, ast.literal_eval(fact.text), where
            except (ValueError, SyntaxError):
                return False, None, where
        if fact.kind == "ref":
            known, value, inner = self._fact_scalar_ref(fact.text, depth + 1)
            return known, value, where if inner.span is None else inner
        return False, None, where

    def dict_settings(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> Tuple[Dict[str, Setting], bool]:
        """The settings a dict expression holds (literal, variable, ``{**BASE, ...}``,
        ``dict(...)``, a module constant of another module), and whether all are known."""
        if depth >= MAX_DEPTH:
            return {}, False
        if isinstance(expr, cst.Dict):
            settings: Dict[str, Setting] = {}
            complete = True
            for element in expr.elements:
                if not isinstance(element, cst.DictElement):
                    nested, nested_complete = self.dict_settings(element.value, scope, depth + 1)
                    settings.update(nested)
                    complete = complete and nested_complete
                    continue
                key = literal_value(element.key)
                if not isinstance(key, str):
                    complete = False
                    continue
                known, value, _where = self.scalar(element.value, scope, depth + 1)
                literal = element.value if literal_value(element.value) is not NOTHING else None
                settings[key] = Setting(key, value, known, Where(element), literal)
            return settings, complete
        if isinstance(expr, cst.Call):
            func = dotted_name(expr.func) or ""
            if func == "dict":
                settings = {}
                complete = True
                for arg in expr.args:
                    if arg.keyword is not None:
                        known, value, _where = self.scalar(arg.value, scope, depth + 1)
                        settings[arg.keyword.value] = Setting(arg.keyword.value, value, known, Where(arg))
                    else:
                        nested, nested_complete = self.dict_settings(arg.value, scope, depth + 1)
                        settings.update(nested)
                        complete = complete and nested_complete
                return settings, complete
            if isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "copy" and not expr.args:
                return self.dict_settings(expr.func.value, scope, depth + 1)
            if self.file.resolve(expr.func) in ("copy.copy", "copy.deepcopy") and expr.args:
                return self.dict_settings(expr.args[0].value, scope, depth + 1)
            if self.file.resolve(expr.func) == "dataclasses.asdict" and expr.args:
                return self._dataclass_settings(expr.args[0].value, scope, depth + 1)
            if isinstance(expr.func, cst.Name):
                # ``config = load_settings()``: a function of this file that returns one dict.
                function = self.file.table.function_named(expr.func.value, scope)
                inner = self.file.table.scope_of(function) if function is not None else None
                values = self.file.table.returns(function) if function is not None else []
                if inner is not None and len(values) == 1 and values[0] is not None:
                    return self.dict_settings(values[0], inner, depth + 1)
                if function is not None:
                    return {}, False
            # ... or of another module (its facts keep the dict it returns).
            qualified = self.file.resolve(expr.func) if isinstance(expr.func, (cst.Name, cst.Attribute)) else None
            return self._fact_dict_ref(f"{qualified}()" if qualified else None, depth + 1)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.BitOr):
            # ``BASE_CONF | {"enable.auto.commit": False}``: the right side wins.
            left, left_complete = self.dict_settings(expr.left, scope, depth + 1)
            right, right_complete = self.dict_settings(expr.right, scope, depth + 1)
            return {**left, **right}, left_complete and right_complete
        if isinstance(expr, (cst.Name, cst.Attribute)):
            bindings = [b for b in self.file.table.resolve(expr, scope) if b.kind is not BindingKind.DELETE]
            if len(bindings) == 1 and bindings[0].kind is BindingKind.ASSIGN and bindings[0].value is not None:
                settings, complete = self.dict_settings(bindings[0].value, bindings[0].scope, depth + 1)
                return self._mutated(bindings[0], settings, complete)
            if (len(bindings) == 1 and bindings[0].kind is BindingKind.IMPORT) or (
                not bindings and isinstance(expr, cst.Attribute)
            ):
                return self._fact_dict_ref(self.file.resolve(expr), depth + 1)
        return {}, False

    def _mutated(
        self, binding: Binding, settings: Dict[str, Setting], complete: bool
    ) -> Tuple[Dict[str, Setting], bool]:
        """Apply ``conf.update({...})``, ``conf.setdefault(k, v)`` and ``conf[k] = v`` made on
        the dict a binding holds.  A change made unconditionally in the binding's own scope
        sets the key; one under ``if``/a loop/``try`` makes it unknown; a change this
        analysis cannot read makes the settings incomplete."""
        out = dict(settings)

        def touch(key: Any, value: Optional[cst.BaseExpression], seen: Seen, only_if_absent: bool = False) -> None:
            nonlocal complete
            if not isinstance(key, str):
                complete = False
                return
            before = out.get(key)
            if only_if_absent and before is not None:
                return
            if value is None:
                if before is None:
                    complete = False
                return
            known, new, _where = self.scalar(value, seen.scope, 1)
            if before is not None and known and before.known and new == before.value:
                return
            certain = known and seen.scope is binding.scope and _unconditional(seen.stack, binding.scope.node)
            out[key] = Setting(key, new if known else None, certain, Where(value), value if certain else None)

        for seen in self.file.facts.method_calls:
            call = seen.node
            assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            if call.func.attr.value not in ("update", "setdefault"):
                continue
            if binding not in self.file.table.resolve(call.func.value, seen.scope):
                continue
            if call.func.attr.value == "setdefault":
                args = positional(call)
                if args:
                    touch(literal_value(args[0].value), args[1].value if len(args) > 1 else None, seen, True)
                continue
            for arg in call.args:
                if isinstance(arg.value, cst.Dict) and arg.keyword is None:
                    for element in arg.value.elements:
                        if isinstance(element, cst.DictElement):
                            touch(literal_value(element.key), element.value, seen)
                        else:
                            complete = False
                elif arg.keyword is not None:
                    touch(arg.keyword.value, arg.value, seen)
                else:
                    complete = False
        for seen in self.file.facts.mutations:
            assign = seen.node
            assert isinstance(assign, cst.Assign)
            for target in assign.targets:
                sub = target.target
                if not isinstance(sub, cst.Subscript) or binding not in self.file.table.resolve(sub.value, seen.scope):
                    continue
                index = sub.slice[0].slice if len(sub.slice) == 1 else None
                key = literal_value(index.value) if isinstance(index, cst.Index) else None
                touch(key, assign.value, seen)
        return out, complete

    def _dataclass_settings(
        self, expr: cst.BaseExpression, scope: Scope, depth: int
    ) -> Tuple[Dict[str, Setting], bool]:
        """``asdict(ConsumerSettings(group_id=...))``: a dataclass of this file's fields
        with their defaults, under the keywords the instance is built with."""
        if isinstance(expr, cst.Name):
            bindings = self.file.table.lookup(expr.value, scope)
            if len(bindings) != 1 or bindings[0].value is None:
                return {}, False
            expr, scope = bindings[0].value, bindings[0].scope
        if not isinstance(expr, cst.Call) or not isinstance(expr.func, (cst.Name, cst.Attribute)):
            return {}, False
        found = self.file.table.class_named(expr.func.value) if isinstance(expr.func, cst.Name) else None
        cls = found.node if found is not None else None
        settings: Dict[str, Setting] = {}
        complete = True
        if isinstance(cls, cst.ClassDef):
            for small in dataclass_fields(cls):
                assert isinstance(small.target, cst.Name)
                key = small.target.value
                if small.value is None:
                    complete = False
                    continue
                known, value, _where = self.scalar(small.value, scope, depth + 1)
                settings[key] = Setting(key, value, known, Where(small))
        else:
            # A dataclass of another module: the defaults its facts keep.
            qualified = self.file.resolve(expr.func)
            settings, complete = self._fact_dict_ref(f"{qualified}()" if qualified else None, depth + 1)
        for arg in expr.args:
            if arg.keyword is None:
                complete = False
                continue
            known, value, _where = self.scalar(arg.value, scope, depth + 1)
            settings[arg.keyword.value] = Setting(arg.keyword.value, value, known, Where(arg))
        return settings, complete

    def _fact_dict_ref(self, qualified: Optional[str], depth: int) -> Tuple[Dict[str, Setting], bool]:
        if qualified is None or self.file.project is None or depth >= MAX_DEPTH:
            return {}, False
        called = qualified.endswith("()")
        name = self.file.project.canonical(qualified[:-2] if called else qualified) + ("()" if called else "")
        module, _, attr = name.rpartition(".")
        facts = self.file.module_facts.get(module)
        summary = self.file.project.summary(module)
        if facts is None or summary is None or attr not in facts.mappings:
            return {}, False
        return self.fact_settings(facts.mappings[attr], module, summary.path, depth + 1)

    def fact_settings(self, fact: DictFact, module: str, path: str, depth: int) -> Tuple[Dict[str, Setting], bool]:
        settings: Dict[str, Setting] = {}
        complete = fact.complete
        for spread in fact.spreads:
            if spread.kind != "ref":
                complete = False
                continue
            nested, nested_complete = self._fact_dict_ref(spread.text, depth + 1)
            settings.update(nested)
            complete = complete and nested_complete
        for entry in fact.entries:
            known, value, _where = self._fact_value(entry.value, path, depth + 1)
            settings[entry.key] = Setting(entry.key, value, known, Where(path=path, span=entry.span))
        return settings, complete

    # -- timeouts ----------------------------------------------------------------------

    def timeout_seconds(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> Tuple[bool, Optional[float]]:
        """(known, seconds) of a timeout argument; seconds None = no bound."""
        if isinstance(expr, (cst.Name, cst.Attribute)) and depth < MAX_DEPTH:
            # ``TIMEOUT = aiohttp.ClientTimeout(total=5)`` bound once, passed as ``timeout=TIMEOUT``.
            bindings = self.file.table.resolve(expr, scope)
            if len(bindings) == 1 and isinstance(bindings[0].value, (cst.Call, cst.Tuple)):
                # ... or ``UPLOAD_TIMEOUT = (5, 10)``: connect + read.
                return self.timeout_seconds(bindings[0].value, bindings[0].value_scope, depth + 1)
        if is_none(expr):
            return True, None
        if isinstance(expr, cst.Tuple):
            total = 0.0
            for element in expr.elements:
                known, value = self.timeout_seconds(element.value, scope, depth)
                if not known:
                    return False, None
                if value is None:
                    return True, None
                total += value
            return True, total
        if isinstance(expr, cst.Call):
            # A text from the project index is already qualified (``httpx.Timeout(10.0)``).
            qualified = self.file.resolve(expr.func) or dotted_name(expr.func) or ""
            spec = _net.TIMEOUT_OBJECTS.get(qualified)
            if spec is None:
                return False, None
            position, main, reads = spec
            args = positional(expr)
            given: Optional[cst.BaseExpression] = args[position].value if len(args) > position else None
            for arg in expr.args:
                if arg.keyword is not None and arg.keyword.value == main:
                    given = arg.value
            if given is not None:
                return self.timeout_seconds(given, scope, depth + 1)
            # No overall bound: the phases add up (``Timeout(connect=2, read=8)`` waits up to 10 s).
            phases = [a.value for a in expr.args if a.keyword is not None and a.keyword.value in reads]
            if phases:
                connects = [
                    a.value for a in expr.args if a.keyword is not None and a.keyword.value in _net.CONNECT_PHASES
                ]
                total = 0.0
                for phase in phases + connects:
                    known, seconds = self.timeout_seconds(phase, scope, depth + 1)
                    if not known or seconds is None:
                        return known, None
                    total += seconds
                return True, total
            return (True, None) if qualified in _net.TIMEOUT_OBJECT_UNBOUNDED_BY_DEFAULT else (False, None)
        known, number, _where = self.scalar(expr, scope, 0)
        if not known:
            return False, None
        if number is None:
            return True, None
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return True, float(number)
        return False, None

    def firebase_timeout(self) -> Tuple[bool, Optional[float], str]:
        """The ``httpTimeout`` firebase apps use (known, seconds, how to name it); the
        largest when several apps set different ones."""
        if self._firebase is not None:
            return self._firebase
        values: List[Tuple[bool, Optional[float]]] = []
        for seen in self.file.facts.firebase_inits:
            call = seen.node
            assert isinstance(call, cst.Call)
            values.append(self._firebase_option(call, seen.scope))
        # An app initialised in this file is the one its calls use; else any of the project's.
        for module, facts in ({} if values else self.file.module_facts).items():
            if module == self.file.module_name:
                continue
            for fact in facts.firebase_timeouts:
                if fact.kind == "lit" and fact.text == "None" and fact.span is None:
                    values.append((True, _kafka.FIREBASE_DEFAULT_SECONDS))
                    continue
                known, value, _where = self._fact_value(fact, "", 0)
                values.append(_as_timeout(known, value))
        result: Tuple[bool, Optional[float], str]
        if not values:
            result = (True, _kafka.FIREBASE_DEFAULT_SECONDS, "default")
        elif any(not known for known, _ in values):
            result = (False, None, "httpTimeout from configuration")
        elif any(value is None for _, value in values):
            result = (True, None, "httpTimeout=None")
        else:
            worst = max(v for _, v in values if v is not None)
            label = (
                "default" if worst == _kafka.FIREBASE_DEFAULT_SECONDS else f"httpTimeout={_net.render_number(worst)}"
            )
            result = (True, worst, label)
        self._firebase = result
        return result

    def _firebase_option(self, call: cst.Call, scope: Scope) -> Tuple[bool, Optional[float]]:
        options = firebase_options_arg(call)
        if options is None:
            return True, _kafka.FIREBASE_DEFAULT_SECONDS
        settings, complete = self.dict_settings(options, scope, 0)
        found = settings.get(_kafka.FIREBASE_OPTION)
        if found is None:
            return (True, _kafka.FIREBASE_DEFAULT_SECONDS) if complete else (False, None)
        return _as_timeout(found.known, found.value)


#: Conversions of an environment default (``int(os.getenv("BATCH", "200"))``).
_NUMBER_TYPES: Dict[str, Callable[[Any], Any]] = {"int": int, "float": float}
#: Reads of an environment variable with a default as second argument.
_ENV_READS = frozenset({"os.getenv", "os.environ.get"})


def _as_timeout(known: bool, value: Any) -> Tuple[bool, Optional[float]]:
    if not known:
        return False, None
    if value is None:
        return True, None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True, float(value)
    return False, None


_CONDITIONAL = (cst.If, cst.For, cst.While, cst.Try, cst.TryStar, cst.Match, cst.IfExp, cst.BooleanOperation)


_DJANGO_SETTINGS = "django.conf.settings."


def _unconditional(stack: Sequence[cst.CSTNode], scope_node: cst.CSTNode) -> bool:
    """Whether the node on top of ``stack`` runs whenever its scope's body runs (no
    ``if``, loop, ``try`` or ``match`` between them)."""
    inside = False
    for node in stack[:-1]:
        if node is scope_node:
            inside = True
            continue
        if inside and isinstance(node, _CONDITIONAL + (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
    return inside


def _argparse_defaults(module: cst.Module) -> Dict[str, Optional[cst.BaseExpression]]:
    """Destination -> ``default=`` of the file's ``add_argument`` options (None when two
    options of the same destination disagree, or the option has no default)."""
    out: Dict[str, Optional[cst.BaseExpression]] = {}
    for call in find_all(module, cst.Call):
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "add_argument"):
            continue
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        names = [
            a.value.evaluated_value for a in call.args if a.keyword is None and isinstance(a.value, cst.SimpleString)
        ]
        dest_node = keywords.get("dest")
        if isinstance(dest_node, cst.SimpleString) and isinstance(dest_node.evaluated_value, str):
            dest = dest_node.evaluated_value
        else:
            longs = [n for n in names if isinstance(n, str) and n.startswith("--")]
            if not longs:
                continue
            dest = longs[0][2:].replace("-", "_")
        default = keywords.get("default")
        if dest in out:
            earlier = out[dest]
            if earlier is None or default is None or not earlier.deep_equals(default):
                out[dest] = None  # two options disagree: unknown
            continue
        out[dest] = default
    return out
