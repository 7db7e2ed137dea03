"""Process entry points of a module: where a short-lived process starts and ends.

An engine facility shared by rule families (OPS1xx buffered clients, OPS4xx
scheduled paths...).  It answers "which code runs as the top of a process, and
what kind of process is it" from one parsed module plus a few project files
(``pyproject.toml`` ``[project.scripts]``, ``serverless.yml``, SAM
``template.yaml``), read once per project root and cached.

Kinds (:class:`EntryKind`):

* ``MAIN_BLOCK``: an ``if __name__ == "__main__":`` block;
* ``MAIN_CALLEE``: a module function that block calls (``main()``,
  ``sys.exit(main())``, ``asyncio.run(main())``);
* ``CONSOLE_SCRIPT``: a ``[project.scripts]`` / ``[tool.poetry.scripts]`` target;
* ``CLI_COMMAND``: a click/typer command or group callback;
* ``DJANGO_COMMAND``: ``Command.handle`` of a Django management command;
* ``SERVERLESS``: a Lambda / Cloud Functions / Chalice handler (the runtime
  freezes the process after it returns: atexit never helps);
* ``PROCESS_TARGET``: a function passed as ``target=`` to ``multiprocessing.Process``
  (a fork/forkserver child ends with ``os._exit``: atexit never runs);
* ``SCRIPT``: module-level code of a run-once script without a main guard
  that calls a module function (``main()`` at the bottom of an ECS task), or
  a flat script (no definitions, top-level calls or loops).  Files named
  ``__init__``/``setup``/``conftest`` are never scripts.

The public API is :func:`find_entry_points`; it takes a :class:`ProjectFacts`
so a project index can feed facts gathered across files later.
"""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass, field
from typing import Container, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint import source
from opslint.syntax.names import ImportTable, dotted_name
from opslint.syntax.nodes import ScopeVisitor
from opslint.syntax.walk import find_all, walk


class EntryKind(enum.Enum):
    MAIN_BLOCK = "main-block"
    MAIN_CALLEE = "main"
    CONSOLE_SCRIPT = "console-script"
    CLI_COMMAND = "cli-command"
    DJANGO_COMMAND = "django-command"
    SERVERLESS = "serverless"
    SCRIPT = "script"
    PROCESS_TARGET = "process-target"


AnyFunction = cst.FunctionDef
EntryNode = Union[cst.FunctionDef, cst.If, cst.Module]


@dataclass(frozen=True)
class EntryPoint:
    """One entry point of the module."""

    kind: EntryKind
    #: Function name, ``"__main__"`` for a main block, ``"<script>"`` for module code.
    name: str
    #: The function, the ``if __name__ == "__main__":`` statement, or the module.
    node: EntryNode
    #: Why it is an entry point, for messages ("console script `sync` in pyproject.toml").
    reason: str
    #: Enclosing class for methods (Django ``Command.handle``).
    class_name: Optional[str] = None
    #: For ``MAIN_CALLEE``: the main block that calls it.
    via: Optional[cst.If] = None

    @property
    def serverless(self) -> bool:
        """The process is frozen, not exited, when this returns: no atexit, no exit hooks."""
        return self.kind is EntryKind.SERVERLESS

    @property
    def atexit_runs(self) -> bool:
        """Whether interpreter-exit hooks (atexit, SDK exit drains) run after it on a normal end
        (not in a serverless handler, not in a forked ``multiprocessing`` child)."""
        return self.kind not in (EntryKind.SERVERLESS, EntryKind.PROCESS_TARGET)

    @property
    def is_function(self) -> bool:
        return isinstance(self.node, cst.FunctionDef)

    @property
    def is_async(self) -> bool:
        return isinstance(self.node, cst.FunctionDef) and self.node.asynchronous is not None

    @property
    def body(self) -> Sequence[cst.BaseStatement]:
        """The statements that run (module code: top-level statements except definitions)."""
        if isinstance(self.node, cst.Module):
            return [
                s
                for s in self.node.body
                if not isinstance(s, (cst.FunctionDef, cst.ClassDef)) and not _is_main_guard(s)
            ]
        body = self.node.body
        if isinstance(body, cst.IndentedBlock):
            return list(body.body)
        assert isinstance(body, cst.SimpleStatementSuite)
        return [cst.SimpleStatementLine(body=body.body)]

    @property
    def label(self) -> str:
        """How messages name it: "`main()`", "the `__main__` block", "handler `handler()`"."""
        if self.kind is EntryKind.MAIN_BLOCK:
            return "the `__main__` block"
        if self.kind is EntryKind.SCRIPT:
            return "the script"
        qual = f"{self.class_name}.{self.name}" if self.class_name else self.name
        if self.kind is EntryKind.SERVERLESS:
            return f"handler `{qual}()`"
        if self.kind is EntryKind.PROCESS_TARGET:
            return f"process target `{qual}()`"
        return f"`{qual}()`"


