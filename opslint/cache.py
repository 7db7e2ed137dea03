"""One on-disk store for everything opslint caches: findings, module summaries, analyses.

Layout (as ruff's): ``<cache-dir>/<opslint version>/<namespace>/<key[:2]>/<key[2:]>``,
with a ``CACHEDIR.TAG`` and a ``.gitignore`` at the top so backups and git skip it (and
``opslint clean`` knows the directory is its own).  Keys are SHA-256 digests of
everything an entry depends on: a hit is always exact.

A cache directory is untrusted input: CI systems restore it from other branches and
forks.  Entries are therefore plain JSON, never pickle, and every load is validated:
the entry must name its own key and format, and every object in it must be a dataclass
or enum that opslint itself defines (looked up among modules already imported, never
imported on demand) whose fields have the declared types.  Anything else (a truncated
file, a foreign file, a planted object, an old format) is a miss that is recomputed
and overwritten; a cache never fails a run.
"""

from __future__ import annotations

import collections.abc as abc
import dataclasses
import enum
import functools
import hashlib
import json
import os
import sys
import typing
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from opslint._version import __version__
from opslint.codebase import rules_folder
from opslint.model import Finding
from opslint.source import write_atomic

DEFAULT_DIR = ".opslint_cache"
#: The first line is the CACHEDIR.TAG standard's signature; the second is opslint's
#: (``opslint clean`` deletes only directories that carry both).
TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by opslint.\n"
#: Bumped when the encoding changes (entries of another format are misses).
FORMAT = 2


class InvalidEntry(ValueError):
    """A cache entry that does not decode to what opslint wrote."""


# -- the store ----------------------------------------------------------------------


class Store:
    """JSON documents by (namespace, key) under one cache directory."""

    def __init__(self, directory: str) -> None:
        self.top = directory
        self.directory = os.path.join(directory, __version__)
        self._ready = False

    def _prepare(self) -> None:
        if self._ready:
            return
        os.makedirs(self.directory, exist_ok=True)
        for name, content in (("CACHEDIR.TAG", TAG), (".gitignore", "*\n")):
            path = os.path.join(self.top, name)
            if not os.path.exists(path):
                write_atomic(path, content.encode("utf-8"))
        self._ready = True

    def path(self, namespace: str, key: str) -> str:
        return os.path.join(self.directory, namespace, key[:2], key[2:])

    def get(self, namespace: str, key: str, expect: Any = Any) -> Any:
        """The value stored under ``key``, checked against the type ``expect``; None on a miss."""
        try:
            with open(self.path(namespace, key), "rb") as handle:
                document = json.loads(handle.read())
            if not isinstance(document, dict) or document.get("format") != FORMAT or document.get("key") != key:
                return None
            return decode(document.get("value"), expect)
        except (OSError, ValueError, TypeError, RecursionError, MemoryError):
            return None

    def put(self, namespace: str, key: str, value: Any, hint: Any = Any) -> None:
        """Store ``value`` (of type ``hint``: then written in its plain, compact shape)."""
        try:
            self._prepare()
            path = self.path(namespace, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            document = {"format": FORMAT, "key": key, "value": encode(value, hint)}
            write_atomic(path, json.dumps(document, separators=(",", ":")).encode("utf-8"))
        except (OSError, TypeError, ValueError, RecursionError):
            pass  # a read-only tree still lints, just without a cache


def digest(*parts: str) -> str:
    """The SHA-256 of ``parts`` (NUL-separated), as a store key."""
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode("utf-8", "surrogatepass"))
        hasher.update(b"\0")
    return hasher.hexdigest()


class Cache:
    """Per-file findings, keyed by the file's bytes, path, settings and code (namespace ``findings``)."""

    NAMESPACE = "findings"

    def __init__(self, directory: str) -> None:
        self.store = Store(directory)

    @staticmethod
    def key(data: bytes, display_path: str, settings_fingerprint: str, extra: str = "") -> str:
        return digest(__version__, display_path, settings_fingerprint, extra, hashlib.sha256(data).hexdigest())

    def get(self, key: str) -> Optional[List[Finding]]:
        value = self.store.get(self.NAMESPACE, key, List[Finding])
        return value if isinstance(value, list) else None

    def put(self, key: str, findings: List[Finding]) -> None:
        self.store.put(self.NAMESPACE, key, findings, List[Finding])


