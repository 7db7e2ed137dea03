"""More stores of check-then-set claims, for OPS402 (mixed into ``_claims.FunctionClaims``).

Each store has a read that checks a claim, the write that takes it and the write that
gives it back:

* MongoDB: ``doc = coll.find_one(...)``, ``doc.get("crawling")`` / ``doc["crawling"]``;
  ``coll.update_one(filter, {"$set": {"crawling": True}})`` with the flag not in the filter;
  given back by ``$set`` of a falsy value or ``$unset``;
* raw SQL: ``cur.execute("SELECT ..., in_use FROM t ...")`` and ``..., in_use = cur.fetchone()``;
  ``UPDATE t SET in_use = true`` whose ``WHERE`` does not test the flag; ``SET in_use = false``;
* model methods: ``key.is_free()`` / ``key.is_locked()``; ``key.mark_in_use()``; ``key.mark_free()``;
* Consul and etcd keys: ``index, data = c.kv.get(key)`` / ``value, meta = etcd.get(key)``, the
  value tested; ``c.kv.put(key, v)`` without ``cas=``/``acquire=`` / ``etcd.put(key, v)``; given
  back by ``c.kv.delete(key)`` / ``etcd.delete(key)``;
* Google Cloud Storage: ``blob = bucket.blob(name)``, ``blob.exists()``; ``blob.upload_from_string``
  (``_filename``, ``_file``) without ``if_generation_match=0``; given back by ``blob.delete()``;
* the project's helpers of a named resource: ``is_locked(name)`` / ``self.is_running(job)``, then
  ``mark_locked(name)`` / ``acquire_lock(name)``; given back by ``release_lock(name)``;
* memcached and Django cache reads beyond ``get``: ``mc.get``, ``cache.has_key(k)``, ``k in cache``;
* files through ``pathlib``: ``MARKER.exists()``; ``MARKER.write_text(...)``/``touch()``; ``unlink()``;
* DynamoDB (boto3's resource API): ``item = table.get_item(Key=...).get("Item")``, then
  ``item.get("locked")`` / ``item["locked"]`` (or ``"Item" in response``: the lock row exists);
  ``table.put_item(Item={..., "locked": True})`` or ``update_item(UpdateExpression="SET locked
  = :t")`` without a ``ConditionExpression``; given back by ``delete_item`` or a falsy ``SET``.

And for every store, :meth:`StoreClaims.is_claim`: whether a check-then-set is a claim at
all.  A claim is given back later (a delete of the key, the flag reset, a release method; for
keys anywhere in the module), or work follows it in the claimed region, or the function hands
the claim to its caller (``return True``).  A login lockout or an idempotent status update,
written and left, is not a claim; neither is a cache fill, whose stored value is data.
"""

from __future__ import annotations

import re
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import libcst as cst

from opslint.analysis.entrypoints import class_methods
from opslint.rules import _locks, _web
from opslint.syntax.names import dotted_name
from opslint.syntax.nodes import keyword
from opslint.syntax.walk import iter_nodes