@dataclass(frozen=True)
class EntryPointConfig:
    """User-configurable knowledge (from a rule's options)."""

    #: Function names that are serverless handlers wherever they are defined.
    handler_names: Tuple[str, ...] = ("lambda_handler",)
    #: Extra entry points as ``"package.module:function"``.
    extra: Tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectFacts:
    """Facts about a project that come from files other than the module.

    ``console_scripts``: module -> {function or attribute: script name}.
    ``handlers``: (module path suffix ``a/b/mod``, function, origin file) from
    serverless.yml / template.yaml.
    """

    root: Optional[str] = None
    console_scripts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    handlers: Tuple[Tuple[str, str, str], ...] = ()

    def script_name(self, module_name: Optional[str], attr: str, path: Optional[str] = None) -> Optional[str]:
        """The console script that runs ``attr`` of the module (by its dotted name, else by
        its path: ``audit_export/cli.py`` of a package without ``__init__.py``)."""
        found = self.console_scripts.get(module_name, {}).get(attr) if module_name is not None else None
        if found is not None or path is None:
            return found
        stem = os.path.splitext(os.path.abspath(path))[0].replace(os.sep, "/")
        for module, targets in self.console_scripts.items():
            suffix = module.replace(".", "/")
            if attr in targets and (stem == suffix or stem.endswith("/" + suffix)):
                return targets[attr]
        return None

    def handler_origin(self, path: Optional[str], function: str) -> Optional[str]:
        """The config file that names ``function`` in the module at ``path`` as a handler."""
        if path is None:
            return None
        stem = os.path.splitext(os.path.abspath(path))[0].replace(os.sep, "/")
        for suffix, func, origin in self.handlers:
            if func == function and (stem == suffix or stem.endswith("/" + suffix)):
                return origin
        return None


# -- project files ------------------------------------------------------------------

#: Per directory of a linted file (yaml files are looked up from there).
_FACTS_CACHE: Dict[str, ProjectFacts] = {}
#: Per project root: module -> {attribute: script name}.
_SCRIPTS_CACHE: Dict[str, Dict[str, Dict[str, str]]] = {}
_HANDLER_LINE = re.compile(r"^\s*-?\s*[Hh]andler\s*:\s*['\"]?([\w./-]+)\.(\w+)['\"]?\s*(?:#.*)?$", re.M)
_CODE_URI = re.compile(r"^\s*CodeUri\s*:\s*['\"]?([\w./-]+)['\"]?\s*$", re.M)
_YAML_NAMES = ("serverless.yml", "serverless.yaml", "template.yaml", "template.yml")


def _find_upwards(start: str, names: Sequence[str], limit: int = 6) -> List[str]:
    out = []
    directory = start
    for _ in range(limit):
        for name in names:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                out.append(candidate)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return out


