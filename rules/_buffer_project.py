"""What one file knows about project code that holds buffered clients (OPS101-OPS104).

A file's own wrappers, singletons, getters and factories come from
:func:`opslint.rules._wrappers.module_facts` on its module; those of the modules it
imports come from the project index: every rule of the family declares the same
``project_facts`` (run only on modules that mention a buffering SDK, parsed once), and
:class:`ProjectBuffers` (one per project, memoized) joins them and follows re-exports.
What a project *function* does to those objects (``publish()`` feeds the cached
producer, ``flush_telemetry()`` drains the singleton) is read from the index's call
summaries, through any number of modules, on demand: those modules need no SDK token.

:class:`Knowledge` is the per-file view the family's analyses ask (a ``Catalog``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Set, Tuple

import libcst as cst

from opslint.project.summary import ModuleInfo
from opslint.rules import _buffers as B
from opslint.rules._wrappers import (
    ModuleFacts,
    ObjectFacts,
    method_kind,
    module_client_key,
    module_client_name,
    module_facts,
    wrapper_sdk,
)
from opslint.syntax.names import ImportTable
from opslint.syntax.nodes import EXIT_CALLS, ExitKind

#: The rules that share the facts (each declares ``project_facts``; any enabled one feeds them).
FAMILY = ("OPS101", "OPS102", "OPS103", "OPS104")
_MAX_DEPTH = 4


@dataclass(frozen=True)
class ProjectObject:
    """A process-wide client defined in a module: a singleton or a cached getter."""

    qualname: str
    sdk: B.BufferedSdk
    #: Drained by an atexit handler of its module (or by the wrapper itself).
    exit_drains: bool
    #: Drained by a Celery ``worker_process_shutdown`` handler.
    child_exit: bool

    @property
    def name(self) -> str:
        if self.module_client:
            # The SDK's module client, named as its drain's module: ``segment.analytics``.
            drains = [d.function.rsplit(".", 1)[0] for d in self.sdk.module_drains]
            return drains[0] if drains else self.sdk.modules[0]
        return self.qualname.rsplit(".", 1)[-1]

    @property
    def module_client(self) -> bool:
        """The SDK's process-wide module client, as fed by one module (``<segment>``)."""
        return module_client_key(self.qualname) is not None

    @property
    def module(self) -> str:
        return self.qualname.rsplit(".", 1)[0]


@dataclass(frozen=True)
class Effects:
    """What calling a project function leaves behind: objects it may leave holding data
    (``dirty``) and objects it drains; both qualified names of :class:`ProjectObject`."""

    dirty: Tuple[str, ...] = ()
    drains: Tuple[str, ...] = ()


def facts_for(module: cst.Module, info: ModuleInfo) -> Optional[ModuleFacts]:
    """``project_facts`` of the family (computed once per module even when several rules
    ask: kept in ``info.memo``)."""
    found = info.memo.get("buffers")
    if not isinstance(found, ModuleFacts):
        imports = ImportTable(info.package or None)
        imports.add_top_level(module.body)
        found = info.memo["buffers"] = module_facts(module, imports, info.name)
    return None if found.empty else found


