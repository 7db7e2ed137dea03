"""Where OPS401 sees a lock held, across the project index (a family analysis).

For every function of the project: which of its call sites run while a lock is held
(inside ``with <lock>:``, after an acquire in the same function, in a function with a
locking decorator), and which project functions take a lock themselves.  Knowledge
(lock constructors, acquire/release names, SQL markers, scheduler entry points) comes
from ``_locks.py`` and ``_schedules.py``; the rule (``ops401_lock_stage_bypass.py``)
searches the scheduled paths that skip a lock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple

from opslint.context import is_test_path
from opslint.model import Span
from opslint.project import CallSite, FunctionSummary, ModuleSummary, ProjectIndex
from opslint.rules import _locks, _schedules


@dataclass(frozen=True)
class Evidence:
    """Where (and how) a lock is held for a call site."""

    description: str
    path: str
    span: Span
    #: The function whose code holds the lock, and the indexes of its call sites the
    #: lock's scope encloses (the ``with`` block, acquire to release, the whole body).
    holder: str = ""
    scope: Tuple[int, ...] = ()


#: Builders of module-level containers a lock may guard (``_memo = {}``, ``dict()``...).
_MUTABLE_BUILDERS = frozenset(
    {
        "dict",
        "list",
        "set",
        "collections.defaultdict",
        "collections.OrderedDict",
        "collections.deque",
        "collections.Counter",
        "weakref.WeakValueDictionary",
        "weakref.WeakKeyDictionary",
    }
)


def short(qualname: str) -> str:
    """``pkg.services.imports.run_import`` -> ``imports.run_import``."""
    parts = [p for p in qualname.split(".") if p != "<locals>"]
    if parts and parts[-1] in ("<main>", "<module>"):
        return ".".join(parts[-2:])
    return ".".join(parts[-2:]) if len(parts) > 1 else qualname


# ------------------------------------------------------------------------------
# The analysis (once per project index and options)
# ------------------------------------------------------------------------------


def _names(values: Tuple[str, ...]) -> FrozenSet[str]:
    return frozenset(values)


def _matches(name: str, configured: FrozenSet[str]) -> bool:
    if not configured:
        return False
    base = name[:-2] if name.endswith("()") else name
    return base in configured or _schedules.last_name(base) in configured


def _is_truthy(text: str) -> bool:
    return text not in _schedules.FALSY_ARGS


def _string_args(site: CallSite) -> List[str]:
    values = [a for a in site.args if a[:1] in "'\""]
    values.extend(v for _, v in site.kwargs if v[:1] in "'\"")
    return [v.lower() for v in values]


class LockSites:
    """Lock evidence of the call sites of a project (see the module docstring)."""

    def __init__(self, project: ProjectIndex, options: Any) -> None:
        self.project = project
        self.options = options
        self.acquire_fns = _names(options.acquire_functions)
        self.release_fns = _names(options.release_functions)
        self.lock_decorators = _names(options.lock_decorators) | _schedules.LOCK_DECORATORS
        self.lock_cms = _names(options.lock_context_managers)
        self.functions: Dict[str, FunctionSummary] = {f.qualname: f for f in project.functions()}
        self.paths: Dict[str, str] = {}
        self.tests: Set[str] = set()
        for module in project.modules.values():
            rel = os.path.relpath(module.path, project.root)
            test = is_test_path(rel)
            for qualname in module.functions:
                self.paths[qualname] = module.path
                if test:
                    self.tests.add(qualname)
        self._internal: Dict[str, bool] = {}
        self._locked: Dict[str, List[Optional[Evidence]]] = {}
        self._nested: Optional[Dict[str, List[FunctionSummary]]] = None

    # -- classifying call sites ---------------------------------------------------
    def _lockish_receiver(self, recv: str) -> bool:
        if not recv:
            return False
        last = _schedules.last_name(recv)
        built = recv.endswith("()")
        kind = _locks.constructor_kind(recv[:-2], last) if built else None
        if kind is not None and kind in ("lock", "throttle"):
            # A known constructor, whatever its name says (``posix_ipc.Semaphore``, ``pool.Semaphore``).
            return kind == "lock"
        if _schedules.NOT_LOCK_RECEIVERS.search(last) and not _locks.looks_like_lock_name(last):
            return False
        if built and last in _locks.REDIS_LOCK_METHODS:
            return True
        return _locks.looks_like_lock_name(last)

    def acquire_kind(self, fn: FunctionSummary, site: CallSite) -> Optional[str]:
        """How the call takes a lock ("" when it does not)."""
        callee = site.callee
        last = _schedules.last_name(callee)
        if _matches(callee, self.acquire_fns):
            return f"`{last}()`"
        if last in _schedules.ACQUIRE_METHODS and self._lockish_receiver(_schedules.receiver(callee)):
            # As written (``lock.acquire()``), not as resolved (``from_url.lock.acquire()``).
            if site.raw.endswith(f".{last}") and len(site.raw) <= 40:
                return f"`{site.raw}()`"
            return f"`{short(_schedules.receiver(callee).replace('()', ''))}.{last}()`"
        claim = _claim(site)
        if claim is not None:
            # A claim never given back in the function is a throttle or a de-dup marker
            # (``cache.add(f"digest-sent:{pk}", 1, 600)``), not a lock around what follows.
            return claim if self._released_later(fn, site) else None
        if last in _locks.ORM_ROW_LOCK_METHODS:
            return f"`{last}()`"
        if _file_lock(site) == "acquire":
            return f"`{short(callee)}`"
        lowered = callee.lower()
        if "pg_advisory" in lowered and "unlock" not in lowered:
            return f"`{last}`"
        for text in _string_args(site):
            if "unlock" in text or "release_lock" in text:
                continue
            for marker in _locks.SQL_LOCK_MARKERS:
                if marker in text:
                    return f"SQL `{marker.strip('(')}`"
        target = self.project.target_of(site)
        if target is not None and self._is_acquire_function(target):
            return f"`{short(target)}()`"
        recv = _schedules.last_name(_schedules.receiver(callee)) if "." in callee else ""
        if recv and _schedules.NOT_LOCK_RECEIVERS.search(recv) and not _locks.looks_like_lock_name(recv):
            return None  # ``pool.acquire()`` borrows a connection, ``sem.acquire()`` takes a slot
        if _schedules.ACQUIRE_NAME.match(last) and not self._releases_flag(site) and self._paired(fn, site):
            return f"`{last}()`"
        return None

    def _releases_flag(self, site: CallSite) -> bool:
        last = _schedules.last_name(site.callee)
        return bool(_schedules.FLAG_SETTER_NAME.match(last)) and any(
            a in _schedules.FALSY_ARGS for a in (*site.args, *(v for _, v in site.kwargs))
        )

    def _released_later(self, fn: FunctionSummary, site: CallSite) -> bool:
        """A release after the claim: a release call, or a ``delete`` of the claimed key."""
        key = site.args[0] if site.args else None
        for other in fn.calls:
            if other.index <= site.index:
                continue
            if self.is_release(other):
                return True
            deletes = _schedules.last_name(other.callee) in ("delete", "unlink", "delete_many")
            if deletes and key is not None and other.args[:1] == (key,):
                return True
        return False

    def _paired(self, fn: FunctionSummary, site: CallSite) -> bool:
        """A name-only acquire counts when its result is tested or a release follows it."""
        for other in fn.calls:
            if site.index in other.neg_guards or site.index in other.pos_guards:
                return True
            if other.index > site.index and self.is_release(other):
                return True
        return False

    def is_release(self, site: CallSite) -> bool:
        callee = site.callee
        last = _schedules.last_name(callee)
        if _matches(callee, self.release_fns):
            return True
        if last in _schedules.RELEASE_METHODS or _file_lock(site) == "release":
            return True
        if _schedules.RELEASE_NAME.match(last) or self._releases_flag(site):
            return True
        if last == "delete" and any(_locks.lockish_text(a) for a in site.args):
            return True
        lowered = callee.lower()
        if "advisory_unlock" in lowered:
            return True
        return any("advisory_unlock" in t or "release_lock(" in t for t in _string_args(site))

    def _is_acquire_function(self, qualname: str) -> bool:
        """A project function that takes a lock and returns holding it."""
        fn = self.functions.get(qualname)
        if fn is None or fn.kind in ("module", "main"):
            return False
        if _matches(qualname, self.acquire_fns):
            return True
        key = f"acq:{qualname}"
        if key in self._internal:
            return self._internal[key]
        self._internal[key] = False  # recursion guard
        held = 0
        for site in fn.calls:
            if self.is_release(site):
                held = max(0, held - 1)
                continue
            last = _schedules.last_name(site.callee)
            kind = self._primitive_acquire(site, last)
            if kind:
                held += 1
        answer = held > 0 and bool(_schedules.ACQUIRE_NAME.match(fn.name) or held)
        self._internal[key] = answer
        return answer

    def _primitive_acquire(self, site: CallSite, last: str) -> bool:
        """Library-level acquires (no project-function recursion)."""
        callee = site.callee
        if last in _schedules.ACQUIRE_METHODS and self._lockish_receiver(_schedules.receiver(callee)):
            return True
        if _claim(site) is not None:
            return True
        if "pg_advisory" in callee.lower() and "unlock" not in callee.lower():
            return True
        if _file_lock(site) == "acquire":
            return True
        return any(
            marker in text and "unlock" not in text
            for text in _string_args(site)
            for marker in _locks.SQL_LOCK_MARKERS
            if marker != "for update"
        )

    def lock_item(self, item: str) -> bool:
        """Whether a ``with`` item holds a lock (``LOCKS[key]``: one of a registry of locks,
        as the registry's name says)."""
        if _matches(item, self.lock_cms):
            return True
        if item.endswith("]") and "[" in item and "(" not in item.split("[", 1)[0]:
            item = item.split("[", 1)[0]
        base = item[:-2] if item.endswith("()") else item
        last = _schedules.last_name(base)
        if item.endswith("()"):
            kind = _locks.constructor_kind(base, last)
            if kind == "throttle":
                return False
            if kind == "lock" or last in _schedules.LOCK_CONTEXT_MANAGERS:
                return True
            if last in _schedules.ACQUIRE_METHODS and self._lockish_receiver(_schedules.receiver(base)):
                return True
            target = self.project.function(self.project.canonical(base)) or self._instance_method(base)
            if target is not None and self._context_manager_locks(target):
                return True
            cls = self.project.class_summary(self.project.canonical(base)) if "()" not in base else None
            if cls is not None:
                enter = self.project.method(cls.qualname, "__enter__") or self.project.method(
                    cls.qualname, "__aenter__"
                )
                if enter is not None and (self._acquires_inside(enter) or self._claims_until_exit(cls.qualname, enter)):
                    return True
        if "()." in item:
            # an instance attribute with a known constructor: ``threading.Lock()`` handled above
            pass
        if _locks.looks_like_throttle_name(last) and not _locks.looks_like_lock_name(last):
            return False
        return _locks.looks_like_lock_name(last) or _schedules.has_lock_word(last)

    def _instance_method(self, base: str) -> Optional[FunctionSummary]:
        """``coordinator.exclusive`` where a module holds ``coordinator = Coordinator(...)``:
        the method of the class the module-level instance was built from."""
        owner, _, method = self.project.canonical(base).rpartition(".")
        built = self.project.built_by(owner) if owner and method else None
        return self.project.method(built, method) if built is not None else None

    def _claims_until_exit(self, cls: str, enter: FunctionSummary) -> bool:
        """A context manager class whose ``__enter__`` claims (``SET NX``, ``cache.add``) and
        whose ``__exit__`` gives the claim back (a lease)."""
        exit_ = self.project.method(cls, "__exit__") or self.project.method(cls, "__aexit__")
        if exit_ is None or not any(_claim(site) is not None for site in enter.calls):
            return False
        return any(
            self.is_release(site) or _schedules.last_name(site.callee) in ("delete", "unlink", "delete_many")
            for site in exit_.calls
        )

    def _context_manager_locks(self, fn: FunctionSummary) -> bool:
        if not any(_schedules.last_name(d.name) in ("contextmanager", "asynccontextmanager") for d in fn.decorators):
            return False
        return self._acquires_inside(fn)

    def _acquires_inside(self, fn: FunctionSummary) -> bool:
        key = f"in:{fn.qualname}"
        if key in self._internal:
            return self._internal[key]
        self._internal[key] = False
        answer = self.lock_decorated(fn) is not None or any(
            self.acquire_kind(fn, s) is not None or any(self.lock_item(w) for w in s.with_items) for s in fn.calls
        )
        if not answer:
            # A decorator factory takes its lock in the wrapper it defines.
            answer = any(self._acquires_inside(inner) for inner in self._nested_in(fn.qualname))
        self._internal[key] = answer
        return answer

    def _nested_in(self, qualname: str) -> List[FunctionSummary]:
        """The functions defined inside ``qualname``'s body, at any depth."""
        if self._nested is None:
            # Built once: asking every function of the project for each candidate is quadratic.
            nested: Dict[str, List[FunctionSummary]] = {}
            marker = ".<locals>."
            for name, inner in self.functions.items():
                at = name.find(marker)
                while at != -1:
                    nested.setdefault(name[:at], []).append(inner)
                    at = name.find(marker, at + 1)
            self._nested = nested
        return self._nested.get(qualname, [])

    def lock_decorated(self, fn: FunctionSummary) -> Optional[Evidence]:
        for dec in fn.decorators:
            last = _schedules.last_name(dec.name)
            if (
                last in self.lock_decorators
                or _matches(dec.name, self.lock_decorators)
                or _locks.looks_like_lock_name(last)
                or _schedules.has_lock_word(last)
            ):
                return Evidence(f"decorator `@{last}`", self.paths.get(fn.qualname, ""), dec.span)
            for key, value in dec.kwargs:
                if key == "base" and _schedules.last_name(value) in _schedules.LOCKING_TASK_BASES:
                    return Evidence(
                        f"task base `{_schedules.last_name(value)}`", self.paths.get(fn.qualname, ""), dec.span
                    )
            target = self.project.function(self.project.canonical(dec.name))
            if target is not None and target.qualname != fn.qualname and self._acquires_inside(target):
                return Evidence(f"decorator `@{short(target.qualname)}`", self.paths.get(fn.qualname, ""), dec.span)
        return None

    # -- lock state of every call site ----------------------------------------------

    def site_locks(self, fn: FunctionSummary) -> List[Optional[Evidence]]:
        """For each call site of ``fn`` (by index): the lock held there, if any.

        A ``with <lock>:`` holds for the sites inside the block; an acquire until its
        release, or, for a lock that ends with its transaction (``select_for_update()``,
        ``pg_advisory_xact_lock``), until the ``with transaction.atomic():`` block around it
        ends; a locking decorator for the whole body."""
        cached = self._locked.get(fn.qualname)
        if cached is not None:
            return cached
        path = self.paths.get(fn.qualname, "")
        decorated = self.lock_decorated(fn)
        #: Per site: (which lock instance, description, span) or None.
        held: List[Optional[Tuple[Tuple[Any, ...], str, Span]]] = []
        active: List[Tuple[CallSite, str, Optional[Tuple[str, ...]]]] = []
        runs: Dict[int, int] = {}
        previous: Optional[CallSite] = None
        for site in fn.calls:
            active = [a for a in active if a[2] is None or site.with_items[: len(a[2])] == a[2]]
            found: Optional[Tuple[Tuple[Any, ...], str, Span]] = None
            if decorated is not None:
                found = (("decorator",), decorated.description, decorated.span)
            for position in range(len(site.with_items) - 1, -1, -1) if found is None else ():
                if not self.lock_item(site.with_items[position]):
                    continue
                prefix = site.with_items[: position + 1]
                same_block = previous is not None and previous.with_items[: position + 1] == prefix
                start = runs.get(position, site.index) if same_block else site.index
                runs[position] = start
                text = site.with_texts[position] if position < len(site.with_texts) else ""
                if len(text) > 40 and "(" in text:
                    text = text[: text.index("(")] + "(...)"
                found = (
                    ("with", position, start),
                    f"`with {text or _describe(site.with_items[position])}:`",
                    site.span,
                )
                break
            if found is None:
                live = [a for a in active if a[0].index not in site.neg_guards]
                if live:
                    acquire, description = live[-1][:2]
                    found = (("acquire", acquire.index), description, acquire.span)
            held.append(found)
            previous = site
            if self.is_release(site):
                if active:
                    active.pop()
                continue
            entered = self._entered_lock(site)
            if entered is not None:
                # ``stack.enter_context(api_key_lock(key))`` in ``with ExitStack() as stack:``:
                # held until that block ends, like a ``with`` item of it.
                active.append((site, entered, tuple(site.with_items)))
                continue
            kind = self.acquire_kind(fn, site)
            if kind is not None:
                # ``lock = r.lock(key)`` then ``lock.acquire()``: the factory call only made the
                # lock object; the acquire is the one lock (and ``if not lock.acquire():`` is
                # the branch where it is not held).
                active = [a for a in active if not site.callee.startswith(f"{a[0].callee}().")]
                active.append((site, kind, self._transaction_scope(site)))
        scopes: Dict[Tuple[Any, ...], List[int]] = {}
        for index, found in enumerate(held):
            if found is not None:
                scopes.setdefault(found[0], []).append(index)
        out: List[Optional[Evidence]] = [
            None if found is None else Evidence(found[1], path, found[2], fn.qualname, tuple(scopes[found[0]]))
            for found in held
        ]
        self._locked[fn.qualname] = out
        return out

    def _entered_lock(self, site: CallSite) -> Optional[str]:
        """The description of a lock entered on an exit stack (``stack.enter_context(lock)``,
        also ``await stack.enter_async_context(...)``), else None."""
        if _schedules.last_name(site.callee) not in ("enter_context", "enter_async_context") or not site.args:
            return None
        if not site.with_items or not self.lock_item(site.args[0]):
            return None
        text = site.args[0]
        return f"`{site.raw or 'enter_context'}({text if len(text) <= 40 else '...'})`"

    @staticmethod
    def _transaction_scope(site: CallSite) -> Optional[Tuple[str, ...]]:
        """For a lock that ends with its transaction, the ``with`` items up to the innermost
        transaction block around it (None: held to the end of the function)."""
        last = _schedules.last_name(site.callee)
        texts = _string_args(site)
        if last not in _locks.ORM_ROW_LOCK_METHODS and not any(
            marker in text for text in texts for marker in _locks.TRANSACTION_LOCK_MARKERS
        ):
            return None
        for position in range(len(site.with_items) - 1, -1, -1):
            if _locks.is_transaction_context(site.with_items[position]):
                return site.with_items[: position + 1]
        return None

    # -- what a lock guards ------------------------------------------------------------

    def locks_itself(self, fn: FunctionSummary, depth: int = 0) -> bool:
        """Whether ``fn`` takes a lock of its own, directly or through project helpers
        (``stock_qs_select_for_update()`` that returns a ``select_for_update()`` queryset)."""
        if self._acquires_inside(fn):
            return True
        if depth >= 3:
            return False
        # The answer depends on the depth left (a search cut short says False): memoised per depth.
        key = f"self:{fn.qualname}:{depth}"
        if key in self._internal:
            return self._internal[key]
        self._internal[key] = False
        answer = False
        for site in fn.calls:
            target = self.project.target_of(site)
            inner = self.functions.get(target) if target is not None and target != fn.qualname else None
            if inner is not None and self.locks_itself(inner, depth + 1):
                answer = True
                break
        self._internal[key] = answer
        return answer

    def guards_other_state(self, evidence: Evidence, site: CallSite, callee: FunctionSummary) -> bool:
        """Whether the lock's scope works on module state of the holder's own (``_memo.get``
        under ``with _memo_lock:``) that ``callee`` never touches: the lock guards that
        state, not the call."""
        holder = self.functions.get(evidence.holder)
        if holder is None or not evidence.scope:
            return False
        summary = self.project.summary(holder.module)
        if summary is None:
            return False
        names: Set[str] = set()
        for index in evidence.scope:
            other = holder.calls[index]
            if index == site.index or self.is_release(other) or self.acquire_kind(holder, other) is not None:
                continue
            state = _module_state(summary, other.callee)
            if state is not None:
                names.add(state)
        return bool(names) and not self._touches(callee, names, 0)

    def _touches(self, fn: FunctionSummary, names: Set[str], depth: int) -> bool:
        for site in fn.calls:
            texts = (site.callee, *site.args, *(v for _, v in site.kwargs))
            if any(text == name or text.startswith(name + ".") for text in texts for name in names):
                return True
            target = self.project.target_of(site) if depth < 2 else None
            inner = self.functions.get(target) if target is not None and target != fn.qualname else None
            if inner is not None and self._touches(inner, names, depth + 1):
                return True
        return False

    # -- the whole project -----------------------------------------------------------


def _claim(site: CallSite) -> Optional[str]:
    """An atomic claim of a key: redis ``SET NX``/``setnx``, Django ``cache.add``."""
    last = _schedules.last_name(site.callee)
    if last == "set" and _is_truthy(dict(site.kwargs).get("nx", "False")):
        return "redis `SET NX`"
    if last in _schedules.REDIS_CLAIM_METHODS:
        return f"redis `{last}`"
    if last == "add" and site.callee.startswith(("django.core.cache", "caches[")):
        return "Django `cache.add`"
    receiver = _schedules.receiver(site.callee)
    if last == "add" and receiver.endswith("()") and receiver[:-2] in _locks.MEMCACHED_CLIENT_CONSTRUCTORS:
        return "memcached `add`"
    if last == "add" and receiver.endswith("()") and receiver[:-2] in _locks.CACHE_CONSTRUCTORS:
        return "cache `add`"
    if last == "add" and receiver and _locks.looks_like_lock_name(_schedules.last_name(receiver)):
        # ``lock_cache = caches["locks"]`` then ``lock_cache.add(key, ...)`` (given back later)
        return "cache `add`"
    return None


def _module_state(summary: ModuleSummary, callee: str) -> Optional[str]:
    """``pkg.rates._memo`` for ``pkg.rates._memo.get``: a method of a mutable container
    bound at module level (not a client, a lock or a constant)."""
    prefix = summary.name + "."
    if not callee.startswith(prefix):
        return None
    parts = callee[len(prefix) :].split(".")
    head = parts[0]
    if len(parts) < 2 or summary.defs.get(head) != "variable" or head.isupper():
        return None
    if _locks.looks_like_lock_name(head) or head.lstrip("_").isupper():
        return None
    built = summary.var_types.get(head)
    if built is not None and built not in _MUTABLE_BUILDERS:
        return None
    state: str = prefix + head
    return state


def _file_lock(site: CallSite) -> Optional[str]:
    """``fcntl.flock(fd, LOCK_EX)`` -> "acquire", ``LOCK_UN`` -> "release"."""
    if site.callee not in _schedules.FILE_LOCK_CALLS:
        return None
    flags = " ".join(site.args[1:2] + tuple(v for k, v in site.kwargs if k in ("operation", "cmd", "flags")))
    if "LOCK_UN" in flags:
        return "release"
    if "LOCK_EX" in flags or "LOCK_SH" in flags:
        return "acquire"
    return None


def _describe(item: str) -> str:
    text = item.replace("()", "")
    parts = text.split(".")
    shown = ".".join(parts[-2:]) if len(parts) > 1 else text
    return shown + ("(...)" if item.endswith("()") else "")