def project_facts(path: Optional[str]) -> ProjectFacts:
    """Facts for the project holding ``path`` (``[project.scripts]`` cached per project
    root, serverless.yml/template.yaml handlers per directory)."""
    if path is None:
        return ProjectFacts()
    start = os.path.dirname(os.path.abspath(path))
    pyprojects = _find_upwards(start, ("pyproject.toml",))
    root = os.path.dirname(pyprojects[0]) if pyprojects else start
    cached = _FACTS_CACHE.get(start)
    if cached is not None:
        return cached
    scripts = _SCRIPTS_CACHE.get(root)
    if scripts is None:
        scripts = {}
        if pyprojects:
            for name, target in source.pyproject_scripts(pyprojects[0]):
                module, _, attr = target.partition(":")
                if module and attr:
                    scripts.setdefault(module.strip(), {})[attr.strip().split(".")[0]] = name
        _SCRIPTS_CACHE[root] = scripts
    handlers: List[Tuple[str, str, str]] = []
    # serverless.yml / template.yaml between the file and the project root
    # (or a few levels up when there is no pyproject.toml).
    depth = 4
    if pyprojects:
        rel = os.path.relpath(start, root)
        depth = 1 if rel == "." else rel.count(os.sep) + 2
    for yaml_path in _find_upwards(start, _YAML_NAMES, limit=depth):
        handlers.extend(_read_handlers(yaml_path))
    facts = ProjectFacts(root=root, console_scripts=scripts, handlers=tuple(handlers))
    _FACTS_CACHE[start] = facts
    return facts


