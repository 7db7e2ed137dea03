"""OPS402: a lock or "in use" flag claimed by check-then-set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from opslint.analysis.scopes import BindingTable, Scope
from opslint.config import option
from opslint.rule import AnyEdit, PendingFix, Rule, keyword
from opslint.rules import _locks
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import always_exits, child_blocks
from opslint.syntax.walk import walk

if TYPE_CHECKING:
    from opslint.context import FileContext

_Loop = Union[cst.If, cst.While]
#: Calls that never return (Flask's ``abort`` raises an HTTPException).
_REDIS = "redis"
#: Project helpers that lock what they return or take a lock (the check that follows is then serialised).
_LOCKING_HELPER = re.compile(
    r"for_update|^_?(?:lock|acquire)(?:_(?!key|name|path|id)|$)|_locked_(?!at|by)", re.IGNORECASE
)
_DJANGO_CACHE = "django-cache"

_SUGGEST_ORM = (
    "Claim the row atomically: a conditional UPDATE that checks the row count "
    "(`Model.objects.filter(pk=pk, in_use=False).update(in_use=True)`, SQLAlchemy "
    "`update(Model).where(Model.id == pk, Model.in_use.is_(False))` + `rowcount`), or lock it first "
    "(`select_for_update()` inside `transaction.atomic()`, `with_for_update()`), or take a Postgres "
    "advisory lock (`pg_try_advisory_xact_lock`)"
)
_SUGGEST_REDIS = "Claim with one atomic command: `if r.set(key, value, nx=True, ex=ttl):` (or use `r.lock(...)`)"
_SUGGEST_CACHE = "Claim with `cache.add(key, value, timeout)`: it only sets a missing key and returns whether it did"
_SUGGEST_SETNX = "Use one command so the key can never live without a TTL: `r.set(key, value, nx=True, ex=ttl)`"
_SUGGEST_FILE = "Create the lock file atomically: `os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)`"

#: Redis reads that return None/0 when the key is free.
_NONE_WHEN_FREE = frozenset({"get", "hget"})


@dataclass(frozen=True)
class _Read:
    """A check of a lock's state: what resource, through what kind of store."""

    kind: str  # "redis", "django-cache", "orm-attr", "orm-exists", "file"
    call: cst.CSTNode  # the read expression (for messages)
    receiver: str  # normalised text of the client / object
    key: str  # normalised key / field
    method: str  # read method or field name
    #: For filter(...).exists(): field -> value text of the filter.
    fields: Tuple[Tuple[str, str], ...] = ()


def _unwrap(expr: cst.BaseExpression) -> cst.BaseExpression:
    while True:
        if isinstance(expr, cst.Await):
            expr = expr.expression
        elif isinstance(expr, cst.Call) and dotted_name(expr.func) == "bool" and len(expr.args) == 1:
            expr = expr.args[0].value
        else:
            return expr


def _is_falsy_literal(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Name):
        return expr.value in ("None", "False")
    if isinstance(expr, cst.Integer):
        return expr.value == "0"
    if isinstance(expr, cst.SimpleString):
        return expr.evaluated_value in ("", "0", b"", b"0")
    return False