class ProjectBuffers:
    """The family's facts of every module of a project, joined (one per index)."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self.modules: Dict[str, ModuleFacts] = {}
        for code in FAMILY:
            for name, found in index.facts(code).items():
                if isinstance(found, ModuleFacts):
                    self.modules.setdefault(name, found)
        self.classes: Dict[str, Any] = {}
        self.factories: Dict[str, str] = {}
        self.objects: Dict[str, ObjectFacts] = {}
        for module, found in self.modules.items():
            for name, wrapper in found.classes.items():
                self.classes[f"{module}.{name}"] = wrapper
            for name, made in found.factories.items():
                self.factories[f"{module}.{name}"] = made
            for name, obj in found.objects.items():
                self.objects[f"{module}.{name}"] = obj
        self._effects: Dict[str, Effects] = {}
        self._active: Set[str] = set()
        self._relevant: Optional[Set[str]] = None

    def canonical(self, qual: str) -> str:
        if qual.endswith("()"):
            return self.canonical(qual[:-2]) + "()"
        try:
            return str(self.index.canonical(qual))
        except Exception:  # noqa: BLE001 - an odd name must not break a rule
            return qual

    def class_sdk(self, qual: str) -> Optional[B.BufferedSdk]:
        qual = qual if qual in self.classes else self.canonical(qual)
        found = self.classes.get(qual)
        return wrapper_sdk(qual, found) if found is not None else None

    def made_sdk(self, made: str) -> Optional[B.BufferedSdk]:
        """The entry of what a factory or an object makes (a catalog key or a wrapper class)."""
        return B.by_key(made) if made in B.KEYS else self.class_sdk(made)

    def factory_sdk(self, qual: str) -> Optional[B.BufferedSdk]:
        made = self.factories.get(qual) or self.factories.get(self.canonical(qual))
        return self.made_sdk(made) if made else None

    def object(self, qual: str) -> Optional[ProjectObject]:
        if qual not in self.objects:
            qual = self.canonical(qual)
        found = self.objects.get(qual)
        if found is None:
            return None
        if found.handle_of:
            return self.object(f"{qual.rpartition('.')[0]}.{found.handle_of}")
        sdk = self.made_sdk(found.sdk or found.wrapper)
        if sdk is None:
            return None
        return ProjectObject(qual, sdk, found.atexit or sdk.drains_at_exit, found.child_exit)

    # -- functions ---------------------------------------------------------------------------

    def wrapper_drains(self, qual: str) -> Tuple[str, ...]:
        """Objects a project decorator of another module drains around the function it
        wraps: its own calls and those of the functions nested in it (the wrapper's
        ``try: return fn(*args) finally: producer.flush()``)."""
        qual = self.canonical(qual)
        function = self.index.function(qual)
        summary = self.index.summary(function.module) if function is not None else None
        if summary is None:
            return ()
        prefix = f"{qual}.<locals>."
        out: List[str] = list(self.effects(qual).drains)
        for name in summary.functions:
            if name.startswith(prefix):
                out.extend(self.effects(name).drains)
        return tuple(out)

    def effects(self, qual: str, depth: int = 0) -> Effects:
        """What calling the project function ``qual`` does to the project's objects."""
        qual = self.canonical(qual)
        done = self._effects.get(qual)
        if done is not None:
            return done
        if qual in self._active or depth > _MAX_DEPTH or not self.objects:
            return Effects()
        function = self.index.function(qual) or self._instance_method(qual)
        if function is None:
            return Effects()
        self._active.add(qual)
        try:
            order: List[Tuple[str, str]] = []
            late: List[Tuple[str, str]] = []
            #: Objects holding data where a path leaves the program (``sys.exit(2)`` in a
            #: branch before the flush): dirty whatever the calls after it drain.
            left: Set[str] = set()
            for site in function.calls:
                if EXIT_CALLS.get(site.callee) is ExitKind.SYS_EXIT:  # (``os._exit`` is OPS102's)
                    held: Dict[str, str] = {}
                    for obj, kind in order:
                        held[obj] = kind
                    left.update(o for o, k in held.items() if k == "use")
                    continue
                hit = self._object_call(site.callee, site.raw, function.module)
                if hit is not None:
                    (late if site.in_finally and hit[1] == "drain" else order).append(hit)
                    continue
                target = self.index.target_of(site)
                if target is not None and target != qual:
                    inner = self.effects(target, depth + 1)
                    order.extend((d, "drain") for d in inner.drains)
                    order.extend((d, "use") for d in inner.dirty)
            installed = f"{qual}()"
            if installed in self.objects and self.objects[installed].installer:
                order.insert(0, (installed, "use"))  # the pipeline it sets up holds records from now on
            last: Dict[str, str] = {}
            for obj, kind in order + late:
                last[obj] = kind
            found = Effects(
                dirty=tuple(dict.fromkeys([*(o for o, k in last.items() if k == "use"), *sorted(left)])),
                drains=tuple(dict.fromkeys(o for o, k in order + late if k == "drain")),
            )
        finally:
            self._active.discard(qual)
        self._effects[qual] = found
        return found

    def _instance_method(self, qual: str) -> Any:
        """``telemetry.telemetry.shipment_created``: a method of a module-level instance of a
        project class (``telemetry = FulfilmentTelemetry(...)``)."""
        owner, _, method = qual.rpartition(".")
        built = self.index.built_by(owner) if owner else None
        return self.index.method(built, method) if built is not None else None

    def _object_call(self, callee: str, raw: str, module: str) -> Optional[Tuple[str, str]]:
        """(object, "use"/"drain") for a call site on a project object, or on the SDK's
        module-level client that the calling module feeds (``analytics.track``)."""
        if "." not in callee:
            return None
        hit = B.sdk_for_singleton_call(callee)
        if hit is not None and hit[1] in ("use", "drain"):
            name = f"{module}.{module_client_name(hit[0].key)}"
            if name in self.objects:
                return name, hit[1]
        receiver, method = callee.rsplit(".", 1)
        candidates = [receiver]
        if raw.count(".") >= 1:
            candidates.append(f"{module}.{raw.rsplit('.', 1)[0]}")
        for candidate in candidates:
            obj = self.object(candidate)
            if obj is None:
                continue
            kind = method_kind(obj.sdk, cst.Call(func=cst.Name(method)), method)
            if kind in ("use", "drain"):
                return obj.qualname, kind
        return None

    def relevant(self, module: str) -> bool:
        """Whether a module imports something of the family's project knowledge, or calls
        a function that reaches it (a file without an SDK token that a rule must read)."""
        if self._relevant is None:
            self._relevant = self._importers()
        if module in self._relevant:
            return True
        summary = self.index.summary(module) if self.objects else None
        if summary is None:
            return False
        for function in summary.functions.values():
            found = self.effects(function.qualname)
            if found.dirty or found.drains:
                self._relevant.add(module)
                return True
        return False

    def _importers(self) -> Set[str]:
        known = set(self.classes) | set(self.factories) | {o[:-2] if o.endswith("()") else o for o in self.objects}
        modules = {k.rsplit(".", 1)[0] for k in known}
        out: Set[str] = set()
        if not known:
            return out
        for name, summary in self.index.modules.items():
            for target in summary.aliases.values():
                head = target.rsplit(".", 1)[0] if "." in target else target
                if target in known or head in modules or target in modules:
                    out.add(name)
                    break
        return out