def _read_handlers(yaml_path: str) -> List[Tuple[str, str, str]]:
    try:
        with open(yaml_path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return []
    base = os.path.dirname(os.path.abspath(yaml_path)).replace(os.sep, "/")
    uris = [u.strip("/") for u in _CODE_URI.findall(text)]
    out = []
    for module, func in _HANDLER_LINE.findall(text):
        mod_path = module.replace(".", "/") if "/" not in module else module
        out.append((f"{base}/{mod_path}", func, os.path.basename(yaml_path)))
        for uri in uris:
            out.append((f"{base}/{uri}/{mod_path}", func, os.path.basename(yaml_path)))
    return out


def clear_cache() -> None:
    """Forget cached project facts (tests, the language server after edits)."""
    _FACTS_CACHE.clear()
    _SCRIPTS_CACHE.clear()


# -- module structure -----------------------------------------------------------------


def _is_main_guard(stmt: cst.CSTNode) -> bool:
    if not isinstance(stmt, cst.If):
        return False
    test = stmt.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    comp = test.comparisons[0]
    if not isinstance(comp.operator, cst.Equal):
        return False
    sides = (test.left, comp.comparator)
    names = [s for s in sides if isinstance(s, cst.Name) and s.value == "__name__"]
    strings = [s for s in sides if isinstance(s, cst.SimpleString) and s.evaluated_value == "__main__"]
    return len(names) == 1 and len(strings) == 1


def is_main_guard(stmt: cst.CSTNode) -> bool:
    """``if __name__ == "__main__":`` (either operand order, any quotes)."""
    return _is_main_guard(stmt)


def main_blocks(module: cst.Module) -> List[cst.If]:
    return [s for s in module.body if isinstance(s, cst.If) and _is_main_guard(s)]


def module_functions(module: cst.Module) -> Dict[str, cst.FunctionDef]:
    """Module-level functions by name (the last definition wins, as at runtime)."""
    out: Dict[str, cst.FunctionDef] = {}
    for stmt in module.body:
        for func in _defs_in(stmt):
            out[func.name.value] = func
    return out


def _defs_in(stmt: cst.CSTNode) -> Iterable[cst.FunctionDef]:
    if isinstance(stmt, cst.FunctionDef):
        yield stmt
    elif isinstance(stmt, (cst.If, cst.Try)) and not _is_main_guard(stmt):
        body = stmt.body
        if isinstance(body, cst.IndentedBlock):
            for inner in body.body:
                if isinstance(inner, cst.FunctionDef):
                    yield inner


def module_classes(module: cst.Module) -> Dict[str, cst.ClassDef]:
    return {s.name.value: s for s in module.body if isinstance(s, cst.ClassDef)}


def class_methods(cls: cst.ClassDef) -> Dict[str, cst.FunctionDef]:
    body = cls.body
    if not isinstance(body, cst.IndentedBlock):
        return {}
    return {s.name.value: s for s in body.body if isinstance(s, cst.FunctionDef)}


#: Methods that run (now, or later in the same process) the callable passed at this
#: position: executors and pools (``pool.submit(renew, sub)``), event loops, schedulers
#: (``schedule.every().day.do(report)``, APScheduler's ``add_job``).  The callable's work
#: happens on the caller's behalf, as if the caller had called it there.
CALLABLE_RUNNER_METHODS: Mapping[str, int] = {
    "submit": 0,
    "map": 0,
    "apply_async": 0,
    "map_async": 0,
    "imap": 0,
    "imap_unordered": 0,
    "starmap": 0,
    "starmap_async": 0,
    "run_in_executor": 1,
    "call_soon": 0,
    "call_soon_threadsafe": 0,
    "call_later": 1,
    "do": 0,
    "add_job": 0,
    "spawn": 0,
}
#: Qualified callables that run a callable: name -> (position, keyword).
CALLABLE_RUNNER_CALLS: Mapping[str, Tuple[int, str]] = {
    "threading.Thread": (1, "target"),
    "threading.Timer": (1, "function"),
    "asyncio.to_thread": (0, "func"),
    "_thread.start_new_thread": (0, "function"),
    "gevent.spawn": (0, "run"),
}


#: Wrappers whose result calls the function they wrap (``sync_to_async(fn)(*args)``).
CALLABLE_ADAPTERS = frozenset(
    {
        "asgiref.sync.sync_to_async",
        "asgiref.sync.async_to_sync",
        "channels.db.database_sync_to_async",
        "functools.partial",
    }
)


def run_callable(call: cst.Call, qual: Optional[str]) -> Optional[cst.BaseExpression]:
    """The function ``call`` runs on the caller's behalf, as a name or ``self.method``
    (``pool.submit(renew, s)`` -> ``renew``; ``Thread(target=self.loop)`` -> ``self.loop``);
    ``qual`` is the call's qualified name, if known."""
    position: Optional[int] = None
    keyword: Optional[str] = None
    if qual is not None and qual in CALLABLE_RUNNER_CALLS:
        position, keyword = CALLABLE_RUNNER_CALLS[qual]
    elif isinstance(call.func, cst.Attribute) and call.func.attr.value in CALLABLE_RUNNER_METHODS:
        position = CALLABLE_RUNNER_METHODS[call.func.attr.value]
    if position is None:
        return None
    positional = [a for a in call.args if a.keyword is None and not a.star]
    found: Optional[cst.BaseExpression] = None
    if keyword is not None:
        found = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == keyword), None)
    if found is None and position < len(positional):
        found = positional[position].value
    if isinstance(found, cst.Name):
        return found
    if isinstance(found, cst.Attribute) and isinstance(found.value, cst.Name):
        return found
    return None


#: Callables that run the function passed as their first argument (``typer.run(main)``).
FUNCTION_RUNNERS = frozenset(
    {
        "typer.run",
        "fire.Fire",
        "anyio.run",
        "trio.run",
        "defopt.run",
        "plac.call",
        "argh.dispatch_command",
        "clize.run",
        "uvloop.run",
    }
)


def called_functions(
    node: cst.CSTNode, functions: Mapping[str, cst.FunctionDef], imports: Optional[ImportTable] = None
) -> List[str]:
    """Names of module functions called directly in ``node`` (``main()``, ``sys.exit(main())``,
    ``asyncio.run(main())``, ``typer.run(main)`` with ``imports``), in source order, without
    duplicates."""
    out: List[str] = []

    class _Calls(ScopeVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Name) and call.func.value in functions and call.func.value not in out:
                out.append(call.func.value)
            if imports is not None and call.args and imports.resolve(call.func) in FUNCTION_RUNNERS:
                first = call.args[0].value
                if isinstance(first, cst.Name) and first.value in functions and first.value not in out:
                    out.append(first.value)

    walk(node, _Calls())
    return out


