"""OPS402: a lock or "in use" flag claimed by check-then-set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.entrypoints import module_functions
from opslint.analysis.scopes import BindingTable, Scope
from opslint.config import option
from opslint.rule import AnyEdit, PendingFix, Rule
from opslint.rules import _locks
from opslint.rules._claim_reads import DJANGO_CACHE, REDIS, Read, unwrap
from opslint.rules._claim_stores import (
    SUGGEST_ORM,
    SUGGEST_REDIS,
    SUGGEST_REDIS_MANY,
    SUGGEST_REDIS_SLOT,
    SUGGEST_SETNX,
    SUGGESTIONS,
)
from opslint.rules._claims import LOCKING_HELPER, FunctionClaims
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import always_exits, child_blocks
from opslint.syntax.walk import iter_nodes, walk

if TYPE_CHECKING:
    from opslint.context import FileContext

_Loop = Union[cst.If, cst.While]

_PATH_CONSTRUCTORS = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"})


def _statements(block: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    return block.body if isinstance(block, cst.IndentedBlock) else ()


class _StoreKinds:
    """What a receiver is, for OPS402: ``redis``, ``django-cache``, ``pipeline`` or ``other``."""

    def __init__(self, rule: NonAtomicLock) -> None:
        self.rule = rule

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[str]:
        kind = self.rule._value_kind(value)
        if kind != "other":
            return kind
        call = unwrap(value)
        # A call of a function of this file is followed (``con = redis_conn()``); others say "other".
        return (
            None
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Name)
            else kind
            if isinstance(call, cst.Call)
            else None
        )

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[str]:
        return REDIS if _locks.is_redis_client_constructor(self.rule.qualified_name(annotation)) else None


class NonAtomicLock(Rule):
    """A lock or "in use" flag claimed by check-then-set.

    ## What it does
    Checks for a lock, "in use" flag or claim status that is read and then
    written as two steps: a redis `get`/`exists`/`hget`/`sismember` (or a Django or
    Flask-Caching cache `get`) followed by `set`/`hset` (also `mapping=`)/`sadd` on the
    same key, directly or in a `pipeline()` without `WATCH`, `setnx` or
    `set(nx=True)` followed by `expire`, an ORM attribute (`key.in_use`,
    `job.status`) tested and then assigned and saved or set by a queryset
    `update` or a SQLAlchemy Core `update(...).values(...)` whose `where` does
    not test it, a `.filter(...).exists()` check followed by a write of the same
    field, a MongoDB or DynamoDB item's flag read and then written without a
    condition (`put_item`/`update_item` with no `ConditionExpression`), a Cloud
    Storage marker object tested with `blob.exists()` and then uploaded without
    `if_generation_match=0`, a Consul or etcd key read (`index, data =
    c.kv.get(key)`) and then `put` without `cas=`, the
    project's own helpers (`if is_locked(name): return` then
    `mark_locked(name)`), or a lock file tested with `os.path.exists` and then
    created.  Code
    that locks the rows (`select_for_update`, `with_for_update`), uses a redis
    transaction, script or `Lock`, runs under a lock (also a lock decorator such
    as `@only_one`, or only ever called in this file by functions that lock),
    or lets a unique constraint refuse the second claim (`except IntegrityError`)
    is not flagged; nor are caches (the value stored is the data, not a flag),
    counters, rate limits, a marker written after the work it records
    (de-duplication), or a switch a person turns on and off (a maintenance
    mode, a moderator locking a topic: a handler that sets it and answers,
    with no owner recorded and nothing run under it), nor `locked` as the
    state of a user, an account or content (`user.locked = True` after failed
    logins, a finalized invoice) unless it records who holds it.  Test
    modules are not checked.

    ## Why it matters
    In incident 002 the "is the shared API key in use?" check and the "mark it
    in use" write were separate steps: two workers both saw the key free,
    both used it, and one job's cleanup deleted the reports of the other.
    The fix was a real server-side atomic claim.

    ## Example
    ```python
    import redis

    r = redis.Redis()

    def start_import(account_id):
        if not r.get(f"api-key-lock:{account_id}"):
            r.set(f"api-key-lock:{account_id}", "1")
            run_import(account_id)
    ```

    ## Use instead
    ```python
    import redis

    r = redis.Redis()

    def start_import(account_id):
        if r.set(f"api-key-lock:{account_id}", "1", nx=True, ex=600):
            run_import(account_id)
    ```

    ## Fix safety
    For redis, `if not r.get(k): r.set(k, v)` (and the guard form
    `if r.get(k): return` + `r.set(k, v)`, and `setnx` + `expire`) becomes one
    `SET k v NX EX ttl`: the body still runs only when the key was free, now
    decided by the server.  The TTL is the original `ex=`/`setex` time when
    there was one, else the `lock-ttl` option (a lock without TTL is held
    forever by a crashed worker).  This fix is unsafe: it changes behaviour
    by design.  Two workers racing no longer both proceed; an expiry the code
    never had is added (a job running longer than `lock-ttl` loses its lock);
    and even `nx=True` alone is not equivalent to a `get` check (a stored
    empty value is falsy, so the old code overwrote it, `SET NX` does not;
    a key of another type made `GET` raise, `SET NX` returns None).  Review
    the diff and apply it with `--unsafe-fixes`.  Other shapes (ORM rows,
    Django cache, files) get a suggestion: the right primitive depends on the
    schema and the database.

    ## Options
    - `lock-ttl`: seconds of expiry added to a redis claim that had none
      (default 600; 0 adds no expiry; at most 2592000, 30 days).

    ## See also
    OPS403 (a release that an exception can skip), OPS401 (a path that skips
    the lock).
    """

    code = "OPS402"
    name = "non-atomic-lock"
    message = "Non-atomic lock: `{read}` then `{write}` run as two separate steps; {why}"
    #: Every shape needs a write: a redis/cache set, an ORM save/commit/update/create, or a file creation.
    tokens = (
        "update_one(",
        ".put_item(",
        ".upload_from_",
        "kv.put(",
        "etcd3",
        ".update_item(",
        "UPDATE ",
        "mark_",
        ".execute(",
        ".set(",
        "setex(",
        ".hset(",
        ".hmset(",
        ".mset(",
        ".sadd(",
        ".setbit(",
        "setnx(",
        ".rpush(",
        ".lpush(",
        ".incr(",
        ".save(",
        ".asave(",
        ".save_changes(",
        ".commit(",
        ".flush(",
        ".update(",
        ".create(",
        "_or_create(",
        "open(",
        ".touch(",
        ".write_text(",
        ".write_bytes(",
    )
    fix_availability = "sometimes"

    @dataclass(frozen=True)
    class Options:
        #: Up to 30 days; 0 adds no expiry.
        lock_ttl: int = option(600, ge=0, le=30 * 86400)

    requires = (BindingTable,)
    #: A client imported from a project module (`from app.ext import cache`) is known by what
    #: that module built it with.
    needs_project = True

    def __init__(self, ctx: FileContext, options: Any) -> None:
        super().__init__(ctx, options)
        self._functions: List[Tuple[cst.FunctionDef, Tuple[cst.CSTNode, ...]]] = []
        self.table = ctx.analysis(BindingTable)
        self._kinds = _StoreKinds(self)
        self._caller_markers: Dict[int, Set[str]] = {}
        self._redis_usage: Dict[Tuple[int, str], bool] = {}
        self._module_functions: Optional[Dict[str, cst.FunctionDef]] = None

    # -- collecting -----------------------------------------------------------

    def _value_kind(self, value: Optional[cst.BaseExpression]) -> str:
        if value is None:
            return "other"
        value = unwrap(value)
        if isinstance(value, cst.Call):
            qualified = self.qualified_name(value.func)
            if _locks.is_redis_client_constructor(qualified):
                return REDIS
            if isinstance(value.func, cst.Attribute) and value.func.attr.value in ("pipeline", "transaction"):
                return "pipeline"
            if qualified in _locks.DJANGO_CACHES or qualified in _locks.CACHE_CONSTRUCTORS:
                return DJANGO_CACHE
            if qualified in _locks.MEMCACHED_CLIENT_CONSTRUCTORS:
                return "memcached"
            if qualified in _PATH_CONSTRUCTORS:
                return "path"
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Divide):
            return "path" if self._value_kind(value.left) == "path" else "other"
        if isinstance(value, cst.Subscript) and self.qualified_name(value.value) == "django.core.cache.caches":
            return DJANGO_CACHE
        return "other"

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append((node, tuple(self.stack)))

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.ctx.is_test_file:
            return
        for function, stack in self._functions:
            _FunctionCheck(self, function, stack).run()

    def callers_serialise(self, function: cst.FunctionDef) -> bool:
        """Every call of ``function`` in this file runs where its caller locks the rows or
        holds a lock (``with atomic(): seat = ...select_for_update()...; _reserve(seat)``),
        and there is at least one."""
        name = function.name.value
        if LOCKING_HELPER.search(name):
            return False  # ``acquire_sync_lock`` is the lock its callers are "held" by
        callers = 0
        for other, stack in self._functions:
            if other is function or not any(_calls(stmt, name) for stmt in _statements(other.body)):
                continue
            callers += 1
            if not self._markers_of(other, stack) & {"held", "row-lock", "redis-atomic"}:
                return False
        return callers > 0

    def _markers_of(self, function: cst.FunctionDef, stack: Tuple[cst.CSTNode, ...]) -> Set[str]:
        """A function's markers, computed once however many callees ask."""
        found = self._caller_markers.get(id(function))
        if found is None:
            found = self._caller_markers[id(function)] = _FunctionCheck(self, function, stack).markers
        return found

    # -- helpers for the per-function check ------------------------------------------

    def store_kind(self, receiver: cst.BaseExpression, stack: Sequence[cst.CSTNode]) -> Optional[str]:
        """``"redis"``, ``"django-cache"``, ``"pipeline"`` or None for the receiver of a read/write."""
        qualified = self.qualified_name(receiver)
        if qualified in _locks.DJANGO_CACHES:
            return DJANGO_CACHE
        if isinstance(receiver, cst.Subscript):
            if self.qualified_name(receiver.value) == "django.core.cache.caches":
                return DJANGO_CACHE
            return None
        if isinstance(receiver, cst.Call):
            kind = self._value_kind(receiver)
            return kind if kind != "other" else None
        name = dotted_name(receiver)
        if name is None:
            return None
        function = next((n for n in reversed(stack) if isinstance(n, cst.FunctionDef)), None)
        scope = self.table.scope_of(function) if function is not None else self.table.module_scope
        if scope is not None and isinstance(receiver, (cst.Name, cst.Attribute)):
            kinds = {a.kind for a in self.table.kinds(receiver, scope, self._kinds) if a.binding is not None}
            for kind in ("pipeline", REDIS, DJANGO_CACHE, "memcached"):
                if kind in kinds:
                    return kind
        imported = self._project_store(receiver)
        if imported is not None:
            return imported
        last = name.rsplit(".", 1)[-1]
        if _locks.looks_like_redis_name(last):
            return REDIS
        if _locks.looks_like_memcached_name(last):
            return "memcached"
        if function is not None and self._used_as_redis(name, function):
            return REDIS  # ``from worker import conn`` ... ``conn.set(key, 1, ex=3600)``
        return None

    def _project_store(self, receiver: cst.BaseExpression) -> Optional[str]:
        """``from reportsvc.ext import cache`` where ``cache = Cache(...)`` (Flask-Caching) or
        ``redis_client = Redis(...)`` in that module: the kind the project's summary gives."""
        project = self.ctx.project
        qualified = self.qualified_name(receiver) if isinstance(receiver, (cst.Name, cst.Attribute)) else None
        if project is None or qualified is None or "." not in qualified:
            return None
        built = project.built_by(qualified)
        if not built:
            return None
        if _locks.is_redis_client_constructor(built):
            return REDIS
        if built in _locks.DJANGO_CACHES or built in _locks.CACHE_CONSTRUCTORS:
            return DJANGO_CACHE
        if built in _locks.MEMCACHED_CLIENT_CONSTRUCTORS:
            return "memcached"
        return None

    def _used_as_redis(self, name: str, function: cst.FunctionDef) -> bool:
        """Whether ``function`` calls ``name`` with redis-py's own signature: ``set``
        with an expiry or ``nx``, or a command only redis has (``setex``, ``expire``...).
        For a client whose origin is out of sight (imported from a project module)."""
        key = (id(function), name)
        known = self._redis_usage.get(key)
        if known is not None:
            return known
        found = False
        for node in iter_nodes(function.body):
            if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
                continue
            if dotted_name(node.func.value) != name:
                continue
            method = node.func.attr.value
            if method in _locks.REDIS_ONLY_METHODS or (
                method == "set"
                and any(a.keyword is not None and a.keyword.value in _REDIS_SET_FLAGS for a in node.args)
            ):
                found = True
                break
        self._redis_usage[key] = found
        return found

    def is_path(self, receiver: cst.BaseExpression, stack: Sequence[cst.CSTNode]) -> bool:
        """A ``pathlib.Path`` (built here, or bound to one: ``MARKER = Path(...)``)."""
        if not isinstance(receiver, (cst.Name, cst.Attribute)):
            return False
        function = next((n for n in reversed(stack) if isinstance(n, cst.FunctionDef)), None)
        scope = self.table.scope_of(function) if function is not None else self.table.module_scope
        if scope is None:
            return False
        return any(a.kind == "path" for a in self.table.kinds(receiver, scope, self._kinds))

    @property
    def module_functions(self) -> Mapping[str, cst.FunctionDef]:
        """This module's top-level functions by name (helpers OPS402 may follow by name)."""
        if self._module_functions is None:
            self._module_functions = module_functions(self.ctx.module)
        return self._module_functions

    def text(self, node: cst.CSTNode) -> str:
        return "".join(self.edits.code(node).split())

    def short(self, node: cst.CSTNode) -> str:
        lines = self.edits.code(node).strip().splitlines()
        code = lines[0].split("  #", 1)[0].rstrip() + (" ...)" if len(lines) > 1 else "")
        return code if len(code) <= 70 else code[:67] + "..."