# -- the codec ---------------------------------------------------------------------
#
# Where the type is known (a field's hint, the type a caller stores), values are written
# in their plain shape: a dataclass as the array of its fields, a dict with string keys as
# an object, tuples, lists and sets as arrays.  Where it is not (``Any``), values are
# self-describing: JSON arrays are tuples; other containers are tagged one-key objects:
# {"L": [...]} list, {"D": [[k, v], ...]} dict, {"F": [...]} frozenset, {"S": [...]} set;
# {"C": "module:Qualname", "v": [fields...]} a dataclass, {"E": "module:Qualname", "v":
# value} an enum member.  Both shapes are validated on the way back.


_DATACLASS_NAMES: Dict[type, str] = {}


def encode(value: Any, hint: Any = Any) -> Any:
    """``value`` as JSON-able data, in the plain shape of type ``hint`` where it is known."""
    return _encoder(hint)(value)


@functools.cache
def _encoder(hint: Any) -> Callable[[Any], Any]:
    if hint is Any or hint is object:
        return _encode_tagged
    if hint is None or hint is type(None) or hint in (str, int, bool, float):
        return _identity
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is None:
        if isinstance(hint, type) and dataclasses.is_dataclass(hint) and not issubclass(hint, enum.Enum):
            return _dataclass_encoder(hint)
        return _encode_tagged
    if origin is Union:
        if len(args) == 2 and type(None) in args:
            inner = _encoder(args[0] if args[1] is type(None) else args[1])
            return lambda value: None if value is None else inner(value)
        return _encode_tagged
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _encoder(args[0])
            return lambda value: [item(v) for v in value]
        if not args:
            return lambda value: [_encode_tagged(v) for v in value]
        items = [_encoder(a) for a in args]
        return lambda value: [e(v) for e, v in zip(items, value)]
    if origin in (list, abc.Sequence, abc.Iterable, abc.Collection, frozenset, set, abc.Set):
        item = _encoder(args[0]) if args else _encode_tagged
        return lambda value: [item(v) for v in value]
    if origin in (dict, abc.Mapping, abc.MutableMapping):
        key = _encoder(args[0]) if len(args) == 2 else _encode_tagged
        val = _encoder(args[1]) if len(args) == 2 else _encode_tagged
        if len(args) == 2 and args[0] is str:
            return lambda value: {k: val(v) for k, v in value.items()}
        return lambda value: [[key(k), val(v)] for k, v in value.items()]
    return _encode_tagged


def _identity(value: Any) -> Any:
    return value


def _dataclass_encoder(cls: type) -> Callable[[Any], Any]:
    fields = _fields(cls)
    encoders: List[Callable[[Any], Any]] = []

    def encode_instance(value: Any) -> Any:
        if type(value) is not cls:
            return _encode_tagged(value)  # a subclass, or something else: self-describing
        if not encoders:
            hints: Dict[str, object] = _hints(cls)  # type: ignore[arg-type]
            encoders.extend(_encoder(hints.get(f.name, object)) for f in fields)
        return [e(getattr(value, f.name)) for e, f in zip(encoders, fields)]

    return encode_instance


def _encode_tagged(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or kind is float or value is None:
        return value
    if kind is tuple:
        return [_encode_tagged(v) for v in value]
    if kind in _DATACLASS_NAMES or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
        name = _DATACLASS_NAMES.get(kind) or _DATACLASS_NAMES.setdefault(kind, _name_of(kind))
        return {"C": name, "v": [_encode_tagged(getattr(value, f.name)) for f in _fields(kind)]}  # type: ignore[arg-type]
    if isinstance(value, tuple):
        return [_encode_tagged(v) for v in value]
    if isinstance(value, list):
        return {"L": [_encode_tagged(v) for v in value]}
    if isinstance(value, Mapping):
        return {"D": [[_encode_tagged(k), _encode_tagged(v)] for k, v in value.items()]}
    if isinstance(value, frozenset):
        return {"F": [_encode_tagged(v) for v in value]}
    if isinstance(value, set):
        return {"S": [_encode_tagged(v) for v in value]}
    if isinstance(value, enum.Enum):
        return {"E": _name_of(type(value)), "v": value.value}
    if isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__}")