def project_buffers(project: Any) -> Optional[ProjectBuffers]:
    """The project's joined facts (None outside a project run)."""
    if project is None or not hasattr(project, "memo"):
        return None
    found = project.memo(("ops1xx", "buffers"), lambda: ProjectBuffers(project))
    return found if isinstance(found, ProjectBuffers) else None


def relevant(project: Any, path: str) -> bool:
    """``Rule.project_relevant`` of the family: the file imports a project wrapper, singleton,
    getter, factory or a function of a module that defines one."""
    buffers = project_buffers(project)
    if buffers is None:
        return False
    module = project.module_of(os.path.abspath(path))
    return module is not None and buffers.relevant(module)


class Knowledge:
    """One file's view: its own module's facts, then the project's."""

    def __init__(self, local: ModuleFacts, module_name: str, project: Optional[ProjectBuffers]) -> None:
        self.local = local
        self.module_name = module_name
        self.project = project

    def _local(self, qual: str) -> Optional[str]:
        prefix = f"{self.module_name}."
        return qual[len(prefix) :] if qual.startswith(prefix) else None

    def class_sdk(self, qual: str) -> Optional[B.BufferedSdk]:
        local = self._local(qual)
        if local is not None and local in self.local.classes:
            return wrapper_sdk(qual, self.local.classes[local])
        return self.project.class_sdk(qual) if self.project is not None else None

    def factory_sdk(self, qual: str) -> Optional[B.BufferedSdk]:
        local = self._local(qual)
        if local is not None and local in self.local.factories:
            made = self.local.factories[local]
            return B.by_key(made) if made in B.KEYS else self.class_sdk(made)
        return self.project.factory_sdk(qual) if self.project is not None else None

    def object(self, qual: str) -> Optional[ProjectObject]:
        """A process-wide client of another module (a local one is a binding of the file;
        a local cached getter is answered here too: ``"mod.get_producer()"``)."""
        local = self._local(qual)
        if local is not None and local.endswith("()") and local in self.local.objects:
            found = self.local.objects[local]
            sdk = B.by_key(found.sdk) if found.sdk else self.class_sdk(found.wrapper)
            if sdk is None:
                return None
            return ProjectObject(qual, sdk, found.atexit or sdk.drains_at_exit, found.child_exit)
        if local is not None or self.project is None:
            return None
        return self.project.object(qual)

    def makes_clients(self) -> bool:
        """Whether a class or factory of the file or the project makes clients."""
        local = self.local
        return bool(local.classes or local.factories) or (
            self.project is not None and bool(self.project.classes or self.project.factories)
        )

    def effects(self, qual: str) -> Effects:
        if self.project is None or self._local(qual) is not None:
            return Effects()
        return self.project.effects(qual)

    def wrapper_drains(self, qual: str) -> Tuple[str, ...]:
        if self.project is None or self._local(qual) is not None:
            return ()
        return self.project.wrapper_drains(qual)


__all__ = [
    "FAMILY",
    "Effects",
    "Knowledge",
    "ProjectBuffers",
    "ProjectObject",
    "facts_for",
    "project_buffers",
    "relevant",
]