#: Keywords of redis-py's ``set`` that no dict or cache ``set`` takes.
_REDIS_SET_FLAGS = _locks.REDIS_EXPIRY_KWARGS | {"nx", "xx"}


class _FunctionCheck(FunctionClaims):
    """Check-then-set shapes inside one function body."""

    def __init__(self, rule: NonAtomicLock, function: cst.FunctionDef, stack: Tuple[cst.CSTNode, ...]):
        super().__init__(rule, function, stack)
        self.rule: NonAtomicLock = rule
        self.reported: Set[int] = set()

    def run(self) -> None:
        self._block(_statements(self.function.body))

    def _block(self, body: Sequence[cst.BaseStatement], after: Sequence[cst.BaseStatement] = ()) -> None:
        """``after``: what runs once the block ends (a ``with`` body goes on with the statements
        that follow the ``with``: ``with Session(engine) as s:`` ... then ``return True``)."""
        for index, stmt in enumerate(body):
            if isinstance(stmt, cst.SimpleStatementLine):
                self._simple(stmt, body, index)
            elif isinstance(stmt, cst.If):
                self._if(stmt, body, index, after)
            elif isinstance(stmt, cst.While) and stmt.orelse is None:
                self._while(stmt, body, index)
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                continue
            rest = [*body[index + 1 :], *after] if isinstance(stmt, cst.With) else ()
            for child in child_blocks(stmt):
                self._block(child, rest)

    # -- statements --------------------------------------------------------------------

    def _simple(self, stmt: cst.SimpleStatementLine, body: Sequence[cst.BaseStatement], index: int) -> None:
        for small in stmt.body:
            before = dict(self.assigned)
            self.note_statement(small, Read)
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
            ):
                name = small.targets[0].target.value
                read = self._read_of(small.value)
                if read is not None and (read.kind != "orm-attr" or not isinstance(read.call, cst.Attribute)):
                    # (``busy = printer.busy`` is a copy of an attribute of an object in hand;
                    # ``busy = ....values_list("busy", flat=True).get(...)`` is a read of the row)
                    self.assigned[name] = read
                elif name not in self.assigned or self.assigned[name] is before.get(name):
                    # Not a read, unless the statement fed one: ``row = conn.execute("SELECT
                    # locked_by ...").fetchone()`` (``note_statement`` bound it just now).
                    self.assigned.pop(name, None)
            call = None
            if isinstance(small, cst.Expr):
                call = unwrap(small.value)
            elif isinstance(small, cst.Assign):
                call = unwrap(small.value)
            if isinstance(call, cst.Call) and _sets_if_absent(call):
                self._setnx_then_expire(call, body, index + 1, None)

    def _if(
        self, stmt: cst.If, body: Sequence[cst.BaseStatement], index: int, after: Sequence[cst.BaseStatement] = ()
    ) -> None:
        test = unwrap(stmt.test)
        if isinstance(test, cst.Call) and _sets_if_absent(test):
            self._setnx_then_expire(test, _statements(stmt.body), 0, stmt)
            return
        negated = unwrap(_strip_not(test)) if test is not _strip_not(test) else None
        if isinstance(negated, cst.Call) and _sets_if_absent(negated):
            # ``if not r.setnx(k, v): return`` then ``r.expire(k, ttl)``.
            if stmt.orelse is None and always_exits(stmt.body, self.rule.ctx.imports):
                self._setnx_then_expire(negated, body, index + 1, None)
            return
        for read in self._reads_in(stmt.test):
            free = self._free_when_true(stmt.test, read)
            if free is None:
                continue
            if free:
                region: Sequence[cst.BaseStatement] = _statements(stmt.body)
                guard = False
            elif isinstance(stmt.orelse, cst.Else):
                region = _statements(stmt.orelse.body)
                guard = False
            elif stmt.orelse is None and always_exits(stmt.body, self.rule.ctx.imports):
                region = [*body[index + 1 :], *after]
                guard = True
            else:
                continue
            write = self._find_write(read, region)
            if write is None:
                continue
            self._report(stmt, read, write, region, guard, free)
            return

    def _while(self, stmt: cst.While, body: Sequence[cst.BaseStatement], index: int) -> None:
        """``while r.get(key): sleep(1)`` then ``r.set(key, ...)``: a spin-wait that claims after the check."""
        for read in self._reads_in(stmt.test):
            if self._free_when_true(stmt.test, read) is not False:
                continue
            region = body[index + 1 :]
            write = self._find_write(read, region)
            if write is not None:
                self._report(stmt, read, write, region, True, False)
                return

    # -- setnx + expire --------------------------------------------------------------------

    def _setnx_then_expire(
        self, call: cst.Call, body: Sequence[cst.BaseStatement], start: int, holder: Optional[cst.If]
    ) -> None:
        rule = self.rule
        func = call.func
        assert isinstance(func, cst.Attribute)
        if len(call.args) < 2 or rule.store_kind(func.value, self.stack) not in (REDIS, "pipeline"):
            return
        if rule.store_kind(func.value, self.stack) == "pipeline":
            return
        receiver = rule.text(func.value)
        key = rule.text(call.args[0].value)
        for position in range(start, min(start + 3, len(body))):
            stmt = body[position]
            expr = _single_expr(stmt)
            if not (
                isinstance(expr, cst.Call)
                and isinstance(expr.func, cst.Attribute)
                and expr.func.attr.value in ("expire", "pexpire")
                and rule.text(expr.func.value) == receiver
                and len(expr.args) >= 2
                and rule.text(expr.args[0].value) == key
            ):
                continue
            fix = PendingFix.suggestion(SUGGEST_SETNX)
            if (
                holder is not None
                and position == 0
                and unwrap(holder.test) is call
                and expr.func.attr.value == "expire"
            ):
                fix = self._setnx_fix(holder, call, expr) or fix
            self._emit(call, "setnx:" + self.rule.short(call), self.rule.short(expr), fix)
            return

    def _setnx_fix(self, holder: cst.If, setnx: cst.Call, expire: cst.Call) -> Optional[PendingFix]:
        if isinstance(holder.test, cst.Await):
            return None
        if not isinstance(holder.body, cst.IndentedBlock) or any(a.keyword is not None or a.star for a in setnx.args):
            return None
        new_call = setnx.with_changes(
            func=cst.ensure_type(setnx.func, cst.Attribute).with_changes(attr=cst.Name("set")),
            args=[
                *setnx.args[:2],
                *_kwargs([("nx", cst.Name("True")), ("ex", expire.args[1].value)]),
            ],
        )
        new_call = _normalise_commas(new_call)
        return self._replace_if(
            holder, new_call, drop_first=True, negate=False, title="Claim with one `SET NX EX` command"
        )

    # -- reporting -------------------------------------------------------------------------

    def _emit(self, node: cst.CSTNode, read: str, write: str, fix: Optional[PendingFix]) -> None:
        if id(node) in self.reported:
            return
        self.reported.add(id(node))
        why = (
            "a crash in between leaves a lock that never expires"
            if read.startswith("setnx")
            else "two workers can both see it free"
        )
        self.rule.report(node, read=read.split("setnx:", 1)[-1], write=write, why=why, fix=fix)

    def _report(
        self,
        stmt: _Loop,
        read: Read,
        write: cst.CSTNode,
        region: Sequence[cst.BaseStatement],
        guard: bool,
        free: bool,
    ) -> None:
        markers = self.markers
        if "held" in markers or self.rule.callers_serialise(self.function):
            return
        if read.kind in ("orm-attr", "orm-exists", "orm-method", "sql", "sql-core") and markers & {
            "row-lock",
            "unique",
        }:
            return
        if read.kind in (REDIS,) and ("redis-atomic" in markers or "row-lock" in markers):
            return
        if not self.is_claim(read, write, region):
            return  # written and left (a lockout, a status update) or a cache fill: not a claim
        rule = self.rule
        write_text = rule.short(write)
        method = write.func.attr.value if isinstance(write, cst.Call) and isinstance(write.func, cst.Attribute) else ""
        if read.kind == REDIS and method in ("incr", "incrby"):
            fix = PendingFix.suggestion(SUGGEST_REDIS_SLOT)
        elif read.kind == REDIS and read.method == "mget":
            fix = PendingFix.suggestion(SUGGEST_REDIS_MANY)
        elif read.kind == REDIS:
            fix = self._redis_fix(stmt, read, write, region, guard, free) or PendingFix.suggestion(SUGGEST_REDIS)
        else:
            fix = PendingFix.suggestion(SUGGESTIONS.get(read.kind, SUGGEST_ORM))
        # A fetched SQL flag is reported where it is tested (the read spans an execute and a fetch).
        at = stmt.test if read.kind == "sql" else read.call
        self._emit(at, rule.short(at), write_text, fix)

    def _redis_fix(
        self,
        stmt: _Loop,
        read: Read,
        write: cst.CSTNode,
        region: Sequence[cst.BaseStatement],
        guard: bool,
        free: bool,
    ) -> Optional[PendingFix]:
        """``if not r.get(k): r.set(k, v)`` -> ``if r.set(k, v, nx=True, ex=ttl):`` when nothing else changes."""
        if read.method not in ("get", "exists") or not isinstance(write, cst.Call):
            return None
        if not guard and not free:
            return None  # the claim sits in the `else:` branch
        if not isinstance(read.call, cst.Call) or len(read.call.args) != 1:
            return None
        test = stmt.test
        awaited = isinstance(_unwrap_not(test), cst.Await) or _contains_await(test)
        core = _strip_not(test)
        negated = core is not test
        if isinstance(core, cst.Await):
            core = core.expression
        exact = core is read.call or (
            isinstance(core, cst.Comparison)
            and core.left is read.call
            and len(core.comparisons) == 1
            and self._simple_free_comparison(core, read)
        )
        if not exact:
            return None
        if not region or _single_expr(region[0]) is None:
            return None
        first = _single_expr(region[0])
        if unwrap(first) is not write or (isinstance(first, cst.Await) != awaited):  # type: ignore[arg-type]
            return None
        new_set = self._atomic_set(write)
        if new_set is None:
            return None
        if awaited:
            new_expr: cst.BaseExpression = cst.Await(expression=new_set)
        else:
            new_expr = new_set
        if guard:
            if negated or stmt.orelse is not None:
                return None
            return self._guard_fix(stmt, new_expr, region[0])
        if not isinstance(stmt, cst.If) or isinstance(stmt.orelse, cst.If):
            return None
        return self._replace_if(
            stmt, new_expr, drop_first=True, negate=False, title="Claim with one atomic `SET NX EX`"
        )

    def _simple_free_comparison(self, comparison: cst.Comparison, read: Read) -> bool:
        target = comparison.comparisons[0]
        right = target.comparator
        if isinstance(target.operator, (cst.Is, cst.IsNot)):
            return isinstance(right, cst.Name) and right.value == "None" and read.method == "get"
        if isinstance(target.operator, (cst.Equal, cst.NotEqual)):
            return isinstance(right, cst.Integer) and right.value == "0" and read.method == "exists"
        return False

    def _atomic_set(self, write: cst.Call) -> Optional[cst.Call]:
        func = write.func
        if not isinstance(func, cst.Attribute) or any(a.star for a in write.args):
            return None
        method = func.attr.value
        positional = [a for a in write.args if a.keyword is None]
        keywords = [a for a in write.args if a.keyword is not None]
        if method == "set":
            if len(positional) != 2 or any(a.keyword.value not in _locks.REDIS_EXPIRY_KWARGS for a in keywords):  # type: ignore[union-attr]
                return None
            extra: List[Tuple[str, cst.BaseExpression]] = [("nx", cst.Name("True"))]
            if not keywords and self.rule.options.lock_ttl > 0:
                extra.append(("ex", cst.Integer(str(self.rule.options.lock_ttl))))
            args = [*positional, *keywords]
        elif method == "setex":
            if len(positional) != 3 or keywords:
                return None
            extra = [("nx", cst.Name("True")), ("ex", positional[1].value)]
            args = [positional[0], positional[2]]
        else:
            return None
        new = write.with_changes(func=func.with_changes(attr=cst.Name("set")), args=[*args, *_kwargs(extra)])
        return _normalise_commas(new)

    def _replace_if(
        self, stmt: cst.If, new_test: cst.BaseExpression, drop_first: bool, negate: bool, title: str
    ) -> Optional[PendingFix]:
        """Put the claim in the ``if`` test and drop the body's first statement (the old write)."""
        body = stmt.body
        if not isinstance(body, cst.IndentedBlock) or not body.body:
            return None
        edits = self.rule.edits
        dropped = body.body[0]
        if not isinstance(dropped, cst.SimpleStatementLine):
            return None
        rest = body.body[1:] if drop_first else body.body
        if not rest:
            if stmt.orelse is not None:
                return None
            # `if not r.get(k): r.set(k, v)` is just the atomic set.
            return PendingFix.unsafe(title, edits.replace_range(stmt, dropped.body[0], edits.code(new_test)))
        test = cst.UnaryOperation(operator=cst.Not(), expression=new_test) if negate else new_test
        changes: List[AnyEdit] = [edits.replace(stmt.test, test)]
        if drop_first:
            changes.append(edits.delete_lines(dropped))
        return PendingFix.unsafe(title, *changes)

    def _guard_fix(
        self, stmt: _Loop, new_expr: cst.BaseExpression, set_stmt: cst.BaseStatement
    ) -> Optional[PendingFix]:
        """``if r.get(k): return`` + ``r.set(k, v)`` -> ``if not r.set(k, v, nx=True, ex=ttl): return``."""
        edits = self.rule.edits
        if not isinstance(set_stmt, cst.SimpleStatementLine):
            return None
        new_test = cst.UnaryOperation(operator=cst.Not(), expression=new_expr)
        changes: List[AnyEdit] = [edits.replace(stmt.test, new_test), edits.delete_lines(set_stmt)]
        return PendingFix.unsafe("Claim with one atomic `SET NX EX`", *changes)