def decode(data: Any, expect: Any = Any) -> Any:
    """The value ``encode`` gave ``data`` for, checked against the type hint ``expect``.

    Raises ``InvalidEntry`` (or another ``ValueError``/``TypeError``) when ``data`` is
    not such an encoding.
    """
    return _decoder(expect)(data)


@functools.cache
def _decoder(hint: Any) -> Callable[[Any], Any]:
    """A decoder for values of type ``hint``, compiled once per type: a warm project
    index decodes thousands of summaries, so the checks are folded into the walk."""
    if hint is Any or hint is object:
        return _decode
    if hint is None or hint is type(None):
        return _none
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is None:
        if hint is float:
            return _float
        if hint in (str, int, bool):
            return _scalar(hint)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return _checked(_decode, hint)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return _dataclass_decoder(hint)
        if isinstance(hint, type):
            return _checked(_decode, hint)
        return _decode  # a TypeVar, a string forward reference, ...
    if origin is Union:
        if len(args) == 2 and type(None) in args:
            inner = _decoder(args[0] if args[1] is type(None) else args[1])
            return lambda data: None if data is None else inner(data)
        options = [_decoder(a) for a in args]
        return lambda data: _first(options, data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _decoder(args[0])
            return lambda data: tuple([item(v) for v in _array(data)])
        if not args:
            return lambda data: tuple([_decode(v) for v in _array(data)])
        items = [_decoder(a) for a in args]
        return lambda data: _fixed_tuple(items, data)
    if origin in (list, abc.Sequence, abc.Iterable, abc.Collection):
        item = _decoder(args[0]) if args else _decode
        if origin is list:
            return lambda data: [item(v) for v in _items(data, "L")]
        return lambda data: _sequence(item, data)
    if origin in (frozenset, abc.Set, set):
        item = _decoder(args[0]) if args else _decode
        if origin is set:
            return lambda data: {item(v) for v in _items(data, "S")}
        return lambda data: frozenset([item(v) for v in _items(data, "F")])
    if origin in (dict, abc.Mapping, abc.MutableMapping):
        key = _decoder(args[0]) if len(args) == 2 else _decode
        value = _decoder(args[1]) if len(args) == 2 else _decode
        if len(args) == 2 and args[0] is str:
            return lambda data: {k: value(v) for k, v in _object(data).items()}
        return lambda data: {key(k): value(v) for k, v in _pairs(data)}
    if origin is typing.Literal:
        return lambda data: _literal(args, _decode(data))
    return _decode


def _dataclass_decoder(cls: type) -> Callable[[Any], Any]:
    name = _name_of(cls)
    fields = _fields(cls)
    # Resolved on first use: dataclasses may refer to each other (or to themselves).
    decoders: List[Callable[[Any], Any]] = []

    def decode_instance(data: Any) -> Any:
        if type(data) is list:
            values = data  # the plain shape, where the type was known
        elif type(data) is dict and data.get("C") == name and len(data) == 2:
            # Self-described (it sat under ``Any``): so are its fields; decode them
            # generically and check each against its hint.
            values = data["v"]
            if type(values) is not list or len(values) != len(fields):
                raise InvalidEntry(f"wrong field count for {cls.__name__}")
            hints = _hints(cls)
            decoded = [_decode(v) for v in values]
            for f, value in zip(fields, decoded):
                if not _conforms(value, hints.get(f.name, Any)):
                    raise InvalidEntry(f"{cls.__name__}.{f.name} has the wrong type")
            return cls(*decoded)
        elif type(data) is dict and "C" in data:
            found = _decode(data)  # a subclass, self-described
            if not isinstance(found, cls):
                raise InvalidEntry(f"not a {cls.__name__}")
            return found
        else:
            raise InvalidEntry(f"not a {cls.__name__}")
        if type(values) is not list or len(values) != len(fields):
            raise InvalidEntry(f"wrong field count for {cls.__name__}")
        if not decoders:
            hints = _hints(cls)
            decoders.extend(_decoder(hints.get(f.name, Any)) for f in fields)
        return cls(*[d(v) for d, v in zip(decoders, values)])

    return decode_instance


def _none(data: Any) -> None:
    if data is not None:
        raise InvalidEntry("expected null")
    return None


def _float(data: Any) -> float:
    if type(data) not in (int, float):
        raise InvalidEntry("expected a number")
    return float(data) if type(data) is int else data


def _scalar(kind: type) -> Callable[[Any], Any]:
    def decode_scalar(data: Any) -> Any:
        if type(data) is not kind:
            raise InvalidEntry(f"expected {kind.__name__}")
        return data

    return decode_scalar


def _checked(inner: Callable[[Any], Any], kind: type) -> Callable[[Any], Any]:
    def decode_checked(data: Any) -> Any:
        value = inner(data)
        if not isinstance(value, kind):
            raise InvalidEntry(f"expected {kind.__name__}")
        return value

    return decode_checked


def _first(options: List[Callable[[Any], Any]], data: Any) -> Any:
    for option in options:
        try:
            return option(data)
        except (ValueError, TypeError):
            continue
    raise InvalidEntry("no alternative of the union matches")


def _array(data: Any) -> List[Any]:
    if type(data) is not list:
        raise InvalidEntry("expected an array")
    return data


def _fixed_tuple(items: List[Callable[[Any], Any]], data: Any) -> Tuple[Any, ...]:
    values = _array(data)
    if len(values) != len(items):
        raise InvalidEntry("wrong tuple length")
    return tuple([d(v) for d, v in zip(items, values)])


def _sequence(item: Callable[[Any], Any], data: Any) -> Any:
    if type(data) is list:
        return tuple([item(v) for v in data])
    return [item(v) for v in _tagged(data, "L")]


def _tagged(data: Any, tag: str) -> List[Any]:
    if type(data) is not dict or len(data) != 1 or type(data.get(tag)) is not list:
        raise InvalidEntry(f"expected a {tag!r} container")
    items: List[Any] = data[tag]
    return items


def _items(data: Any, tag: str) -> List[Any]:
    """The items of a container: a plain array, or a tagged one."""
    if type(data) is list:
        return data
    return _tagged(data, tag)


def _object(data: Any) -> Dict[str, Any]:
    if type(data) is not dict:
        raise InvalidEntry("expected an object")
    return data


def _pairs(data: Any) -> List[Tuple[Any, Any]]:
    out = []
    for pair in _items(data, "D"):
        if type(pair) is not list or len(pair) != 2:
            raise InvalidEntry("bad mapping item")
        out.append((pair[0], pair[1]))
    return out


def _literal(args: Tuple[Any, ...], value: Any) -> Any:
    if value not in args:
        raise InvalidEntry("unexpected literal")
    return value


def _decode(data: Any) -> Any:
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return tuple(_decode(v) for v in data)
    if not isinstance(data, dict):
        raise InvalidEntry("unexpected JSON value")
    if len(data) == 1:
        ((tag, items),) = data.items()
        if not isinstance(items, list):
            raise InvalidEntry("container without items")
        if tag == "L":
            return [_decode(v) for v in items]
        if tag == "F":
            return frozenset(_decode(v) for v in items)
        if tag == "S":
            return {_decode(v) for v in items}
        if tag == "D":
            out = {}
            for pair in items:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise InvalidEntry("bad mapping item")
                out[_decode(pair[0])] = _decode(pair[1])
            return out
        raise InvalidEntry(f"unknown tag {tag!r}")
    if set(data) == {"E", "v"}:
        cls = _class_named(data["E"])
        if not (isinstance(cls, type) and issubclass(cls, enum.Enum)):
            raise InvalidEntry("not an opslint enum")
        return cls(data["v"])
    if set(data) == {"C", "v"}:
        cls = _class_named(data["C"])
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise InvalidEntry("not an opslint dataclass")
        return _decoder(cls)(data)
    raise InvalidEntry("unknown object")


def _name_of(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _class_named(name: Any) -> Optional[type]:
    """An opslint class by ``module:Qualname``, from modules already imported (never imports)."""
    if not isinstance(name, str) or ":" not in name:
        return None
    module_name, _, qualname = name.partition(":")
    if module_name != "opslint" and not module_name.startswith("opslint."):
        return None
    module = sys.modules.get(module_name)
    target: Any = module
    for part in qualname.split("."):
        if target is None or part.startswith("__"):
            return None
        target = vars(target).get(part) if isinstance(target, type) or hasattr(target, "__dict__") else None
    return target if isinstance(target, type) else None


@functools.cache
def _fields(cls: type) -> Tuple[dataclasses.Field[Any], ...]:
    return tuple(f for f in dataclasses.fields(cls) if f.init)


@functools.cache
def _hints(cls: type) -> Dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - unresolvable annotations are not checked
        return {}


def _conforms(value: Any, hint: Any) -> bool:
    """Whether a generically decoded ``value`` has the type ``hint`` (recursively; ``Any``,
    type variables and forward references pass)."""
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Union:
        return any(_conforms(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin is None:
        if hint is float:
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        return isinstance(value, hint) if isinstance(hint, type) else True
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        return not args or (len(args) == len(value) and all(_conforms(v, a) for v, a in zip(value, args)))
    if origin in (list, abc.Sequence, abc.Iterable, abc.Collection):
        if origin is list and not isinstance(value, list):
            return False
        return isinstance(value, (list, tuple)) and (not args or all(_conforms(v, args[0]) for v in value))
    if origin in (frozenset, set, abc.Set):
        return isinstance(value, (set, frozenset)) and (not args or all(_conforms(v, args[0]) for v in value))
    if origin in (dict, abc.Mapping, abc.MutableMapping):
        if not isinstance(value, dict):
            return False
        return len(args) != 2 or all(_conforms(k, args[0]) and _conforms(v, args[1]) for k, v in value.items())
    return isinstance(value, origin) if isinstance(origin, type) else True


# -- the code fingerprint -------------------------------------------------------------


def code_fingerprint(extra_files: Iterable[str] = ()) -> str:
    """A hash of opslint's own source, of the rules package and of ``extra_files``
    (the source of rules registered from elsewhere), so that editing a rule or a
    knowledge table between runs never serves results of the old code from a
    cache.  (Whole folders, not ``sys.modules``: which modules a run imported
    depends on its output format.)"""
    return _code_fingerprint(tuple(sorted(set(extra_files))))


@functools.cache
def _code_fingerprint(extra_files: Tuple[str, ...]) -> str:
    package = sys.modules["opslint"]
    folders = [os.path.dirname(os.path.abspath(package.__file__ or ""))]
    rules = rules_folder()  # found, not imported: a run that parses nothing imports no rule
    if rules is not None:
        folders.append(rules)
    files: set[str] = set(extra_files)
    for folder in folders:
        for directory, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            files.update(os.path.join(directory, f) for f in filenames if f.endswith(".py"))
    hasher = hashlib.sha256()
    for path in sorted(f for f in files if f):
        try:
            with open(path, "rb") as handle:
                hasher.update(path.encode("utf-8", "surrogatepass") + b"\0" + handle.read())
        except OSError:
            continue
    return hasher.hexdigest()


__all__ = [
    "DEFAULT_DIR",
    "TAG",
    "Cache",
    "InvalidEntry",
    "Store",
    "code_fingerprint",
    "decode",
    "digest",
    "encode",
]