# -- decorators ---------------------------------------------------------------------

_CLI_PACKAGES = ("click", "typer", "asyncclick", "rich_click", "cloup")
_CLI_DECORATORS = {"command", "group", "callback"}
_CLI_FACTORIES = {f"{p}.{n}" for p in _CLI_PACKAGES for n in ("Typer", "Group", "group", "command", "Command")} | {
    "flask.cli.AppGroup"
}
_GCF_DECORATORS = {
    "functions_framework.http",
    "functions_framework.cloud_event",
    "functions_framework.typed",
    "functions_framework.aio.http",
    "functions_framework.aio.cloud_event",
}
_CHALICE_DECORATORS = {
    "lambda_function",
    "schedule",
    "on_s3_event",
    "on_sns_message",
    "on_sqs_message",
    "on_cw_event",
    "on_dynamodb_record",
    "on_kinesis_record",
    "on_ws_message",
    "on_ws_connect",
    "on_ws_disconnect",
    "route",
    "authorizer",
}
#: Decorator attribute names that only make sense on a Lambda handler.
_LAMBDA_DECORATOR_ATTRS = {"inject_lambda_context", "capture_lambda_handler", "log_metrics", "lambda_function"}
_LAMBDA_DECORATORS = {
    "aws_lambda_powertools.utilities.data_classes.event_source",
    "aws_lambda_powertools.middleware_factory.lambda_handler_decorator",
    "rollbar.lambda_function",
    "bugsnag.aws_lambda_handler",
    "sentry_sdk.integrations.serverless.serverless_function",
    "datadog_lambda.wrapper.datadog_lambda_wrapper",
    "datadog.datadog_lambda_wrapper",
    "mangum.Mangum",
}
_EVENT_PARAMS = {"event", "evt", "_event", "lambda_event"}
_CONTEXT_PARAMS = {"context", "ctx", "_context", "lambda_context", "_ctx"}
_DJANGO_BASES = {"BaseCommand", "LabelCommand", "AppCommand", "TemplateCommand"}
_DJANGO_HANDLERS = {"handle", "handle_label", "handle_app_config"}


def decorator_target(dec: cst.Decorator) -> cst.BaseExpression:
    """The decorator's callee: ``app.command`` for ``@app.command(name="x")``."""
    expr = dec.decorator
    return expr.func if isinstance(expr, cst.Call) else expr


def _module_objects(module: cst.Module, imports: ImportTable, factories: Set[str]) -> Set[str]:
    """Module-level names bound to a call of one of ``factories`` (qualified)."""
    out: Set[str] = set()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, (cst.Assign, cst.AnnAssign)) and isinstance(small.value, cst.Call):
                callee = imports.resolve(small.value.func)
                if callee is None or callee not in factories:
                    continue
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                out.update(t.value for t in targets if isinstance(t, cst.Name))
    return out


#: Adapters that serve a web app's routes as one Lambda handler (``handler = Mangum(app)``).
_LAMBDA_ADAPTERS = {"mangum.Mangum", "mangum.adapter.Mangum"}
#: Route decorators of the apps such adapters serve (FastAPI, Starlette, Quart...).
_ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route"}


def _adapted_apps(module: cst.Module, imports: ImportTable) -> Set[str]:
    """Module-level apps handed to a Lambda adapter: every route of ``app`` runs inside the
    Lambda invocation that ``handler = Mangum(app)`` serves."""
    out: Set[str] = set()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign, cst.Expr)) else None
            if isinstance(value, cst.Call) and imports.resolve(value.func) in _LAMBDA_ADAPTERS and value.args:
                app = value.args[0].value
                if isinstance(app, cst.Name):
                    out.add(app.value)
    return out


def _params(func: cst.FunctionDef) -> List[str]:
    return [p.name.value for p in func.params.posonly_params] + [p.name.value for p in func.params.params]


def looks_like_lambda_handler(func: cst.FunctionDef) -> bool:
    """``def anything(event, context)``: the AWS Lambda handler signature."""
    params = _params(func)
    return len(params) == 2 and params[0] in _EVENT_PARAMS and params[1] in _CONTEXT_PARAMS