_SELECT = re.compile(r"^\s*select\s+(?P<cols>.+?)\s+from\s+(?P<table>[\w.\"]+)", re.IGNORECASE | re.DOTALL)
_UPDATE = re.compile(
    r"^\s*update\s+(?P<table>[\w.\"]+)\s+set\s+(?P<sets>.+?)(?:\s+where\s+(?P<where>.+?))?\s*(?:returning\b.*)?;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_FALSY_SQL = re.compile(r"^(?:false|0|null|'f'|'0')$", re.IGNORECASE)

#: Model methods that tell whether a resource is free or taken, and those that take or give it back.
_STATE_METHOD = re.compile(
    r"^(?:is_|has_)?(?P<state>free|available|idle|unlocked|locked|busy|in_use|running|taken|claimed|leased"
    r"|reserved|occupied)$"
)
_CLAIM_METHOD = re.compile(
    r"^(?:mark_|set_)(?:as_)?(?:in_use|busy|locked|running|taken|claimed|leased|reserved|occupied)$"
    r"|^(?:lock|claim|acquire|reserve|occupy|lease|check_out|checkout)$"
)
_RELEASE_METHOD = re.compile(
    r"^(?:mark_|set_)(?:as_)?(?:free|available|idle|unlocked|done|released|not_in_use)$"
    r"|^(?:unlock|release|free|check_in|checkin|unlease)$"
)
#: ``SET a = :v, #b = :w`` of a DynamoDB update expression: (attribute, placeholder).
_DYNAMO_SET = re.compile(r"(?<![\w#])(#?\w+)\s*=\s*(:\w+)")
#: Keywords of a DynamoDB write that make it conditional (the legacy ``Expected`` too).
_DYNAMO_CONDITIONS = frozenset({"ConditionExpression", "Expected"})
#: Helpers of the project, called with the resource: those that tell whether it is taken,
#: and those that take or give it back (beyond the model method names above).
_HELPER_STATE = re.compile(r"^(?:has_lock|lock_exists|is_lock_held|lock_held|is_lock_taken|is_in_progress)$")
#: (Not ``acquire_lock(name)``, ``lock(name)``: such a helper may well be atomic, block or raise.)
_HELPER_CLAIM = re.compile(
    r"^(?:mark_|set_)(?:as_)?(?:in_use|busy|locked|running|taken|claimed|leased|reserved|occupied|in_progress"
    r"|processing)$|^(?:set|create|write)_lock(?:_key|_file)?$"
)
_HELPER_RELEASE = re.compile(r"^(?:release|drop|clear|delete|remove)_lock$|^mark_(?:as_)?(?:done|finished)$")
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
#: Calls whose result is a lock token or a flag, not data (``str(uuid4())``, ``now().isoformat()``).
_TOKEN_FUNCTIONS = frozenset(
    {
        "str",
        "int",
        "bool",
        "repr",
        "format",
        "dumps",
        "hex",
        "isoformat",
        "timestamp",
        "getpid",
        "gethostname",
        "uuid4",
        "uuid1",
        "time",
        "monotonic",
        "now",
        "utcnow",
        "encode",
    }
)
#: Words of a key that say it is a lock or a claim ("lockout", "clock" are not).
#: Names of lock, pid and marker files (a file not named so and never removed is just created).
_FILE_LOCK_WORD = re.compile(r"lock|pid|marker|sentinel|flag|running|busy|in[_-]?progress|semaphore|mutex")
_LOCK_WORD = re.compile(
    r"(?<![a-z])(?:lock|locks|locked|mutex|claim|claimed|lease|leased|owner|busy|running|processing"
    r"|in[_-]?use|in[_-]?progress|semaphore|exclusive)(?![a-z])"
)
#: Words of a key that say it is a switch an operator turns on and off (a maintenance mode,
#: a feature or read-only switch): turning it off in another function is not a release.
_SWITCH_WORD = re.compile(
    r"(?<![a-z])(?:maintenance|read[_-]?only|readonly|paused|enabled|disabled|mode|feature|switch|toggle"
    r"|kill[_-]?switch|banner)(?![a-z])"
)
#: Objects whose ``locked`` flag is a state (a locked-out user, an account, content closed to
#: edits or replies), by the last part of their name.
_STATE_HOLDER = re.compile(
    r"(?:^|_)(?:user|account|member|customer|profile|person|topic|thread|post|comment|page|article|invoice"
    r"|bill|period|survey|form|conversation|channel|room|review|submission)s?$"
)
#: Fields that record who holds a claim.
_OWNER_FIELD = re.compile(r"_by$|owner|holder|worker|host|pid|token|current_job|assignee|lessee", re.IGNORECASE)
_FREE_STATES = frozenset({"free", "available", "idle", "unlocked"})
#: Things a path to a lock or marker file is called.
_PATH_NAME = re.compile(r"path|file|marker|lock|pid|flag|sentinel|semaphore", re.IGNORECASE)
_PATH_CONSTRUCTORS = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"})
_PATH_WRITES = frozenset({"touch", "write_text", "write_bytes"})
#: A Cloud Storage blob's writes, and the keyword that makes one conditional (``if_generation_match=0``:
#: only when no object exists yet, the atomic create).
#: Keywords of Consul's ``kv.put`` that make it atomic (check-and-set, a session's lock).
_CONSUL_ATOMIC = frozenset({"cas", "acquire"})
_ETCD_CLIENTS = frozenset({"etcd3.client", "etcd3.Etcd3Client", "etcd3.MultiEndpointEtcd3Client"})
_CONSUL_CLIENTS = frozenset({"consul.Consul", "consul.base.Consul", "consul.std.Consul"})
_BLOB_WRITES = frozenset({"upload_from_string", "upload_from_filename", "upload_from_file"})
_BLOB_CONDITIONS = frozenset({"if_generation_match", "if_generation_not_match", "if_metageneration_match"})


#: What to do instead, per store: the atomic primitive of each (for the suggestion fixes of OPS402).
SUGGEST_ORM = (
    "Claim the row atomically: a conditional UPDATE that checks the row count "
    "(`Model.objects.filter(pk=pk, in_use=False).update(in_use=True)`, SQLAlchemy "
    "`update(Model).where(Model.id == pk, Model.in_use.is_(False))` + `rowcount`), or lock it first "
    "(`select_for_update()` inside `transaction.atomic()`, `with_for_update()`), or take a Postgres "
    "advisory lock (`pg_try_advisory_xact_lock`)"
)
SUGGEST_REDIS = "Claim with one atomic command: `if r.set(key, value, nx=True, ex=ttl):` (or use `r.lock(...)`)"
SUGGEST_REDIS_MANY = (
    "Claim all the keys with one atomic command: `if r.msetnx(mapping):` sets them only when none "
    "exists (then give them a TTL), or take one `r.lock(...)` over the set of keys"
)
SUGGEST_REDIS_SLOT = (
    "Take the slot with one atomic command and give it back when over the limit: "
    "`if r.incr(key) > limit: r.decr(key)` (or a Lua script, or `r.lock(...)`)"
)
SUGGEST_CACHE = "Claim with `cache.add(key, value, timeout)`: it only sets a missing key and returns whether it did"
SUGGEST_SETNX = "Use one command so the key can never live without a TTL: `r.set(key, value, nx=True, ex=ttl)`"
SUGGEST_FILE = (
    'Create the lock file atomically: `path.touch(exist_ok=False)`, `open(path, "x")` or '
    "`os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)` (each fails if it exists)"
)
#: The atomic primitive of each store, for the suggestion.
SUGGESTIONS = {
    "django-cache": SUGGEST_CACHE,
    "file": SUGGEST_FILE,
    "memcached": "Claim with `mc.add(key, value, expire=ttl)`: memcached stores a missing key only and says whether it did",
    "mongo": (
        'Claim in one conditional update: `coll.find_one_and_update({"_id": id, "<flag>": {"$ne": True}}, '
        '{"$set": {"<flag>": True}})` and proceed only when it returned a document'
    ),
    "sql": (
        "Claim in one statement: `UPDATE ... SET <flag> = true WHERE id = %s AND NOT <flag> RETURNING id` "
        "and proceed only when it returned a row (or `SELECT ... FOR UPDATE` in the transaction)"
    ),
    "sql-core": (
        "Claim in one statement: `update(table).where(table.c.id == id, table.c.<flag>.is_(False))"
        ".values(<flag>=True)` and proceed only when `result.rowcount == 1` (or select the row "
        "`with_for_update()` in the transaction)"
    ),
    "dynamodb": (
        "Claim in one conditional write: `table.put_item(Item=..., ConditionExpression="
        '"attribute_not_exists(pk)")` or `update_item(..., ConditionExpression="<flag> <> :taken")`, '
        "and treat `ConditionalCheckFailedException` as taken"
    ),
    "kv": (
        "Claim in one atomic write: Consul `c.kv.put(key, value, cas=0)` (only if absent) or a session "
        "lock (`acquire=session_id`); etcd `client.lock(name)` or a transaction comparing the key's "
        "version to 0"
    ),
    "gcs": (
        "Create the object only if none exists: `blob.upload_from_string(data, if_generation_match=0)` "
        "and treat `google.api_core.exceptions.PreconditionFailed` as taken"
    ),
    "helper": (
        "Make the helpers one atomic claim: a single call that takes the resource only if it is "
        "free and says whether it did (`SET key value NX EX ttl`, a conditional UPDATE, `cache.add`), "
        "and proceed only when it did"
    ),
    "orm-method": (
        "Claim the row atomically: a conditional UPDATE that checks the row count "
        "(`Model.objects.filter(pk=pk, in_use=False).update(in_use=True)`), or lock it first "
        "(`select_for_update()` inside `transaction.atomic()`)"
    ),
}


def _string(expr: Optional[cst.BaseExpression]) -> str:
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else ""
    if isinstance(expr, cst.ConcatenatedString):
        return _string(expr.left) + _string(expr.right)
    if isinstance(expr, cst.FormattedString):
        return "".join(p.value if isinstance(p, cst.FormattedStringText) else "?" for p in expr.parts)
    return ""


def _dict_items(expr: Optional[cst.BaseExpression]) -> Dict[str, cst.BaseExpression]:
    out: Dict[str, cst.BaseExpression] = {}
    if isinstance(expr, cst.Dict):
        for element in expr.elements:
            if isinstance(element, cst.DictElement):
                key = _string(element.key)
                if key:
                    out[key] = element.value
    return out


def _constant(expr: cst.BaseExpression) -> bool:
    """A string, number or container written out (``"default"``, ``0.5``, ``{}``)."""
    return isinstance(
        expr,
        (
            cst.SimpleString,
            cst.ConcatenatedString,
            cst.FormattedString,
            cst.Integer,
            cst.Float,
            cst.Dict,
            cst.List,
            cst.Tuple,
        ),
    ) and not (isinstance(expr, cst.Integer) and expr.value == "1")


def falsy_literal(expr: cst.BaseExpression) -> bool:
    """``None``, ``False``, ``0``, ``""`` or ``"0"`` written out."""
    if isinstance(expr, cst.Name):
        return expr.value in ("None", "False")
    if isinstance(expr, cst.Integer):
        return expr.value == "0"
    if isinstance(expr, cst.SimpleString):
        return expr.evaluated_value in ("", "0", b"", b"0")
    return False


def _columns(text: str) -> List[str]:
    return [part.strip().split()[-1].split(".")[-1].strip('"').lower() for part in text.split(",") if part.strip()]


def _assignments(text: str) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if sep:
            out[name.strip().split(".")[-1].strip('"').lower()] = value.strip()
    return out


def _is_flag(name: str) -> bool:
    return _locks.is_orm_flag_field(name) or name in _locks.STATUS_FIELDS


class StoreClaims:
    """The store-specific reads and writes (see the module docstring); mixed into
    ``FunctionClaims``, whose ``rule``, ``function`` and ``assigned`` it uses."""

    rule: Any
    function: cst.FunctionDef
    assigned: Dict[str, Any]
    stack: Tuple[cst.CSTNode, ...]

    def _init_stores(self) -> None:
        #: name -> (collection text) of ``name = coll.find_one(...)``.
        self.documents: Dict[str, str] = {}
        #: The last ``SELECT`` executed: (table, columns).
        self._selected: Optional[Tuple[str, List[str]]] = None
        #: name -> table text of ``name = table.get_item(Key=...)`` (a DynamoDB response).
        self.dynamo_responses: Dict[str, str] = {}
        #: Names in ``documents`` that hold a DynamoDB item, not a MongoDB document.
        self.dynamo_items: Set[str] = set()
        #: name -> (table, columns) of ``row = cur.fetchone()`` after a SELECT of several columns.
        self.rows: Dict[str, Tuple[str, List[str]]] = {}

    # -- statements that feed later reads ---------------------------------------------

    def note_statement(self, small: cst.BaseSmallStatement, read_type: Any) -> None:
        """Remember documents, SELECTs and fetched flags for the reads of later tests."""
        for node in iter_nodes(small):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.args:
                if node.func.attr.value in ("execute", "fetchval", "fetchrow", "fetch"):
                    match = _SELECT.match(_string(node.args[0].value))
                    if match:
                        self._selected = (match.group("table").strip('"').lower(), _columns(match.group("cols")))
        if not isinstance(small, cst.Assign) or len(small.targets) != 1:
            return
        target = small.targets[0].target
        value = small.value.expression if isinstance(small.value, cst.Await) else small.value
        if isinstance(target, cst.Name):
            self.documents.pop(target.value, None)
            self.dynamo_items.discard(target.value)
            self.dynamo_responses.pop(target.value, None)
            self.rows.pop(target.value, None)
            table = self._dynamo_response(value)
            if table is not None:
                self.dynamo_responses[target.value] = table
            table = self._dynamo_item(value)
            if table is not None:
                self.documents[target.value] = table
                self.dynamo_items.add(target.value)
                return
        if isinstance(target, cst.Tuple) and isinstance(value, cst.Call):
            kv = self._kv_get(value)
            if kv is not None:
                # ``index, data = c.kv.get(key)`` (the value second), ``value, meta = etcd.get(key)``.
                store, receiver = kv
                element = target.elements[1 if store == "consul" else 0] if len(target.elements) == 2 else None
                if element is not None and isinstance(element.value, cst.Name):
                    key = self.rule.text(value.args[0].value)
                    self.assigned[element.value.value] = read_type("kv", value, receiver, key, store)
                return
        if self._row_columns(target, value, read_type):
            return
        if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Attribute):
            return
        method = value.func.attr.value
        if method == "find_one" and isinstance(target, cst.Name):
            self.documents[target.value] = self.rule.text(value.func.value)
        fetched = method in ("fetchone", "fetchval", "fetchrow") or (
            method in ("execute", "fetchval") and value.args and _SELECT.match(_string(value.args[0].value))
        )
        if not fetched or self._selected is None:
            return
        table, columns = self._selected
        if isinstance(target, cst.Name) and method in ("fetchone", "fetchrow") and len(columns) > 1:
            # ``row = cur.fetchone()``, asyncpg ``row = await conn.fetchrow("SELECT ...")``: read later
            self.rows[target.value] = (table, columns)
            return
        names = (
            [e.value for e in target.elements]
            if isinstance(target, (cst.Tuple, cst.List))
            else [target]
            if len(columns) == 1
            else []
        )
        for position, name in enumerate(names):
            if isinstance(name, cst.Name) and position < len(columns) and _is_flag(columns[position]):
                self.assigned[name.value] = read_type("sql", name, table, columns[position], "select")

    def _row_columns(self, target: cst.BaseExpression, value: cst.BaseExpression, read_type: Any) -> bool:
        """``in_use, enabled = row`` / ``in_use = row[0]`` of a fetched row: flag reads."""
        if isinstance(value, cst.Name) and value.value in self.rows and isinstance(target, (cst.Tuple, cst.List)):
            table, columns = self.rows[value.value]
            for position, element in enumerate(target.elements):
                name = element.value
                if isinstance(name, cst.Name) and position < len(columns) and _is_flag(columns[position]):
                    self.assigned[name.value] = read_type("sql", name, table, columns[position], "select")
            return True
        column = self._row_column(value)
        if column is not None and isinstance(target, cst.Name):
            table, field = column
            self.assigned[target.value] = read_type("sql", target, table, field, "select")
            return True
        return False

    def _row_column(self, expr: cst.BaseExpression) -> Optional[Tuple[str, str]]:
        """``row[0]`` / ``row["in_use"]`` of a fetched row, when it is a flag column."""
        if not (
            isinstance(expr, cst.Subscript)
            and isinstance(expr.value, cst.Name)
            and expr.value.value in self.rows
            and len(expr.slice) == 1
            and isinstance(expr.slice[0].slice, cst.Index)
        ):
            return None
        table, columns = self.rows[expr.value.value]
        index = expr.slice[0].slice.value
        if isinstance(index, cst.Integer) and int(index.value) < len(columns):
            field = columns[int(index.value)]
        else:
            field = _string(index)
        return (table, field) if field in columns and _is_flag(field) else None

    def _dynamo_response(self, expr: cst.BaseExpression) -> Optional[str]:
        """The table of ``table.get_item(Key=...)``, or of a name bound to one."""
        if isinstance(expr, cst.Name):
            return self.dynamo_responses.get(expr.value)
        if (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "get_item"
            and keyword(expr, "Key") is not None
        ):
            table: str = self.rule.text(expr.func.value)
            return table
        return None

    def _dynamo_item(self, expr: cst.BaseExpression) -> Optional[str]:
        """The table of ``response["Item"]`` / ``response.get("Item")`` (or a name bound to one)."""
        if isinstance(expr, cst.Name):
            return self.documents.get(expr.value) if expr.value in self.dynamo_items else None
        if isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
            if _string(expr.slice[0].slice.value) == "Item":
                return self._dynamo_response(expr.value)
            return None
        if (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "get"
            and expr.args
            and _string(expr.args[0].value) == "Item"
        ):
            return self._dynamo_response(expr.func.value)
        return None

    # -- reads ----------------------------------------------------------------------------

    def _store_read(self, expr: cst.BaseExpression, read_type: Any) -> Any:
        rule = self.rule
        if isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
            field = _string(expr.slice[0].slice.value)
            table = self._dynamo_item(expr.value)
            if table is not None and _is_flag(field):
                return read_type("dynamodb", expr, table, field, "get_item")
            column = self._row_column(expr)
            if column is not None:
                return read_type("sql", expr, column[0], column[1], "select")
            if isinstance(expr.value, cst.Name) and expr.value.value in self.documents:
                if _is_flag(field) and table is None:
                    return read_type("mongo", expr, self.documents[expr.value.value], field, "find_one")
                return None
        if isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1:
            target = expr.comparisons[0]
            if isinstance(target.operator, cst.In) and _string(expr.left) == "Item":
                table = self._dynamo_response(target.comparator)
                if table is not None:  # ``"Item" in response``: the lock row exists
                    return read_type("dynamodb", expr, table, "", "exists")
            if isinstance(target.operator, (cst.In, cst.NotIn)):
                kind = rule.store_kind(target.comparator, self.stack)
                if kind == "django-cache":
                    method = "in" if isinstance(target.operator, cst.In) else "not in"
                    return read_type(kind, expr, rule.text(target.comparator), rule.text(expr.left), method)
            return None
        if not isinstance(expr, cst.Call):
            return None
        helper = self._helper_name(expr)
        if helper is not None and (_STATE_METHOD.match(helper) or _HELPER_STATE.match(helper)):
            return read_type("helper", expr, self._helper_owner(expr), rule.text(expr.args[0].value), helper)
        if not isinstance(expr.func, cst.Attribute):
            return None
        method = expr.func.attr.value
        receiver = expr.func.value
        if method == "get" and expr.args:
            table = self._dynamo_item(receiver)
            if table is not None:
                field = _string(expr.args[0].value)
                return read_type("dynamodb", expr, table, field, "get_item") if _is_flag(field) else None
            table = self._dynamo_item(expr)
            if table is not None:  # ``response.get("Item")``: the lock row exists
                return read_type("dynamodb", expr, table, "", "exists")
        if method == "get" and isinstance(receiver, cst.Name) and receiver.value in self.documents and expr.args:
            field = _string(expr.args[0].value)
            if _is_flag(field):
                return read_type("mongo", expr, self.documents[receiver.value], field, "find_one")
            return None
        if not expr.args and _STATE_METHOD.match(method) and dotted_name(receiver) is not None:
            return read_type("orm-method", expr, rule.text(receiver), method, method)
        if method == "exists" and self._blob(receiver):
            return read_type("gcs", expr, rule.text(receiver), rule.text(receiver), "exists")
        if method == "exists" and not expr.args and self._path_like(receiver):
            return read_type("file", expr, "", rule.text(receiver), "exists")
        if expr.args and method in ("get", "has_key"):
            kind = rule.store_kind(receiver, self.stack)
            if kind == "memcached" and method == "get" or kind == "django-cache" and method == "has_key":
                return read_type(kind, expr, rule.text(receiver), rule.text(expr.args[0].value), method)
        return None

    def _helper_name(self, call: cst.Call) -> Optional[str]:
        """The name of a call of the project's own helper on a resource: ``is_locked(name)``
        (a function of this module or imported from this package) or ``self.is_locked(job)``."""
        if not call.args or call.args[0].keyword is not None or call.args[0].star:
            return None
        func = call.func
        if isinstance(func, cst.Attribute):
            owner = func.value
            return func.attr.value if isinstance(owner, cst.Name) and owner.value in ("self", "cls") else None
        if not isinstance(func, cst.Name):
            return None
        if func.value in self.rule.module_functions:
            return func.value
        qualified = self.rule.qualified_name(func)
        package = self.rule.ctx.imports.package or ""
        if qualified and package and qualified.split(".")[0] == package.split(".")[0]:
            return func.value
        return None

    def _helper_decides(self, call: cst.Call) -> bool:
        """The helper's own body claims atomically (``set(..., nx=True)``, ``setnx``, ``cache.add``):
        the check before it is a fast path."""
        func = call.func
        definition: Optional[cst.FunctionDef] = None
        if isinstance(func, cst.Name):
            definition = self.rule.module_functions.get(func.value)
        elif isinstance(func, cst.Attribute):
            owner = next((n for n in reversed(self.stack) if isinstance(n, cst.ClassDef)), None)
            if owner is not None:
                definition = class_methods(owner).get(func.attr.value)
        if definition is None:
            return False
        for node in iter_nodes(definition.body):
            if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
                continue
            method = node.func.attr.value
            if method in ("setnx", "hsetnx", "add") or method in _locks.ORM_ROW_LOCK_METHODS:
                return True
            if method == "set" and any(
                a.keyword is not None and a.keyword.value in ("nx", "xx") and not falsy_literal(a.value)
                for a in node.args
            ):
                return True
        return False

    def _helper_owner(self, call: cst.Call) -> str:
        return self.rule.text(call.func.value) if isinstance(call.func, cst.Attribute) else ""

    def _helper_call(self, node: cst.CSTNode, read: Any, pattern: re.Pattern[str]) -> bool:
        """A call of a helper named by ``pattern`` on the resource ``read`` checked."""
        if not isinstance(node, cst.Call):
            return False
        name = self._helper_name(node)
        return (
            name is not None
            and bool(pattern.match(name))
            and self._helper_owner(node) == read.receiver
            and self.rule.text(node.args[0].value) == read.key
        )

    def _kv_get(self, call: cst.Call) -> Optional[Tuple[str, str]]:
        """("consul" or "etcd", receiver text) of ``c.kv.get(key)`` / ``etcd.get(key)``."""
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "get" or not call.args:
            return None
        store = self._kv_store(func.value)
        return (store, self.rule.text(func.value)) if store is not None else None

    def _kv_store(self, receiver: cst.BaseExpression) -> Optional[str]:
        """``consul`` for ``c.kv`` (``c = consul.Consul()``), ``etcd`` for an etcd3 client."""
        if isinstance(receiver, cst.Attribute) and receiver.attr.value == "kv":
            return "consul" if self._constructed_by(receiver.value, _CONSUL_CLIENTS) else None
        return "etcd" if self._constructed_by(receiver, _ETCD_CLIENTS) else None

    def _constructed_by(self, expr: cst.BaseExpression, constructors: FrozenSet[str]) -> bool:
        if isinstance(expr, cst.Call):
            return self.rule.qualified_name(expr.func) in constructors
        name = dotted_name(expr)
        if name is None:
            return False
        scopes = [self.rule.table.scope_of(self.function), self.rule.table.module_scope]
        for scope in scopes:
            bindings = self.rule.table.resolve(expr, scope) if scope is not None else []
            if bindings:
                return all(
                    isinstance(b.value, cst.Call) and self.rule.qualified_name(b.value.func) in constructors
                    for b in bindings
                )
        return False

    def _blob(self, receiver: cst.BaseExpression) -> bool:
        """A Cloud Storage blob: ``bucket.blob(name)`` itself, or a name of this function bound to one."""
        if isinstance(receiver, cst.Call):
            return isinstance(receiver.func, cst.Attribute) and receiver.func.attr.value == "blob"
        if not isinstance(receiver, cst.Name):
            return False
        scope = self.rule.table.scope_of(self.function)
        bindings = self.rule.table.lookup(receiver.value, scope) if scope is not None else []
        return bool(bindings) and all(
            isinstance(b.value, cst.Call)
            and isinstance(b.value.func, cst.Attribute)
            and b.value.func.attr.value == "blob"
            for b in bindings
        )

    def _path_like(self, receiver: cst.BaseExpression) -> bool:
        name = dotted_name(receiver)
        if name is not None and _PATH_NAME.search(name.rsplit(".", 1)[-1]):
            return True
        if isinstance(receiver, cst.Call):
            return self.rule.qualified_name(receiver.func) in _PATH_CONSTRUCTORS
        return bool(self.rule.is_path(receiver, self.stack)) if name is not None else False

    @staticmethod
    def _store_polarity(read: Any) -> Optional[bool]:
        """Whether the bare read is true when the resource is free (None: cannot tell)."""
        if read.kind in ("orm-method", "helper"):
            match = _STATE_METHOD.match(read.method)
            return match is not None and match.group("state") in _FREE_STATES
        if read.kind == "dynamodb" and not read.key or read.kind in ("gcs", "kv"):
            return False  # the lock row (object) exists: taken
        if read.kind in ("mongo", "sql", "sql-core", "dynamodb"):
            return None if read.key in _locks.STATUS_FIELDS else _locks.is_inverted_flag(read.key)
        if read.method == "not in":
            return True
        return False

    # -- writes ---------------------------------------------------------------------------

    def _store_write(self, node: cst.CSTNode, read: Any) -> bool:
        if read.kind == "helper":
            return (
                self._helper_call(node, read, _HELPER_CLAIM)
                and isinstance(node, cst.Call)
                and not self._helper_decides(node)
            )
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            return False
        method = node.func.attr.value
        receiver = self.rule.text(node.func.value)
        if read.kind == "mongo":
            if method not in ("update_one", "update_many", "find_one_and_update") or receiver != read.receiver:
                return False
            args = [a.value for a in node.args if a.keyword is None]
            if len(args) < 2 or read.key in _dict_items(args[0]):
                return False  # the flag in the filter makes it a conditional update
            value = _dict_items(_dict_items(args[1]).get("$set")).get(read.key)
            return value is not None and not self._frees(value, read.key)
        if read.kind == "dynamodb":
            return self._dynamo_claims(node, method, receiver, read)
        if read.kind == "kv":
            if method != "put" or receiver != read.receiver or not node.args:
                return False
            atomic = read.method == "consul" and any(
                a.keyword is not None and a.keyword.value in _CONSUL_ATOMIC for a in node.args
            )
            return self.rule.text(node.args[0].value) == read.key and not atomic
        if read.kind == "gcs":
            conditional = any(a.keyword is not None and a.keyword.value in _BLOB_CONDITIONS for a in node.args)
            return method in _BLOB_WRITES and receiver == read.receiver and not conditional
        if read.kind == "sql":
            update = self._update_of(node)
            if update is None or update[0] != read.receiver:
                return False
            _table, sets, where = update
            sql_value = sets.get(read.key)
            return sql_value is not None and not _FALSY_SQL.match(sql_value) and read.key not in where.lower()
        if read.kind == "orm-method":
            return receiver == read.receiver and bool(_CLAIM_METHOD.match(method))
        if read.kind == "memcached":
            return method == "set" and receiver == read.receiver and self._same_key(node, read)
        if read.kind == "file" and method in _PATH_WRITES:
            exist_ok = keyword(node, "exist_ok")
            return receiver == read.key and (method != "touch" or exist_ok is None or not falsy_literal(exist_ok.value))
        return False

    def _same_key(self, call: cst.Call, read: Any) -> bool:
        return bool(call.args) and self.rule.text(call.args[0].value) == read.key

    def _update_of(self, node: cst.Call) -> Optional[Tuple[str, Dict[str, str], str]]:
        if not isinstance(node.func, cst.Attribute) or node.func.attr.value != "execute" or not node.args:
            return None
        match = _UPDATE.match(_string(node.args[0].value))
        if match is None:
            return None
        table = match.group("table").strip('"').lower()
        return table, _assignments(match.group("sets")), match.group("where") or ""

    # -- is it a claim at all? --------------------------------------------------------

    def is_claim(self, read: Any, write: cst.CSTNode, region: Sequence[cst.BaseStatement]) -> bool:
        if self.released(read, [self.function.body]):
            return True
        keyed = read.kind in ("redis", "django-cache", "memcached", "kv")
        named = " ".join([*self._key_texts(read), self.function.name.value]).lower()
        if read.kind == "file" and not _FILE_LOCK_WORD.search(named):
            # A file created when missing (``if not p.exists(): p.touch()``), never given
            # back, unless the path or the function says it is a lock (``acquire_pidfile``).
            return False
        index = next((i for i, stmt in enumerate(region) if any(n is write for n in iter_nodes(stmt))), None)
        if index is None:
            return False
        if self._locked_state(read):
            # ``account.is_locked = True``: a state of a user, an account or a piece of content
            # (locked out, closed to edits), not a mutex, unless it records who holds it.
            return any(self._records_owner(node) for stmt in region[index:] for node in iter_nodes(stmt))
        if any(self._does_work(stmt, read) for stmt in region[:index]):
            # ``if r.exists(marker): return`` / ``apply(event)`` / ``r.set(marker, 1)``: a
            # record that the work was done (de-duplication), written after it, not a claim.
            return False
        records = [region[index]]
        responded = False
        for stmt in region[index + 1 :]:
            if self._bookkeeping(stmt, read):
                records.append(stmt)
                continue
            if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Return):
                value = stmt.body[0].value
                if isinstance(value, cst.Tuple) and value.elements:
                    # ``return True, None`` (claimed, no holder): what the first element says.
                    value = value.elements[0].value
                if value is None or not self._responds(value):
                    # ``return True``, ``return token``: the claim is handed to the caller (a
                    # constant such as ``return "default"`` is a value, not a claim).
                    return value is not None and not falsy_literal(value) and not _constant(value)
                # A web response ends the request: a state the user set (a moderator locks a
                # topic, an admin turns maintenance on, and another view turns it off), unless an
                # owner or a lock name says claim.
                responded = True
                break
            return True  # work runs under the claim
        words = " ".join(self._key_texts(read)).lower()
        switch = bool(_SWITCH_WORD.search(words)) and not _LOCK_WORD.search(words)
        if keyed and not (responded or switch) and self.released(read, [self.rule.ctx.module]):
            return True  # given back by another function of this module: a lock and its release
        if any(self._records_owner(node) for stmt in records for node in iter_nodes(stmt)):
            return True
        return keyed and bool(_LOCK_WORD.search(words)) and self._flag_stored(write, read)

    @staticmethod
    def _locked_state(read: Any) -> bool:
        """``user.locked``, ``topic.is_locked``: the word ``locked`` on an object named as a
        person, an account or content, where it means a state rather than a held lock."""
        if read.kind != "orm-attr" or read.key not in ("locked", "is_locked"):
            return False
        return bool(_STATE_HOLDER.search(read.receiver.rsplit(".", 1)[-1].lower()))

    def _bookkeeping(self, stmt: cst.BaseStatement, read: Any) -> bool:
        """Part of writing the claim down: more fields of the claimed object, its save, logging."""
        if not isinstance(stmt, cst.SimpleStatementLine):
            return False
        for small in stmt.body:
            if isinstance(small, (cst.Assign, cst.AnnAssign)):
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                if not all(isinstance(t, cst.Attribute) and self.rule.text(t.value) == read.receiver for t in targets):
                    return False
            elif isinstance(small, cst.Expr) and isinstance(small.value, (cst.Call, cst.Await)):
                call = small.value.expression if isinstance(small.value, cst.Await) else small.value
                if not isinstance(call, cst.Call) or self._work_call(call, read):
                    return False
            elif not isinstance(small, cst.Pass):
                return False
        return True

    def _does_work(self, stmt: cst.BaseStatement, read: Any) -> bool:
        """A statement that is a call run for its effect (not an assignment, not logging)."""
        if not isinstance(stmt, cst.SimpleStatementLine):
            return False
        for small in stmt.body:
            if isinstance(small, cst.Expr):
                value = small.value.expression if isinstance(small.value, cst.Await) else small.value
                if isinstance(value, cst.Call) and self._work_call(value, read):
                    return True
        return False

    def _responds(self, value: cst.BaseExpression) -> bool:
        """``return redirect(topic)``, ``return JsonResponse(...)``: a request handler's answer."""
        if not isinstance(value, cst.Call):
            return False
        name = dotted_name(value.func)
        return name is not None and bool(_web.RESPONSE_CALLS.search(name.rsplit(".", 1)[-1]))

    def _work_call(self, call: cst.Call, read: Any) -> bool:
        func = call.func
        if self.rule.qualified_name(func) in _web.USER_NOTIFICATIONS:
            return False
        if isinstance(func, cst.Name):
            return func.value != "print"
        if isinstance(func, cst.Attribute):
            receiver = self.rule.text(func.value)
            if func.attr.value in _LOG_METHODS and "log" in receiver.rsplit(".", 1)[-1].lower():
                return False
            if func.attr.value in _locks.ORM_SAVE_METHODS:
                return False
        return True

    @staticmethod
    def _records_owner(node: cst.CSTNode) -> bool:
        """``job.worker = WORKER_ID``, ``.update(in_use=True, reserved_by=user)``: who holds it."""
        if isinstance(node, cst.Assign):
            return any(
                isinstance(t.target, cst.Attribute) and bool(_OWNER_FIELD.search(t.target.attr.value))
                for t in node.targets
            ) and not falsy_literal(node.value)
        if isinstance(node, cst.Call):
            return any(
                a.keyword is not None and bool(_OWNER_FIELD.search(a.keyword.value)) and not falsy_literal(a.value)
                for a in node.args
            )
        return False

    def _flag_stored(self, write: cst.CSTNode, read: Any) -> bool:
        if not isinstance(write, cst.Call):
            return False
        positional = [a.value for a in write.args if a.keyword is None]
        index = 2 if isinstance(write.func, cst.Attribute) and write.func.attr.value in ("setex", "psetex") else 1
        value = positional[index] if len(positional) > index else None
        return value is not None and not self.is_data(value, read)

    def is_data(self, value: cst.BaseExpression, read: Any) -> bool:
        """The value stored is data (``cache.set(key, compute_hours(id))``): a cache fill."""
        if isinstance(value, cst.Call):
            return self._data_call(value)
        if not isinstance(value, cst.Name):
            return False
        if self.assigned.get(value.value) is read:
            return True
        for node in iter_nodes(self.function.body):
            if isinstance(node, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == value.value for t in node.targets
            ):
                inner = node.value.expression if isinstance(node.value, cst.Await) else node.value
                if inner is read.call or (isinstance(inner, cst.Call) and self._data_call(inner)):
                    return True
        return False

    def _data_call(self, call: cst.Call) -> bool:
        qualified = self.rule.qualified_name(call.func) or dotted_name(call.func) or ""
        if qualified in _locks.LOCK_TOKEN_CALLS:
            return False
        return qualified.rsplit(".", 1)[-1] not in _TOKEN_FUNCTIONS

    # -- the claim given back -------------------------------------------------------------

    def released(self, read: Any, where: Sequence[cst.CSTNode]) -> bool:
        """Whether code in ``where`` gives back what ``read`` checked (a delete of the key,
        the flag reset, the release method): a sign the check-then-set is a claim."""
        rule = self.rule
        keys = self._key_texts(read)
        for scope in where:
            for node in iter_nodes(scope):
                if isinstance(node, cst.Assign) and read.kind == "orm-attr":
                    for target in node.targets:
                        item = target.target
                        if (
                            isinstance(item, cst.Attribute)
                            and item.attr.value == read.key
                            and rule.text(item.value) == read.receiver
                            and self._frees(node.value, read.key)
                        ):
                            return True
                if not isinstance(node, cst.Call):
                    continue
                if read.kind == "helper":
                    if self._helper_call(node, read, _RELEASE_METHOD) or self._helper_call(node, read, _HELPER_RELEASE):
                        return True
                    continue
                func = node.func
                method = func.attr.value if isinstance(func, cst.Attribute) else ""
                receiver = rule.text(func.value) if isinstance(func, cst.Attribute) else ""
                if read.kind in ("redis", "django-cache", "memcached"):
                    if method in ("delete", "unlink", "hdel", "srem", "delete_many", "decr", "decrby") and node.args:
                        if rule.text(node.args[0].value) in keys:
                            return True
                elif read.kind == "file":
                    removed = rule.text(node.args[0].value) if node.args else ""
                    if (method == "unlink" and receiver == read.key) or (
                        rule.qualified_name(func) in ("os.remove", "os.unlink") and removed == read.key
                    ):
                        return True
                elif read.kind == "orm-method":
                    if receiver == read.receiver and _RELEASE_METHOD.match(method):
                        return True
                elif read.kind == "mongo" and receiver == read.receiver and len(node.args) > 1:
                    mongo_update = _dict_items(node.args[1].value)
                    value = _dict_items(mongo_update.get("$set")).get(read.key)
                    if read.key in _dict_items(mongo_update.get("$unset")) or (
                        value is not None and self._frees(value, read.key)
                    ):
                        return True
                elif read.kind == "kv" and receiver == read.receiver and method == "delete" and node.args:
                    if rule.text(node.args[0].value) == read.key:
                        return True
                elif read.kind == "gcs" and receiver == read.receiver and method == "delete":
                    return True
                elif read.kind == "dynamodb" and receiver == read.receiver:
                    if method == "delete_item" or self._dynamo_sets(node, method, read.key, free=True):
                        return True
                elif read.kind == "sql":
                    sql_update = self._update_of(node)
                    if sql_update is not None and sql_update[0] == read.receiver:
                        set_value = sql_update[1].get(read.key)
                        if set_value is not None and bool(_FALSY_SQL.match(set_value)) != _locks.is_inverted_flag(
                            read.key
                        ):
                            return True
                elif read.kind in ("orm-exists",) and method == "update":
                    for arg in node.args:
                        if arg.keyword is not None and arg.keyword.value in dict(read.fields):
                            if self._frees(arg.value, arg.keyword.value):
                                return True
        return False

    def _dynamo_claims(self, node: cst.Call, method: str, receiver: str, read: Any) -> bool:
        """``table.put_item(Item={..., flag: True})`` / ``update_item(UpdateExpression="SET flag =
        :t")`` on the table read, with no condition (a condition makes it the atomic claim)."""
        if receiver != read.receiver or method not in ("put_item", "update_item"):
            return False
        if any(a.keyword is not None and a.keyword.value in _DYNAMO_CONDITIONS for a in node.args):
            return False
        if not read.key:
            return method == "put_item"  # the row's existence was the lock: writing it claims
        return self._dynamo_sets(node, method, read.key, free=False)

    def _dynamo_sets(self, node: cst.Call, method: str, field: str, free: bool) -> bool:
        """Whether the write sets ``field`` to a taken value (``free``: to a free one)."""
        value: Optional[cst.BaseExpression] = None
        if method == "put_item":
            item = keyword(node, "Item")
            value = _dict_items(item.value).get(field) if item is not None else None
        elif method == "update_item":
            expression = keyword(node, "UpdateExpression")
            names = keyword(node, "ExpressionAttributeNames")
            values = keyword(node, "ExpressionAttributeValues")
            aliases = {alias: _string(v) for alias, v in _dict_items(names.value if names else None).items()}
            bound = _dict_items(values.value if values else None)
            text = _string(expression.value) if expression is not None else ""
            for name, placeholder in _DYNAMO_SET.findall(text.split("REMOVE")[0]):
                if aliases.get(name, name) == field:
                    value = bound.get(placeholder)
            if not free and value is None and text and re.search(rf"(?<![\w#]){re.escape(field)}\s*=", text):
                return True  # set from a value not written here (``:owner``): taken by someone
        if value is None:
            return False
        return self._frees(value, field) == free

    def _key_texts(self, read: Any) -> Tuple[str, ...]:
        """The key as written, and what a local key variable was assigned (``key = f"lock:{id}"``)."""
        key = read.key.split("|")[0]
        texts = [key]
        for node in iter_nodes(self.function.body):
            if isinstance(node, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == key for t in node.targets
            ):
                texts.append(self.rule.text(node.value))
        return tuple(texts)

    def _frees(self, value: cst.BaseExpression, field: str) -> bool:
        if field in _locks.STATUS_FIELDS:
            return not _locks.is_busy_status(self.rule.edits.code(value))
        if isinstance(value, cst.Name) and value.value in ("True", "False", "None"):
            return (value.value == "True") == _locks.is_inverted_flag(field)
        return falsy_literal(value) != _locks.is_inverted_flag(field)