def _statements(block: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    return block.body if isinstance(block, cst.IndentedBlock) else ()


class _StoreKinds:
    """What a receiver is, for OPS402: ``redis``, ``django-cache``, ``pipeline`` or ``other``."""

    def __init__(self, rule: NonAtomicLock) -> None:
        self.rule = rule

    def of_value(self, value: cst.BaseExpression, scope: Scope) -> Optional[str]:
        kind = self.rule._value_kind(value)
        return kind if kind != "other" or isinstance(_unwrap(value), cst.Call) else None

    def of_annotation(self, annotation: cst.BaseExpression, scope: Scope) -> Optional[str]:
        return _REDIS if _locks.is_redis_client_constructor(self.rule.qualified_name(annotation)) else None


class NonAtomicLock(Rule):
    """A lock or "in use" flag claimed by check-then-set.

    ## What it does
    Checks for a lock, "in use" flag or claim status that is read and then
    written as two steps: a redis `get`/`exists`/`hget`/`sismember` followed by
    `set`/`hset`/`sadd` on the same key, `setnx` followed by `expire`, an ORM
    attribute (`key.in_use`, `job.status`) tested and then assigned and saved,
    a `.filter(...).exists()` check followed by a write of the same field, or
    a lock file tested with `os.path.exists` and then created.  Code that
    locks the rows (`select_for_update`, `with_for_update`), uses a redis
    transaction, script or `Lock`, or runs under a lock is not flagged; nor
    are caches (the value stored is the data, not a flag), counters or rate
    limits.  Test modules are not checked.

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
        ".set(",
        "setex(",
        ".hset(",
        ".hmset(",
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

    def __init__(self, ctx: FileContext, options: Any) -> None:
        super().__init__(ctx, options)
        self._functions: List[Tuple[cst.FunctionDef, Tuple[cst.CSTNode, ...]]] = []
        self.table = ctx.analysis(BindingTable)
        self._kinds = _StoreKinds(self)

    # -- collecting -----------------------------------------------------------

    def _value_kind(self, value: Optional[cst.BaseExpression]) -> str:
        if value is None:
            return "other"
        value = _unwrap(value)
        if isinstance(value, cst.Call):
            qualified = self.qualified_name(value.func)
            if _locks.is_redis_client_constructor(qualified):
                return _REDIS
            if isinstance(value.func, cst.Attribute) and value.func.attr.value in ("pipeline", "transaction"):
                return "pipeline"
            if qualified in _locks.DJANGO_CACHES:
                return _DJANGO_CACHE
        if isinstance(value, cst.Subscript) and self.qualified_name(value.value) == "django.core.cache.caches":
            return _DJANGO_CACHE
        return "other"

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append((node, tuple(self.stack)))

    def leave_Module(self, original_node: cst.Module) -> None:
        if self.ctx.is_test_file:
            return
        for function, stack in self._functions:
            _FunctionCheck(self, function, stack).run()

    # -- helpers for the per-function check ------------------------------------------

    def store_kind(self, receiver: cst.BaseExpression, stack: Sequence[cst.CSTNode]) -> Optional[str]:
        """``"redis"``, ``"django-cache"``, ``"pipeline"`` or None for the receiver of a read/write."""
        qualified = self.qualified_name(receiver)
        if qualified in _locks.DJANGO_CACHES:
            return _DJANGO_CACHE
        if isinstance(receiver, cst.Subscript):
            if self.qualified_name(receiver.value) == "django.core.cache.caches":
                return _DJANGO_CACHE
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
            for kind in ("pipeline", _REDIS, _DJANGO_CACHE):
                if kind in kinds:
                    return kind
        if _locks.looks_like_redis_name(name.rsplit(".", 1)[-1]):
            return _REDIS
        return None

    def text(self, node: cst.CSTNode) -> str:
        return "".join(self.edits.code(node).split())

    def short(self, node: cst.CSTNode) -> str:
        lines = self.edits.code(node).strip().splitlines()
        code = lines[0].split("  #", 1)[0].rstrip() + (" ...)" if len(lines) > 1 else "")
        return code if len(code) <= 70 else code[:67] + "..."


class _FunctionCheck:
    """Check-then-set shapes inside one function body."""

    def __init__(self, rule: NonAtomicLock, function: cst.FunctionDef, stack: Tuple[cst.CSTNode, ...]):
        self.rule = rule
        self.function = function
        self.stack = stack + (function,)
        self._marker_cache: Optional[Set[str]] = None
        #: name -> read assigned to it (``current = r.get(key)``).
        self.assigned: Dict[str, _Read] = {}
        self.reported: Set[int] = set()

    # -- whole-function facts ------------------------------------------------------

    def _markers(self) -> Set[str]:
        """What makes the function's check-then-set safe: row locks, redis transactions, held locks."""
        found: Set[str] = set()
        rule = self.rule

        class _Scan(cst.CSTVisitor):
            def on_visit(inner, node: cst.CSTNode) -> bool:  # noqa: N805
                if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and node is not self.function:
                    return False
                if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                    method = node.func.attr.value
                    if method in _locks.ORM_ROW_LOCK_METHODS:
                        found.add("row-lock")
                    if method in _locks.REDIS_ATOMIC_CONTEXT_METHODS:
                        found.add("redis-atomic")
                    if method in _locks.ACQUIRE_METHODS:
                        found.add("held")
                if isinstance(node, cst.Call):
                    callee = dotted_name(node.func) or ""
                    if _LOCKING_HELPER.search(callee.rsplit(".", 1)[-1]):
                        found.add("held")  # get_job_for_update(...), lock_account(...), acquire_key(...)
                if isinstance(node, (cst.SimpleString, cst.FormattedStringText)):
                    lowered = node.value.lower()
                    if any(marker in lowered for marker in _locks.SQL_LOCK_MARKERS):
                        found.add("row-lock")
                if isinstance(node, cst.WithItem):
                    head = _unwrap_call(_unwrap(node.item))
                    name = dotted_name(head) or ""
                    if (
                        name not in ("open", "io.open")
                        and (
                            _locks.lockish_text(name.rsplit(".", 1)[-1])
                            or _locks.looks_like_lock_name(name.rsplit(".", 1)[-1])
                        )
                    ) or rule.qualified_name(head) in _locks.LOCK_CONSTRUCTORS:
                        found.add("held")
                return True

        walk(self.function.body, _Scan())
        for decorator in self.function.decorators:
            if _locks.lockish_text(rule.edits.code(decorator.decorator)):
                found.add("held")
        return found

    # -- walking ------------------------------------------------------------------------

    @property
    def markers(self) -> Set[str]:
        """Computed on the first candidate only (most functions have none)."""
        if self._marker_cache is None:
            self._marker_cache = self._markers()
        return self._marker_cache

    def run(self) -> None:
        self._block(_statements(self.function.body))

    def _block(self, body: Sequence[cst.BaseStatement]) -> None:
        for index, stmt in enumerate(body):
            if isinstance(stmt, cst.SimpleStatementLine):
                self._simple(stmt, body, index)
            elif isinstance(stmt, cst.If):
                self._if(stmt, body, index)
            elif isinstance(stmt, cst.While) and stmt.orelse is None:
                self._while(stmt, body, index)
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                continue
            for child in child_blocks(stmt):
                self._block(child)

    # -- reads -----------------------------------------------------------------------------

    def _read_of(self, expr: cst.BaseExpression) -> Optional[_Read]:
        """A lock-state read: redis/cache get, ORM flag attribute, exists(), os.path.exists."""
        expr = _unwrap(expr)
        rule = self.rule
        if isinstance(expr, cst.Name):
            return self.assigned.get(expr.value)
        if isinstance(expr, cst.Attribute):
            field = expr.attr.value
            if isinstance(expr.value, (cst.Name, cst.Attribute)) and dotted_name(expr.value) is not None:
                if _locks.is_orm_flag_field(field) or field in _locks.STATUS_FIELDS:
                    return _Read("orm-attr", expr, rule.text(expr.value), field, field)
            return None
        if not isinstance(expr, cst.Call):
            return None
        if rule.qualified_name(expr.func) in ("os.path.exists", "os.path.isfile", "os.path.lexists"):
            if expr.args:
                return _Read("file", expr, "", rule.text(expr.args[0].value), "exists")
            return None
        if not isinstance(expr.func, cst.Attribute):
            return None
        method = expr.func.attr.value
        receiver = expr.func.value
        if method in ("exists", "count", "first") and not expr.args:
            fields = self._filter_fields(receiver)
            if fields:
                return _Read("orm-exists", expr, rule.text(receiver), "", method, fields)
            if method == "exists" and isinstance(receiver, (cst.Name, cst.Attribute, cst.Call)):
                text = rule.text(receiver)
                if _locks.lockish_text(text) and "path" in text.lower() or text.lower().endswith("lock_file"):
                    return _Read("file", expr, "", text, "exists")
            return None
        if method in _locks.REDIS_READ_METHODS and expr.args:
            kind = rule.store_kind(receiver, self.stack)
            if kind in (_REDIS, _DJANGO_CACHE) and not (kind == _DJANGO_CACHE and method != "get"):
                key = rule.text(expr.args[0].value)
                if method in ("hget", "hexists", "sismember", "getbit") and len(expr.args) > 1:
                    key += "|" + rule.text(expr.args[1].value)
                return _Read(kind, expr, rule.text(receiver), key, method)
        return None

    def _filter_fields(self, receiver: cst.BaseExpression) -> Tuple[Tuple[str, str], ...]:
        """Keyword filters of a queryset chain (``M.objects.filter(key=k, in_use=True)``)."""
        fields: List[Tuple[str, str]] = []
        node = receiver
        seen_objects = False
        while isinstance(node, (cst.Call, cst.Attribute)):
            if isinstance(node, cst.Call):
                func = node.func
                if isinstance(func, cst.Attribute) and func.attr.value in ("filter", "filter_by", "exclude"):
                    if func.attr.value == "exclude":
                        return ()
                    for arg in node.args:
                        if arg.keyword is not None:
                            fields.append((arg.keyword.value.split("__")[0], self.rule.text(arg.value)))
                node = func
            else:
                if node.attr.value in ("objects", "query"):
                    seen_objects = True
                node = node.value
        return tuple(fields) if seen_objects else ()

    def _free_when_true(self, test: cst.BaseExpression, read: _Read) -> Optional[bool]:
        """Whether ``test`` is true exactly when the lock is free (None: cannot tell)."""
        test = _unwrap(test)
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            inner = self._free_when_true(test.expression, read)
            return None if inner is None else not inner
        if isinstance(test, cst.BooleanOperation):
            left_side = self._free_when_true(test.left, read) if self._contains(test.left, read) else None
            right_side = self._free_when_true(test.right, read) if self._contains(test.right, read) else None
            side = left_side if left_side is not None else right_side
            # `if obj and obj.locked: return` guards like `if obj.locked:`; `if not x.in_use or force:`
            # enters the body when it is free: the claim region is the same either way.
            return side
        if isinstance(test, cst.Comparison):
            if len(test.comparisons) != 1 or not self._is_read(test.left, read):
                return None
            target = test.comparisons[0]
            operator = target.operator
            right = target.comparator
            if read.kind == "orm-attr":
                return self._status_polarity(operator, right, read)
            if isinstance(operator, (cst.Is, cst.Equal)):
                return _is_falsy_literal(right)
            if isinstance(operator, (cst.IsNot, cst.NotEqual)):
                return not _is_falsy_literal(right)
            if isinstance(operator, (cst.In, cst.NotIn)) and isinstance(right, (cst.Tuple, cst.List, cst.Set)):
                has_free = any(_is_falsy_literal(e.value) for e in right.elements)
                if not has_free:
                    return None
                return isinstance(operator, cst.In)
            if isinstance(operator, (cst.GreaterThan, cst.GreaterThanEqual)):
                return False
            if isinstance(operator, cst.LessThan) and isinstance(right, cst.Integer) and right.value == "1":
                return True
            return None
        if self._is_read(test, read):
            if read.kind == "orm-attr":
                if read.key in _locks.STATUS_FIELDS:
                    return None
                return _locks.is_inverted_flag(read.key)
            if read.kind == "orm-exists" and read.method == "first":
                return False
            return False
        return None

    def _status_polarity(self, operator: cst.BaseCompOp, right: cst.BaseExpression, read: _Read) -> Optional[bool]:
        text = self.rule.edits.code(right)
        if read.key not in _locks.STATUS_FIELDS:
            # flag compared with a literal: `key.in_use == False`, `lock.owner is None`
            if isinstance(operator, (cst.Is, cst.Equal)):
                free = _is_falsy_literal(right)
            elif isinstance(operator, (cst.IsNot, cst.NotEqual)):
                free = not _is_falsy_literal(right)
            else:
                return None
            return free != _locks.is_inverted_flag(read.key)
        busy = _locks.is_busy_status(text)
        if isinstance(operator, (cst.Equal, cst.Is, cst.In)):
            return not busy
        if isinstance(operator, (cst.NotEqual, cst.IsNot, cst.NotIn)):
            return busy
        return None

    def _is_read(self, expr: cst.BaseExpression, read: _Read) -> bool:
        return _unwrap(expr) is read.call or (
            isinstance(_unwrap(expr), cst.Name) and self.assigned.get(_unwrap(expr).value) is read  # type: ignore[attr-defined]
        )

    def _contains(self, expr: cst.BaseExpression, read: _Read) -> bool:
        found = False

        class _Find(cst.CSTVisitor):
            def on_visit(inner, node: cst.CSTNode) -> bool:  # noqa: N805
                nonlocal found
                if node is read.call or (isinstance(node, cst.Name) and self.assigned.get(node.value) is read):
                    found = True
                return not found

        walk(expr, _Find())
        return found

    def _reads_in(self, test: cst.BaseExpression) -> List[_Read]:
        reads: List[_Read] = []
        check = self

        class _Find(cst.CSTVisitor):
            def on_visit(inner, node: cst.CSTNode) -> bool:  # noqa: N805
                if isinstance(node, (cst.Lambda, cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)):
                    return False
                if isinstance(node, cst.BaseExpression):
                    read = check._read_of(node)
                    if read is not None and read not in reads:
                        reads.append(read)
                        return False
                return True

        walk(test, _Find())
        return reads

    # -- statements --------------------------------------------------------------------

    def _simple(self, stmt: cst.SimpleStatementLine, body: Sequence[cst.BaseStatement], index: int) -> None:
        for small in stmt.body:
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
            ):
                name = small.targets[0].target.value
                read = self._read_of(small.value)
                if read is not None and read.kind not in ("orm-attr",):
                    self.assigned[name] = read
                else:
                    self.assigned.pop(name, None)
            call = None
            if isinstance(small, cst.Expr):
                call = _unwrap(small.value)
            elif isinstance(small, cst.Assign):
                call = _unwrap(small.value)
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "setnx":
                self._setnx_then_expire(call, body, index + 1, None)

    def _if(self, stmt: cst.If, body: Sequence[cst.BaseStatement], index: int) -> None:
        test = _unwrap(stmt.test)
        if isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute) and test.func.attr.value == "setnx":
            self._setnx_then_expire(test, _statements(stmt.body), 0, stmt)
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
                region = body[index + 1 :]
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

    # -- writes ----------------------------------------------------------------------------

    def _find_write(self, read: _Read, region: Sequence[cst.BaseStatement]) -> Optional[cst.CSTNode]:
        """The write that claims what ``read`` checked, in the statements that run when it was free."""
        check = self
        result: List[cst.CSTNode] = []
        saved = [False]

        class _Find(cst.CSTVisitor):
            def on_visit(inner, node: cst.CSTNode) -> bool:  # noqa: N805
                if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                    return False
                if result and read.kind != "orm-attr":
                    return False
                if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
                    if read.kind in (_REDIS, _DJANGO_CACHE):
                        if check._redis_write(node, read):
                            result.append(node)
                            return False
                    elif read.kind == "orm-exists":
                        if check._orm_exists_write(node, read):
                            result.append(node)
                            return False
                    elif read.kind == "orm-attr" and result and check._is_save(node, read.receiver):
                        saved[0] = True
                    elif read.kind == "file" and check._file_write(node, read):
                        result.append(node)
                        return False
                if isinstance(node, cst.Call) and read.kind == "file" and check._file_write(node, read):
                    result.append(node)
                    return False
                if isinstance(node, cst.Assign) and read.kind in ("orm-attr", "orm-exists") and not result:
                    for target in node.targets:
                        if check._claims_attribute(target.target, node.value, read):
                            result.append(node)
                return True

        for stmt in region:
            walk(stmt, _Find())
            if result and read.kind != "orm-attr":
                break
        if not result:
            return None
        if read.kind in ("orm-attr", "orm-exists") and isinstance(result[0], cst.Assign):
            if read.kind == "orm-attr" and not saved[0]:
                return None
            if read.kind == "orm-exists" and not self._saved_after(region):
                return None
        return result[0]

    def _saved_after(self, region: Sequence[cst.BaseStatement]) -> bool:
        found = False
        check = self

        class _Find(cst.CSTVisitor):
            def visit_Call(inner, node: cst.Call) -> None:  # noqa: N805
                nonlocal found
                if check._is_save(node, None):
                    found = True

        for stmt in region:
            walk(stmt, _Find())
        return found

    def _is_save(self, call: cst.Call, obj: Optional[str]) -> bool:
        """``obj.save()`` of the claimed object, or a session/connection ``commit()``/``flush()``."""
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in _locks.ORM_SAVE_METHODS:
            return False
        receiver = self.rule.text(func.value)
        if func.attr.value in ("save", "asave", "save_changes"):
            return obj is None or receiver == obj
        last = receiver.rsplit(".", 1)[-1].lower()
        return any(word in last for word in ("session", "db", "conn", "transaction", "uow", "tx")) or last == "s"

    def _redis_write(self, call: cst.Call, read: _Read) -> bool:
        rule = self.rule
        func = call.func
        assert isinstance(func, cst.Attribute)
        method = func.attr.value
        writes = _locks.REDIS_CLAIM_WRITES.get(read.method, frozenset())
        if read.kind == _DJANGO_CACHE:
            writes = frozenset({"set"})
        if method not in writes or not call.args:
            return False
        if rule.text(func.value) != read.receiver:
            return False
        key = rule.text(call.args[0].value)
        if read.method in ("hget", "hexists", "sismember", "getbit"):
            if len(call.args) < 2:
                return False
            key += "|" + rule.text(call.args[1].value)
        if key != read.key:
            return False
        if any(keyword(call, k) is not None for k in _locks.REDIS_CONDITIONAL_SET_KWARGS):
            return False
        return self._claim_like(call, read)

    def _claim_like(self, call: cst.Call, read: _Read) -> bool:
        """A lock/flag rather than a cache or a counter."""
        described = self._describe_key(call.args[0].value)
        if _locks.lockish_text(described) and not _locks.is_not_a_claim_key(described):
            return True
        if _locks.is_not_a_claim_key(described):
            return False
        if self._deleted_later(read):
            return True
        value_index = 2 if call.func.attr.value in ("setex", "psetex") else 1  # type: ignore[attr-defined]
        if read.method in ("hget", "hexists"):
            value_index = 2
        if read.method == "sismember":
            return False
        if len(call.args) <= value_index:
            return False
        value = call.args[value_index].value
        if _locks.is_flag_value(self.rule.edits.code(value)):
            return True
        if isinstance(value, cst.Call) and self.rule.qualified_name(value.func) in _locks.LOCK_TOKEN_CALLS:
            return True
        return False

    def _describe_key(self, key: cst.BaseExpression) -> str:
        """The key's text, plus what a local variable key was assigned (``key = f"lock:{id}"``)."""
        described = [self.rule.edits.code(key)]
        head = key.func if isinstance(key, cst.Call) else key
        if isinstance(head, cst.Name):
            name = head.value
            rule = self.rule

            class _Find(cst.CSTVisitor):
                def visit_Assign(inner, node: cst.Assign) -> None:  # noqa: N805
                    for target in node.targets:
                        if isinstance(target.target, cst.Name) and target.target.value == name:
                            described.append(rule.edits.code(node.value))

                def visit_FunctionDef(inner, node: cst.FunctionDef) -> None:  # noqa: N805
                    if node.name.value == name:
                        described.append(rule.edits.code(node.body))

            walk(self.function.body, _Find())
            if isinstance(key, cst.Call):
                walk(self.rule.ctx.module, _Find())
        return " ".join(described)

    def _deleted_later(self, read: _Read) -> bool:
        rule = self.rule
        found = False

        class _Find(cst.CSTVisitor):
            def visit_Call(inner, node: cst.Call) -> None:  # noqa: N805
                nonlocal found
                func = node.func
                if (
                    isinstance(func, cst.Attribute)
                    and func.attr.value in ("delete", "unlink", "hdel", "srem")
                    and rule.text(func.value) == read.receiver
                    and node.args
                    and rule.text(node.args[0].value) == read.key.split("|")[0]
                ):
                    found = True

        walk(self.function.body, _Find())
        return found

    def _claims_attribute(self, target: cst.BaseExpression, value: cst.BaseExpression, read: _Read) -> bool:
        if not isinstance(target, cst.Attribute):
            return False
        field = target.attr.value
        value_text = self.rule.edits.code(value)
        if read.kind == "orm-attr":
            if self.rule.text(target.value) != read.receiver or field != read.key:
                return False
        else:
            filters = dict(read.fields)
            if field not in filters:
                return False
            if field in _locks.STATUS_FIELDS and filters[field] != self.rule.text(value):
                return False  # "if nobody is X, make this one X": the value must be the one looked for
        if field in _locks.STATUS_FIELDS:
            return _locks.is_busy_status(value_text)
        if not _locks.is_orm_flag_field(field):
            return False
        # Claiming sets "taken": True for in_use/locked, False for is_available.
        if isinstance(value, cst.Name) and value.value in ("True", "False", "None"):
            return (value.value == "True") != _locks.is_inverted_flag(field)
        return not _locks.is_inverted_flag(field)

    def _orm_exists_write(self, call: cst.Call, read: _Read) -> bool:
        func = call.func
        assert isinstance(func, cst.Attribute)
        method = func.attr.value
        if method not in ("update", "create", "update_or_create", "get_or_create"):
            return False
        filters = dict(read.fields)
        if method == "create" and self._creates_lock_row(func, call, read):
            return True
        guarded = dict(self._filter_fields(func.value)) if method == "update" else {}
        for arg in call.args:
            if arg.keyword is None:
                continue
            field = arg.keyword.value
            if method in ("update_or_create", "get_or_create") and field != "defaults":
                continue
            if field == "defaults" and isinstance(arg.value, cst.Dict):
                pairs = [
                    (e.key.evaluated_value, e.value)
                    for e in arg.value.elements
                    if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
                ]
            else:
                pairs = [(field, arg.value)]
            for name, value in pairs:
                if not isinstance(name, str) or name not in filters or name in guarded:
                    continue
                text = self.rule.edits.code(value)
                if (
                    name in _locks.STATUS_FIELDS
                    and _locks.is_busy_status(text)
                    and filters[name] == self.rule.text(value)
                ):
                    return True
                if _locks.is_orm_flag_field(name) and name not in _locks.STATUS_FIELDS:
                    return True
        return False

    def _creates_lock_row(self, func: cst.Attribute, call: cst.Call, read: _Read) -> bool:
        """``if not JobLock.objects.filter(name=n).exists(): JobLock.objects.create(name=n)``."""
        model = read.receiver.split(".objects", 1)[0] if ".objects" in read.receiver else ""
        if not model or self.rule.text(func.value) != f"{model}.objects" or not _locks.lockish_text(model):
            return False
        created = {arg.keyword.value for arg in call.args if arg.keyword is not None}
        if not {name for name, _ in read.fields} <= created:
            return False
        return not self._unique_in_file(model.rsplit(".", 1)[-1], [name for name, _ in read.fields])

    def _unique_in_file(self, model: str, fields: Sequence[str]) -> bool:
        """Whether this file declares the model with a unique field/constraint (then create() is a claim)."""
        for stmt in self.rule.ctx.module.body:
            if isinstance(stmt, cst.ClassDef) and stmt.name.value == model:
                code = self.rule.edits.code(stmt)
                if "unique_together" in code or "UniqueConstraint" in code or "primary_key=True" in code:
                    return True
                return any(f"{field} =" in code and "unique=True" in code for field in fields)
        return False

    def _file_write(self, call: cst.Call, read: _Read) -> bool:
        rule = self.rule
        if not _locks.lockish_text(read.key):
            return False
        if isinstance(call.func, cst.Name) and call.func.value == "open" and call.args:
            if rule.text(call.args[0].value) != read.key:
                return False
            mode_arg = call.args[1] if len(call.args) > 1 else keyword(call, "mode")
            mode = mode_arg.value if mode_arg is not None else None
            return (
                isinstance(mode, cst.SimpleString)
                and "x" not in mode.evaluated_value
                and ("w" in str(mode.evaluated_value) or "a" in str(mode.evaluated_value))
            )
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in ("touch", "write_text", "write_bytes"):
            return rule.text(call.func.value) == read.key and keyword(call, "exist_ok") is None
        return False

    # -- setnx + expire --------------------------------------------------------------------

    def _setnx_then_expire(
        self, call: cst.Call, body: Sequence[cst.BaseStatement], start: int, holder: Optional[cst.If]
    ) -> None:
        rule = self.rule
        func = call.func
        assert isinstance(func, cst.Attribute)
        if len(call.args) < 2 or rule.store_kind(func.value, self.stack) not in (_REDIS, "pipeline"):
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
            fix = PendingFix.suggestion(_SUGGEST_SETNX)
            if (
                holder is not None
                and position == 0
                and _unwrap(holder.test) is call
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
        read: _Read,
        write: cst.CSTNode,
        region: Sequence[cst.BaseStatement],
        guard: bool,
        free: bool,
    ) -> None:
        markers = self.markers
        if "held" in markers:
            return
        if read.kind in ("orm-attr", "orm-exists") and "row-lock" in markers:
            return
        if read.kind in (_REDIS,) and ("redis-atomic" in markers or "row-lock" in markers):
            return
        rule = self.rule
        write_text = rule.short(write)
        if read.kind == _REDIS:
            fix = self._redis_fix(stmt, read, write, region, guard, free) or PendingFix.suggestion(_SUGGEST_REDIS)
        elif read.kind == _DJANGO_CACHE:
            fix = PendingFix.suggestion(_SUGGEST_CACHE)
        elif read.kind == "file":
            fix = PendingFix.suggestion(_SUGGEST_FILE)
        else:
            fix = PendingFix.suggestion(_SUGGEST_ORM)
        self._emit(read.call, rule.short(read.call), write_text, fix)

    def _redis_fix(
        self,
        stmt: _Loop,
        read: _Read,
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
        if _unwrap(first) is not write or (isinstance(first, cst.Await) != awaited):  # type: ignore[arg-type]
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

    def _simple_free_comparison(self, comparison: cst.Comparison, read: _Read) -> bool:
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


def _unwrap_call(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.func if isinstance(expr, cst.Call) else expr


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