# -- the query --------------------------------------------------------------------------


def find_entry_points(
    module: cst.Module,
    imports: ImportTable,
    *,
    path: Optional[str] = None,
    module_name: Optional[str] = None,
    config: EntryPointConfig = EntryPointConfig(),
    facts: Optional[ProjectFacts] = None,
) -> List[EntryPoint]:
    """Every entry point of ``module``, in source order (a function may appear once per kind
    only; the most specific kind wins: serverless > CLI/Django > console script > main callee)."""
    if facts is None:
        facts = project_facts(path)
    functions = module_functions(module)
    classes = module_classes(module)
    found: Dict[int, EntryPoint] = {}
    order: List[int] = []

    def add(entry: EntryPoint) -> None:
        key = id(entry.node)
        if key in found:
            return
        found[key] = entry
        order.append(key)

    # Serverless first: it is the kind that changes the verdict most.
    chalice_apps = _module_objects(module, imports, {"chalice.Chalice", "chalice.app.Chalice"})
    adapted = _adapted_apps(module, imports)
    extra = {e.split(":", 1)[1] for e in config.extra if ":" in e and e.split(":", 1)[0] == module_name}
    for name, func in functions.items():
        reason = _serverless_reason(func, imports, config, facts, path, chalice_apps, adapted)
        if reason:
            add(EntryPoint(EntryKind.SERVERLESS, name, func, reason))
    for name in _process_targets(module, imports, functions):
        add(
            EntryPoint(
                EntryKind.PROCESS_TARGET,
                name,
                functions[name],
                "`multiprocessing.Process` target (a forked child ends with os._exit)",
            )
        )
    cli_objects = _module_objects(module, imports, _CLI_FACTORIES)
    for func in functions.values():
        for dec in func.decorators:
            target = decorator_target(dec)
            qual = imports.resolve(target)
            if qual and qual.split(".", 1)[0] in _CLI_PACKAGES and qual.rsplit(".", 1)[-1] in _CLI_DECORATORS:
                cli_objects.add(func.name.value)
    for name, func in functions.items():
        reason = _cli_reason(func, imports, cli_objects)
        if reason:
            add(EntryPoint(EntryKind.CLI_COMMAND, name, func, reason))
    for cls_name, cls in classes.items():
        if not _has_django_base(cls, imports):
            continue
        for meth_name, meth in class_methods(cls).items():
            if meth_name in _DJANGO_HANDLERS:
                add(
                    EntryPoint(
                        EntryKind.DJANGO_COMMAND,
                        meth_name,
                        meth,
                        "Django management command",
                        class_name=cls_name,
                    )
                )
    for name, func in functions.items():
        script = facts.script_name(module_name, name, path)
        if script is not None:
            add(EntryPoint(EntryKind.CONSOLE_SCRIPT, name, func, f"console script `{script}` in pyproject.toml"))
        elif name in extra:
            add(EntryPoint(EntryKind.CONSOLE_SCRIPT, name, func, "entry point configured in opslint"))
    blocks = main_blocks(module)
    for block in blocks:
        add(EntryPoint(EntryKind.MAIN_BLOCK, "__main__", block, 'runs under `if __name__ == "__main__":`'))
        for cls_name in _fired_classes(block, imports):
            fired = module_classes(module).get(cls_name)
            for meth_name, meth in class_methods(fired).items() if fired is not None else ():
                if not meth_name.startswith("_"):
                    reason = f"a command of `fire.Fire({cls_name})`"
                    add(EntryPoint(EntryKind.CLI_COMMAND, meth_name, meth, reason, class_name=cls_name))
        for name in called_functions(block, functions, imports):
            add(
                EntryPoint(
                    EntryKind.MAIN_CALLEE,
                    name,
                    functions[name],
                    'called from the `if __name__ == "__main__":` block',
                    via=block,
                )
            )
    if not blocks and _is_run_once_script(module, functions, path):
        add(EntryPoint(EntryKind.SCRIPT, "<script>", module, "module code of a run-once script"))
    return [found[k] for k in order]


