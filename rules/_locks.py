"""OPS4xx knowledge: locks, throttles, redis clients and atomic claim primitives.

Data only (plus tiny classifiers over it).  Read by OPS401, OPS402 and OPS403;
the public names below are stable.  Sources: ``shared/SDK_FACTS.md`` §5 and
the libraries' own APIs (threading, multiprocessing, asyncio, redis-py,
filelock, fasteners, portalocker, trio, anyio, gevent).
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Optional, Tuple

#: Qualified constructor -> library, for objects with ``acquire()``/``release()``
#: used as mutual exclusion (``with lock:`` works on all of them).
LOCK_CONSTRUCTORS: Dict[str, str] = {
    # threading (and the low-level _thread allocators)
    "threading.Lock": "threading",
    "threading.RLock": "threading",
    "threading.Condition": "threading",
    "threading._allocate_lock": "threading",
    "threading._RLock": "threading",
    "_thread.allocate_lock": "threading",
    "_thread.LockType": "threading",
    "_thread.RLock": "threading",
    "dummy_threading.Lock": "threading",
    "dummy_threading.RLock": "threading",
    # multiprocessing
    "multiprocessing.Lock": "multiprocessing",
    "multiprocessing.RLock": "multiprocessing",
    "multiprocessing.Condition": "multiprocessing",
    "multiprocessing.synchronize.Lock": "multiprocessing",
    "multiprocessing.synchronize.RLock": "multiprocessing",
    "multiprocessing.synchronize.Condition": "multiprocessing",
    "billiard.Lock": "multiprocessing",
    "billiard.RLock": "multiprocessing",
    # asyncio and friends
    "asyncio.Lock": "asyncio",
    "asyncio.Condition": "asyncio",
    "asyncio.locks.Lock": "asyncio",
    "asyncio.locks.Condition": "asyncio",
    "trio.Lock": "trio",
    "trio.StrictFIFOLock": "trio",
    "anyio.Lock": "anyio",
    "gevent.lock.RLock": "gevent",
    "gevent.lock.DummySemaphore": "gevent",
    "eventlet.semaphore.Semaphore": "eventlet",
    # redis-py (``client.lock(...)`` is handled through REDIS_LOCK_METHODS)
    "redis.lock.Lock": "redis",
    "redis.asyncio.lock.Lock": "redis",
    "pottery.Redlock": "redis",
    "redis_lock.Lock": "redis",
    "aioredlock.Aioredlock": "redis",
    "sherlock.RedisLock": "redis",
    # file locks
    "filelock.FileLock": "filelock",
    "filelock.SoftFileLock": "filelock",
    "filelock.UnixFileLock": "filelock",
    "filelock.WindowsFileLock": "filelock",
    "filelock.AsyncFileLock": "filelock",
    "filelock.AsyncSoftFileLock": "filelock",
    "fasteners.InterProcessLock": "fasteners",
    "fasteners.process_lock.InterProcessLock": "fasteners",
    "portalocker.Lock": "portalocker",
    "portalocker.RLock": "portalocker",
    "portalocker.RedisLock": "portalocker",
    "oslo_concurrency.lockutils.internal_lock": "oslo",
    "lockfile.LockFile": "lockfile",
    "lockfile.FileLock": "lockfile",
    "zc.lockfile.LockFile": "lockfile",
    # named inter-process semaphores: created with ``initial_value=1`` to exclude other processes
    "posix_ipc.Semaphore": "posix_ipc",
    "sysv_ipc.Semaphore": "sysv_ipc",
    # coordination services
    "kazoo.recipe.lock.Lock": "zookeeper",
    "tooz.coordination.Lock": "tooz",
}

#: The throttles that hand out permits to give back (``release()``): a permit never given
#: back shrinks the pool for good, and at zero every caller waits; OPS403 checks their
#: release as it checks a lock's.  (Rate limiters refill by themselves: not these.)
SEMAPHORE_CONSTRUCTORS: FrozenSet[str] = frozenset(
    {
        "threading.Semaphore",
        "threading.BoundedSemaphore",
        "multiprocessing.Semaphore",
        "multiprocessing.BoundedSemaphore",
        "multiprocessing.synchronize.Semaphore",
        "multiprocessing.synchronize.BoundedSemaphore",
        "asyncio.Semaphore",
        "asyncio.BoundedSemaphore",
        "asyncio.locks.Semaphore",
        "asyncio.locks.BoundedSemaphore",
        "trio.Semaphore",
        "trio.CapacityLimiter",
        "anyio.Semaphore",
        "anyio.CapacityLimiter",
        "gevent.lock.Semaphore",
        "gevent.lock.BoundedSemaphore",
        "kazoo.recipe.lock.Semaphore",
    }
)

#: Objects whose ``acquire()`` limits concurrency or rate instead of excluding: a throttle
#: is not a lock a stage holds (OPS401); OPS403 checks only the semaphores among them.
THROTTLE_CONSTRUCTORS: FrozenSet[str] = SEMAPHORE_CONSTRUCTORS | frozenset(
    {
        "aiolimiter.AsyncLimiter",
        "pyrate_limiter.Limiter",
        "limits.strategies.MovingWindowRateLimiter",
        "ratelimiter.RateLimiter",
        "token_bucket.Limiter",
    }
)
_SEMAPHORE_NAME = re.compile(r"sem(?:aphore)?s?(?![a-z])|semaphore", re.IGNORECASE)


def looks_like_semaphore_name(name: str) -> bool:
    """``sem``, ``_sem``, ``download_semaphore``, ``self.sem`` (not ``semester``)."""
    return bool(_SEMAPHORE_NAME.search(name))


#: Attribute names of factories whose result is a lock, whatever the receiver
#: (``ctx.Lock()``, ``manager.RLock()``, ``mp.get_context("spawn").Lock()``).
LOCK_FACTORY_ATTRS: FrozenSet[str] = frozenset(
    {"Lock", "RLock", "Condition", "FileLock", "SoftFileLock", "InterProcessLock", "allocate_lock"}
)

#: Attribute names of factories whose result is a throttle.
THROTTLE_FACTORY_ATTRS: FrozenSet[str] = frozenset(
    {"Semaphore", "BoundedSemaphore", "CapacityLimiter", "AsyncLimiter", "Limiter", "RateLimiter"}
)

#: Methods that take / give back a lock object.
ACQUIRE_METHODS: FrozenSet[str] = frozenset({"acquire"})
RELEASE_METHODS: FrozenSet[str] = frozenset({"release"})

#: ``client.lock(name, ...)`` on a redis client returns a ``redis.lock.Lock``.
REDIS_LOCK_METHODS: FrozenSet[str] = frozenset({"lock"})

#: Redis client constructors (sync and asyncio, cluster, fakes, Django helpers).
REDIS_CLIENT_CONSTRUCTORS: FrozenSet[str] = frozenset(
    {
        "redis.Redis",
        "redis.StrictRedis",
        "redis.Redis.from_url",
        "redis.StrictRedis.from_url",
        "redis.from_url",
        "redis.client.Redis",
        "redis.client.StrictRedis",
        "redis.cluster.RedisCluster",
        "redis.RedisCluster",
        "redis.sentinel.Sentinel.master_for",
        "redis.asyncio.Redis",
        "redis.asyncio.StrictRedis",
        "redis.asyncio.from_url",
        "redis.asyncio.Redis.from_url",
        "redis.asyncio.client.Redis",
        "redis.asyncio.cluster.RedisCluster",
        "redis.asyncio.RedisCluster",
        "aioredis.Redis",
        "aioredis.from_url",
        "aioredis.StrictRedis",
        "rediscluster.RedisCluster",
        "fakeredis.FakeRedis",
        "fakeredis.FakeStrictRedis",
        "fakeredis.aioredis.FakeRedis",
        "django_redis.get_redis_connection",
        "walrus.Database",
    }
)

#: memcached clients (pymemcache, python-memcached, pylibmc, python-binary-memcached).
MEMCACHED_CLIENT_CONSTRUCTORS: FrozenSet[str] = frozenset(
    {
        "pymemcache.client.base.Client",
        "pymemcache.client.base.PooledClient",
        "pymemcache.client.hash.HashClient",
        "pymemcache.Client",
        "pymemcache.HashClient",
        "pymemcache.PooledClient",
        "memcache.Client",
        "pylibmc.Client",
        "bmemcached.Client",
    }
)


def looks_like_memcached_name(name: str) -> bool:
    """``mc``, ``memcache``, ``memcached_client``..."""
    bare = name.lstrip("_").lower()
    return "memcache" in bare or bare in {"mc", "mcd"}


#: Django's cache API (``cache.get``/``cache.set``; ``cache.add`` is the atomic claim).
DJANGO_CACHES: FrozenSet[str] = frozenset({"django.core.cache.cache", "django.core.cache.caches"})
#: Cache objects with Django's ``get``/``set``/``add``/``delete`` (``add`` is the atomic claim).
CACHE_CONSTRUCTORS: FrozenSet[str] = frozenset(
    {
        "flask_caching.Cache",
        "flask_cache.Cache",
        "cachelib.RedisCache",
        "cachelib.MemcachedCache",
        "cachelib.redis.RedisCache",
        "cachelib.memcached.MemcachedCache",
        # diskcache: SQLite on a shared disk, used by every process of the host; ``add`` is atomic
        "diskcache.Cache",
        "diskcache.FanoutCache",
        "diskcache.core.Cache",
        "diskcache.fanout.FanoutCache",
    }
)

#: Redis reads that answer "is it taken?" and the write that claims it.
REDIS_READ_METHODS: FrozenSet[str] = frozenset(
    {"get", "mget", "exists", "hget", "hexists", "sismember", "getbit", "scard"}
)
#: read method -> write methods that claim what the read checked.
REDIS_CLAIM_WRITES: Dict[str, FrozenSet[str]] = {
    # ``int(r.get(key) or 0) >= LIMIT`` then ``r.incr(key)``: a slot counter taken in two steps
    "get": frozenset({"set", "setex", "psetex", "incr", "incrby"}),
    "exists": frozenset({"set", "setex", "psetex", "hset", "sadd", "rpush", "lpush", "incr"}),
    # ``if not any(r.mget(keys)): r.mset({...})``: several keys claimed in two steps
    "mget": frozenset({"mset", "set", "setex"}),
    "hget": frozenset({"hset", "hmset"}),
    "hexists": frozenset({"hset", "hmset"}),
    "sismember": frozenset({"sadd"}),
    "getbit": frozenset({"setbit"}),
    # slots held as members of a set (``scard(key) >= LIMIT`` then ``sadd(key, job_id)``); a
    # list's length before a push is back-pressure, not a claim
    "scard": frozenset({"sadd"}),
}

#: Keyword arguments of ``set`` that make it conditional (atomic claim or CAS).
REDIS_CONDITIONAL_SET_KWARGS: FrozenSet[str] = frozenset({"nx", "xx", "ifeq", "ifne", "get"})
#: Keyword arguments of ``set`` that give the key an expiry.
REDIS_EXPIRY_KWARGS: FrozenSet[str] = frozenset({"ex", "px", "exat", "pxat", "keepttl"})
#: Methods that make a read/write sequence atomic (optimistic transaction, script, lock).
#: A ``pipeline()`` or ``multi()`` alone does not: the read ran before it, outside it.
REDIS_ATOMIC_CONTEXT_METHODS: FrozenSet[str] = frozenset(
    {"watch", "transaction", "eval", "evalsha", "register_script", "lock", "fcall"}
)

#: ORM calls that lock the rows they read (the read-check-write is then safe).
ORM_ROW_LOCK_METHODS: FrozenSet[str] = frozenset({"select_for_update", "with_for_update", "with_lockmode"})
#: Django's own QuerySet and Manager methods (none of them locks a row).  A row read inside
#: ``transaction.atomic()`` through any *other* manager method (``Task.objects.next_claimable()``)
#: comes from project code that may well ``select_for_update(skip_locked=True)``: OPS402,
#: which does not read other files, gives it the benefit of the doubt.
DJANGO_QUERYSET_METHODS: FrozenSet[str] = frozenset(
    {
        "aggregate", "alias", "all", "annotate", "bulk_create", "bulk_update", "complex_filter",
        "contains", "count", "create", "dates", "datetimes", "defer", "delete", "difference",
        "distinct", "earliest", "exclude", "exists", "explain", "extra", "filter", "first", "get",
        "get_or_create", "get_queryset", "in_bulk", "intersection", "iterator", "last", "latest",
        "none", "only", "order_by", "prefetch_related", "raw", "reverse", "select_related",
        "union", "update", "update_or_create", "using", "values", "values_list",
        "aaggregate", "acontains", "acount", "acreate", "adelete", "aearliest", "aexists",
        "aexplain", "afirst", "aget", "aget_or_create", "ain_bulk", "aiterator", "alast",
        "alatest", "aupdate", "aupdate_or_create", "abulk_create", "abulk_update",
    }
)  # fmt: skip
#: SQL functions / fragments that take a server-side lock.
SQL_LOCK_MARKERS: FrozenSet[str] = frozenset(
    {
        "pg_advisory_lock",
        "pg_try_advisory_lock",
        "pg_advisory_xact_lock",
        "pg_try_advisory_xact_lock",
        "get_lock(",
        "for update",
        "sp_getapplock",
    }
)
#: OS file locks taken and given back by one call with a flag: ``fcntl.flock(fd, LOCK_EX)`` /
#: ``fcntl.flock(fd, LOCK_UN)``.
FILE_LOCK_CALLS: FrozenSet[str] = frozenset({"fcntl.flock", "fcntl.lockf"})
#: File lock functions and the function that gives the lock back (``portalocker.lock(fh, LOCK_EX)``).
FILE_LOCK_FUNCTIONS: Dict[str, str] = {"portalocker.lock": "portalocker.unlock"}
#: SQL that takes a session-level lock (held until unlocked or the connection closes),
#: and SQL that gives it back.  Transaction-level locks (``pg_advisory_xact_lock``) end by themselves.
SESSION_LOCK_SQL: Tuple[str, ...] = ("pg_advisory_lock(", "pg_try_advisory_lock(", "get_lock(", "sp_getapplock")
SESSION_UNLOCK_SQL: Tuple[str, ...] = ("pg_advisory_unlock", "release_lock(", "sp_releaseapplock")

#: Locks that end with the transaction that took them (row locks, transaction advisory locks):
#: held only until the ``with transaction.atomic():`` / ``session.begin()`` block around them ends.
TRANSACTION_LOCK_MARKERS: FrozenSet[str] = frozenset(
    {"pg_advisory_xact_lock", "pg_try_advisory_xact_lock", "for update", "for no key update", "for share"}
)
#: Context managers (last name) that open a transaction: ``transaction.atomic()``,
#: ``session.begin()``, asyncpg ``conn.transaction()``, peewee ``db.atomic()``.
TRANSACTION_CONTEXTS: FrozenSet[str] = frozenset(
    {"atomic", "begin", "begin_nested", "transaction", "atomic_transaction", "savepoint"}
)


def is_transaction_context(name: str) -> bool:
    """``transaction.atomic()``, ``self.session.begin()``, ``traced_atomic_transaction()``..."""
    last = name.replace("()", "").rsplit(".", 1)[-1].lower()
    return last in TRANSACTION_CONTEXTS or "atomic" in last or last.endswith("transaction")


#: ORM persistence calls that write an attribute change back.
ORM_SAVE_METHODS: FrozenSet[str] = frozenset({"save", "commit", "flush", "asave", "save_changes"})

_LOCK_NAME = re.compile(
    r"(?:^|_)(?:r?lock|mutex|lck|flock|filelock|lockfile|cond|cv|cvar|condition)s?$|^(?:r?lock|mutex)_|lock$",
    re.IGNORECASE,
)
_NOT_LOCK_NAME = re.compile(r"clock|block|unlock|sem|limit|throttl|bucket|slot|permit", re.IGNORECASE)
_THROTTLE_NAME = re.compile(r"sem(?:aphore)?|limit|throttl|bucket|permit|slots?$", re.IGNORECASE)
_LOCKISH_TEXT = re.compile(
    r"lock|mutex|in[_-]?use|busy|running|processing|claim|lease|in[_-]?progress|occupied|exclusive|owner|semaphore|leader(?!board)|(?<![a-z])held(?![a-z])",
    re.IGNORECASE,
)


def looks_like_lock_name(name: str) -> bool:
    """``lock``, ``_lock``, ``import_lock``, ``api_key_lock``, ``mutex``, ``filelock``..."""
    bare = name.lstrip("_")
    if not bare or _NOT_LOCK_NAME.search(bare):
        return False
    return bool(_LOCK_NAME.search(bare))


def looks_like_throttle_name(name: str) -> bool:
    """``sem``, ``semaphore``, ``rate_limiter``, ``throttle``, ``bucket``..."""
    return bool(_THROTTLE_NAME.search(name))


#: A pid file's name (``PID_FILE``, ``pidfile``, ``"/var/run/sync.pid"``): a cron job's lock
#: (written after checking that it does not exist).
PIDFILE_TEXT = re.compile(r"(?<![a-z])pid(?:_?file)?(?![a-z])|pidfile|\.pid\b", re.IGNORECASE)


def lockish_text(text: str) -> bool:
    """Whether a key, flag or field name talks about a lock or an "in use" state."""
    return bool(_LOCKISH_TEXT.search(text))


#: Redlock managers: ``lock = dlm.lock(name, ttl)`` claims, ``dlm.unlock(lock)`` gives back.
REDLOCK_MANAGERS: FrozenSet[str] = frozenset(
    {
        "redlock.Redlock",
        "redlock.RedLock",
        "redlock.redlock.Redlock",
        "aioredlock.Aioredlock",
        "aioredlock.algorithm.Aioredlock",
    }
)


def constructor_kind(qualified: Optional[str], attr: Optional[str] = None) -> Optional[str]:
    """What a call builds: ``"lock"``, ``"throttle"``, ``"redis"``, ``"redlock"`` or None.

    ``qualified`` is the callee resolved through imports (may be None);
    ``attr`` the last attribute of the callee when it is ``x.Name(...)``.
    """
    if qualified is not None:
        if qualified in REDLOCK_MANAGERS:
            return "redlock"
        if qualified in LOCK_CONSTRUCTORS:
            return "lock"
        if qualified in THROTTLE_CONSTRUCTORS:
            return "throttle"
        if qualified in REDIS_CLIENT_CONSTRUCTORS:
            return "redis"
    if attr is not None:
        if attr in LOCK_FACTORY_ATTRS:
            return "lock"
        if attr in THROTTLE_FACTORY_ATTRS:
            return "throttle"
    return None


def is_redis_client_constructor(qualified: Optional[str]) -> bool:
    return qualified is not None and qualified in REDIS_CLIENT_CONSTRUCTORS


#: Commands only a redis client has (a client of unknown origin that calls one is redis).
REDIS_ONLY_METHODS: FrozenSet[str] = frozenset(
    {"setex", "psetex", "setnx", "getset", "expire", "pexpire", "expireat", "ttl", "pttl", "persist", "hsetnx"}
)


def looks_like_redis_name(name: str) -> bool:
    """``redis``, ``self.redis``, ``redis_client``, ``rds``, ``r`` (the redis-py docs' name)."""
    bare = name.lstrip("_").lower()
    return "redis" in bare or bare in {"r", "rds", "rdb", "rc", "redis_conn"}


#: Libraries whose ``acquire(timeout=...)`` raises on failure instead of returning False
#: (so the section after it runs only when the lock is held).
RAISING_ACQUIRE_LIBRARIES: FrozenSet[str] = frozenset({"filelock", "portalocker", "lockfile", "zookeeper"})


def lock_library(qualified: Optional[str]) -> Optional[str]:
    """The library of a known lock constructor (``"filelock"`` for ``filelock.FileLock``)."""
    return LOCK_CONSTRUCTORS.get(qualified) if qualified is not None else None


#: ORM fields that hold a lock or an "in use" flag (checked, then set and saved).
_ORM_FLAG_NAME = re.compile(
    r"lock|in_?use|busy|running|claim|lease|in_?progress|occupied|processing|available|reserved|checked_?out|booked"
    r"|holder|lessee|(?<![a-z])held(?![a-z])"
    r"|^is_free$|^free$"
    # an activity under way: ``crawling``, ``is_syncing``, ``exporting``
    r"|(?:^|_)(?:crawl|sync|import|export|upload|download|index|send|publish|render|deploy|migrat|generat|scann)ing$",
    re.IGNORECASE,
)
#: Field names whose truthy value means "free" (the flag is inverted).
_FREE_FLAG_NAME = re.compile(r"available|free|idle|unlocked", re.IGNORECASE)
#: Status fields, and the values that mean "someone holds it now".
STATUS_FIELDS: FrozenSet[str] = frozenset({"status", "state", "stage", "phase"})
_BUSY_STATUS = re.compile(
    r"RUNNING|PROGRESS|PROCESSING|IMPORTING|EXPORTING|UPLOADING|DOWNLOADING|SYNCING|LOCKED|BUSY|CLAIMED"
    r"|STARTED|ACQUIRED|WORKING|IN_USE|INUSE|LEASED|RESERVED|CHECKED_OUT"
    # an activity under way
    r"|EXECUTING|REFRESHING|BUILDING|DEPLOYING|INDEXING|SENDING|PUBLISHING|RENDERING|GENERATING"
    r"|COMPUTING|SCANNING|MIGRATING|CRAWLING|ALLOCATING|ONGOING",
    re.IGNORECASE,
)
#: Redis values that say "taken" (a flag, not cached data).
_FLAG_VALUE = re.compile(
    r"^(?:b?['\"](?:1|true|yes|lock|locked|busy|running|taken|in[_-]?use|on)['\"]|1|True)$", re.IGNORECASE
)
#: Calls whose result is a typical lock token (owner id, timestamp).
LOCK_TOKEN_CALLS: FrozenSet[str] = frozenset(
    {
        "time.time",
        "time.monotonic",
        "uuid.uuid4",
        "uuid.uuid1",
        "os.getpid",
        "socket.gethostname",
        "datetime.datetime.now",
    }
)
#: Key words that mark a counter, cache or rate limit (not a lock) unless the key also says "lock".
_NOT_A_CLAIM_KEY = re.compile(r"cache|count|rate|limit|stats?\b|metric|throttl|quota|seen|visits?", re.IGNORECASE)


def is_orm_flag_field(name: str) -> bool:
    """``in_use``, ``is_locked``, ``locked_by``, ``busy``, ``is_available``..."""
    return bool(_ORM_FLAG_NAME.search(name))


def is_inverted_flag(name: str) -> bool:
    """Whether a truthy value of the field means "free" (``is_available``)."""
    return bool(_FREE_FLAG_NAME.search(name))


def is_busy_status(value_text: str) -> bool:
    """``"RUNNING"``, ``Status.IMPORTING``, ``JobState.IN_PROGRESS``..."""
    return bool(_BUSY_STATUS.search(value_text))


def is_flag_value(value_text: str) -> bool:
    """``1``, ``True``, ``"1"``, ``b"locked"``: a flag rather than cached data."""
    return bool(_FLAG_VALUE.match(value_text.strip()))


def is_not_a_claim_key(key_text: str) -> bool:
    """Keys of caches, counters and rate limits (unless they also say "lock")."""
    return bool(_NOT_A_CLAIM_KEY.search(key_text)) and not lockish_text(key_text)