def _calls(stmt: cst.CSTNode, name: str) -> bool:
    """Whether ``stmt`` calls ``name(...)`` or ``self.name(...)`` / ``cls.name(...)``."""
    found = False

    class _Find(cst.CSTVisitor):
        def visit_Call(inner, node: cst.Call) -> None:  # noqa: N805
            nonlocal found
            func = node.func
            if isinstance(func, cst.Name) and func.value == name:
                found = True
            elif (
                isinstance(func, cst.Attribute)
                and func.attr.value == name
                and isinstance(func.value, cst.Name)
                and func.value.value in ("self", "cls")
            ):
                found = True

    walk(stmt, _Find())
    return found


def _sets_if_absent(call: cst.Call) -> bool:
    """``setnx(k, v)``, or ``set(k, v, nx=True)`` without an expiry (one is set after it)."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    if func.attr.value == "setnx":
        return True
    if func.attr.value != "set":
        return False
    nx = next((a for a in call.args if a.keyword is not None and a.keyword.value == "nx"), None)
    if nx is None or not (isinstance(nx.value, cst.Name) and nx.value.value == "True"):
        return False
    return not any(a.keyword is not None and a.keyword.value in _locks.REDIS_EXPIRY_KWARGS for a in call.args)


def _single_expr(stmt: cst.BaseStatement) -> Optional[cst.BaseExpression]:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr):
        return stmt.body[0].value
    return None


def _strip_not(test: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return test.expression
    return test


def _unwrap_not(test: cst.BaseExpression) -> cst.BaseExpression:
    return _strip_not(test)


def _contains_await(test: cst.BaseExpression) -> bool:
    core = _strip_not(test)
    if isinstance(core, cst.Comparison):
        return isinstance(core.left, cst.Await)
    return isinstance(core, cst.Await)


def _kwargs(pairs: Sequence[Tuple[str, cst.BaseExpression]]) -> List[cst.Arg]:
    return [
        cst.Arg(
            value=value,
            keyword=cst.Name(name),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
            ),
        )
        for name, value in pairs
    ]


def _normalise_commas(call: cst.Call) -> cst.Call:
    """One-line argument list: ``a, b, nx=True`` (the original trailing comma is dropped)."""
    args = list(call.args)
    out = []
    for index, arg in enumerate(args):
        arg = arg.with_changes(whitespace_after_arg=cst.SimpleWhitespace(""))
        if index < len(args) - 1:
            out.append(arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
        else:
            out.append(arg.with_changes(comma=cst.MaybeSentinel.DEFAULT))
    return call.with_changes(args=out, whitespace_before_args=cst.SimpleWhitespace(""))