def _fired_classes(block: cst.CSTNode, imports: ImportTable) -> List[str]:
    """``fire.Fire(Reports)`` in a main block: each public method of ``Reports`` is a command."""
    out: List[str] = []
    for call in find_all(block, cst.Call):
        if call.args and imports.resolve(call.func) in _CLASS_RUNNERS:
            first = call.args[0].value
            if isinstance(first, cst.Name):
                out.append(first.value)
    return out


#: Callables that expose the public methods of a class given to them as commands.
_CLASS_RUNNERS = frozenset({"fire.Fire"})

_PROCESS_CLASSES = {
    "multiprocessing.Process",
    "multiprocessing.context.Process",
    "multiprocessing.process.BaseProcess",
    "billiard.Process",
}


def _process_targets(module: cst.Module, imports: ImportTable, functions: Mapping[str, cst.FunctionDef]) -> List[str]:
    """Module functions passed as ``target=`` to ``multiprocessing.Process``."""
    out: List[str] = []

    class _V(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            func = call.func
            qual = imports.resolve(func)
            is_process = qual in _PROCESS_CLASSES or (
                isinstance(func, cst.Attribute) and func.attr.value == "Process" and qual is None
            )
            if not is_process:
                return
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == "target" and isinstance(arg.value, cst.Name):
                    name = arg.value.value
                    if name in functions and name not in out:
                        out.append(name)

    walk(module, _V())
    return out


def _serverless_reason(
    func: cst.FunctionDef,
    imports: ImportTable,
    config: EntryPointConfig,
    facts: ProjectFacts,
    path: Optional[str],
    chalice_apps: Set[str],
    adapted: Set[str],
) -> str:
    name = func.name.value
    for dec in func.decorators:
        target = decorator_target(dec)
        qual = imports.resolve(target)
        if qual in _GCF_DECORATORS:
            return "Google Cloud Functions handler"
        if qual in _LAMBDA_DECORATORS:
            return f"Lambda handler (decorated with `{qual}`)"
        if isinstance(target, cst.Attribute):
            base = dotted_name(target.value)
            if base in chalice_apps and target.attr.value in _CHALICE_DECORATORS:
                return "Chalice Lambda handler"
            if base in adapted and target.attr.value in _ROUTE_DECORATORS:
                return f"route of `{base}`, served on Lambda through Mangum"
            if target.attr.value in _LAMBDA_DECORATOR_ATTRS:
                return f"Lambda handler (decorated with `{target.attr.value}`)"
    for param in func.params.params:
        if param.annotation is not None:
            qual = imports.resolve(param.annotation.annotation)
            if qual is not None and qual.startswith("azure.functions."):
                return "Azure Functions handler"
    origin = facts.handler_origin(path, name)
    if origin is not None:
        return f"handler declared in {origin}"
    if name in config.handler_names:
        return "Lambda handler"
    if looks_like_lambda_handler(func):
        return "Lambda handler (`(event, context)` signature)"
    return ""


def _cli_reason(func: cst.FunctionDef, imports: ImportTable, cli_objects: Set[str]) -> str:
    for dec in func.decorators:
        target = decorator_target(dec)
        qual = imports.resolve(target)
        if qual and qual.split(".", 1)[0] in _CLI_PACKAGES and qual.rsplit(".", 1)[-1] in _CLI_DECORATORS:
            return f"{qual.split('.', 1)[0]} command"
        if isinstance(target, cst.Attribute) and target.attr.value in _CLI_DECORATORS:
            base = dotted_name(target.value)
            if base is not None and base in cli_objects:
                return "CLI command"
            if base is not None and base.rsplit(".", 1)[-1] == "cli" and imports.imports_module("flask"):
                return "Flask CLI command"  # ``@app.cli.command("sync")``, ``@bp.cli.command()``
    return ""


def _has_django_base(cls: cst.ClassDef, imports: ImportTable) -> bool:
    for base in cls.bases:
        name = dotted_name(base.value)
        if name is None:
            continue
        qual = imports.resolve(base.value) or name
        last = qual.rsplit(".", 1)[-1]
        if last in _DJANGO_BASES and (qual.startswith("django.") or qual == last or "management" in qual):
            return True
    return False


_SCRIPT_NAMES = frozenset({"__init__", "setup", "conftest", "__main__"})


def _is_run_once_script(module: cst.Module, functions: Mapping[str, cst.FunctionDef], path: Optional[str]) -> bool:
    """Module-level code that calls one of the module's functions as a statement, or a
    flat script (no definitions, top-level calls or loops)."""
    if path is not None and os.path.splitext(os.path.basename(path))[0] in _SCRIPT_NAMES:
        return os.path.basename(path) == "__main__.py" and (
            _calls_module_function(module, functions) or _is_flat_script(module)
        )
    return _calls_module_function(module, functions) or _is_flat_script(module)


def _is_flat_script(module: cst.Module) -> bool:
    """No definitions at all, and module-level statements that call something."""
    has_call = False
    for stmt in module.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            return False
        if isinstance(stmt, (cst.For, cst.While, cst.With, cst.Try)):
            has_call = True
        elif isinstance(stmt, cst.SimpleStatementLine):
            has_call = has_call or any(isinstance(s, cst.Expr) and isinstance(s.value, cst.Call) for s in stmt.body)
    return has_call


def _calls_module_function(module: cst.Module, functions: Mapping[str, cst.FunctionDef]) -> bool:
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                call = small.value
                inner = call.args[0].value if call.args and not isinstance(call.func, cst.Name) else call
                candidates = [call, inner] if isinstance(inner, cst.Call) else [call]
                for c in candidates:
                    if isinstance(c.func, cst.Name) and c.func.value in functions:
                        return True
    return False


def subcommand_dispatch(module: cst.Module, functions: Container[str]) -> Dict[str, List[str]]:
    """argparse subcommands: keyword -> the module's functions given to
    ``set_defaults(keyword=function)`` (``args.func(args)`` calls one of them), also through
    a loop over a literal table (``for name, func in (("tag", cmd_tag), ...):``)."""
    calls: List[cst.Call] = []
    looped: Dict[str, List[str]] = {}

    class _Find(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "set_defaults":
                calls.append(node)

        def visit_For(self, node: cst.For) -> None:
            for target, value in _literal_loop_pairs(node):
                if isinstance(target, cst.Name) and isinstance(value, cst.Name) and value.value in functions:
                    looped.setdefault(target.value, []).append(value.value)

    walk(module, _Find())
    found: Dict[str, List[str]] = {}
    for call in calls:
        for arg in call.args:
            value = arg.value
            if arg.keyword is None or not isinstance(value, cst.Name):
                continue
            given = [value.value] if value.value in functions else looped.get(value.value, [])
            names = found.setdefault(arg.keyword.value, [])
            names.extend(name for name in given if name not in names)
    return found


def _literal_loop_pairs(loop: cst.For) -> Iterable[Tuple[cst.CSTNode, cst.CSTNode]]:
    """(target, value) for each item of a loop over a literal sequence."""
    if not isinstance(loop.iter, (cst.Tuple, cst.List)):
        return
    targets = loop.target.elements if isinstance(loop.target, (cst.Tuple, cst.List)) else None
    for element in loop.iter.elements:
        item = element.value
        if targets is None:
            yield loop.target, item
        elif isinstance(item, (cst.Tuple, cst.List)) and len(item.elements) == len(targets):
            for target, value in zip(targets, item.elements):
                yield target.value, value.value


def entry_point_for(entries: Sequence[EntryPoint], node: cst.CSTNode) -> Optional[EntryPoint]:
    """The entry point whose node is ``node`` (a function or a main block)."""
    for entry in entries:
        if entry.node is node:
            return entry
    return None


def kinds(entries: Iterable[EntryPoint]) -> FrozenSet[EntryKind]:
    return frozenset(e.kind for e in entries)
