"""``[tool.opslint]`` configuration: discovery, validation and rule selection.

Discovery follows ruff: each file uses the closest ``pyproject.toml`` that has
a ``[tool.opslint]`` table; parents are not merged.  Command-line settings
override every file.  Unknown keys and wrong types are errors naming the file
and the key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
import typing
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

OUTPUT_FORMATS = (
    "full",
    "concise",
    "json",
    "json-lines",
    "github",
    "gitlab",
    "sarif",
    "pylint",
    "junit",
    "lsp",
    "rdjson",
)

DEFAULT_EXCLUDE: Tuple[str, ...] = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".opslint_cache",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pycache__",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)


class ConfigError(Exception):
    """Invalid configuration or command line: reported with exit code 2."""


@dataclass(frozen=True)
class PerFileIgnore:
    pattern: str
    negated: bool
    codes: Tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    """Effective settings for the files governed by one configuration file."""

    #: The configuration file, or None for defaults.
    path: Optional[str] = None
    #: Directory that relative patterns are resolved against.
    root: str = "."
    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    per_file_ignores: Tuple[PerFileIgnore, ...] = ()
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: Tuple[str, ...] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False
    unsafe_fixes: bool = False
    output_format: Optional[str] = None
    #: code -> raw option table (validated into the rule's Options on demand).
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Answers computed once per Settings (asked for every file on the hot path).
    _memo: Dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def remember(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, once per key and Settings (the registry's answers are asked per file)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def ignored_for(self, relpath: str) -> Tuple[str, ...]:
        """Codes (or prefixes) that per-file-ignores switch off for a file."""
        out: List[str] = []
        for entry in self.per_file_ignores:
            hit = glob_match(entry.pattern, relpath)
            if hit != entry.negated:
                out.extend(entry.codes)
        return tuple(out)

    def all_excludes(self) -> Tuple[str, ...]:
        return self.exclude + self.extend_exclude


class Catalog(Protocol):
    """What configuration parsing needs to know of the rules (served by ``registry.Registry``)."""

    def has_selector(self, selector: str) -> bool:
        """Whether ``selector`` is ``ALL``, a rule code or a prefix of one."""

    def options_type(self, code: str) -> Optional[type]:
        """The Options dataclass of rule ``code``, or None when no such rule exists."""


def validate_selectors(selectors: Sequence[str], where: str, catalog: Catalog) -> Tuple[str, ...]:
    out = []
    for raw in selectors:
        sel = raw.strip().upper()
        if not sel:
            continue
        if not catalog.has_selector(sel):
            raise ConfigError(f"{where}: unknown rule selector `{raw}`")
        out.append(sel)
    return tuple(out)


# -- globs ---------------------------------------------------------------

_GLOB_CACHE: Dict[str, re.Pattern[str]] = {}


def glob_source(pattern: str) -> str:
    """The regex source of a ruff-style glob over POSIX paths (no anchors), for the
    ``exclude`` options (``.gitignore`` files are matched by ``pathspec``).

    ``*`` and ``?`` stay within one path segment, ``**/`` spans folders,
    ``**`` elsewhere is "any text", and ``[...]`` / ``[!...]`` are classes.
    """
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    cached = _GLOB_CACHE.get(pattern)
    if cached is None:
        cached = _GLOB_CACHE[pattern] = re.compile(glob_source(pattern) + r"\Z")
    return cached


def glob_match(pattern: str, relpath: str) -> bool:
    """Match a ruff-style glob against a root-relative POSIX path.

    A pattern without ``/`` matches the file name or any directory name on the
    path; a pattern with ``/`` matches the path from the root.
    """
    pattern = pattern.strip()
    if pattern.startswith("./"):
        pattern = pattern[2:]
    regex = _glob_regex(pattern.rstrip("/"))
    if "/" not in pattern.rstrip("/"):
        return any(regex.match(part) for part in relpath.split("/"))
    if regex.match(relpath):
        return True
    # A directory pattern also matches everything below it.
    parts = relpath.split("/")
    return any(regex.match("/".join(parts[:k])) for k in range(1, len(parts)))


def project_exclusion(root: str) -> Optional[Callable[[str], bool]]:
    """What the project's own configuration (``[tool.opslint]`` of the root's
    pyproject.toml: ``exclude`` and ``extend-exclude``) keeps out, as a predicate on
    absolute paths, for the project index; None when it excludes nothing.

    What a project keeps out of linting (test fixtures, vendored or generated code) is
    not part of what its analyses see either, whichever way opslint runs (CLI, flake8,
    the language server): this reads the file, not a run's command line. An unreadable
    or invalid file excludes nothing here (linting reports it).
    """
    path = os.path.join(root, "pyproject.toml")
    if not os.path.isfile(path):
        return None
    try:
        table = load_table(path)
    except ConfigError:
        return None
    patterns: List[str] = []
    for key in ("exclude", "extend-exclude"):
        value = table.get(key) if table is not None else None
        if isinstance(value, list):
            patterns.extend(v for v in value if isinstance(v, str))
    if not patterns:
        return None

    return lambda absolute: excluded_by(patterns, root, absolute)


def excluded_by(patterns: Sequence[str], root: str, path: str) -> bool:
    """Whether an ``exclude`` pattern matches ``path``: a pattern with a slash against the
    path from ``root`` (the base name for a path outside it), others against the base
    name. Linting's discovery and the project index both match this way."""
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    if rel.startswith("../"):
        rel = os.path.basename(path)
    name = os.path.basename(path)
    return any(glob_match(p, rel) if "/" in p.strip("/") else glob_match(p, name) for p in patterns)


# -- loading ---------------------------------------------------------------

_KEYS = {
    "select",
    "extend-select",
    "ignore",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "respect-gitignore",
    "force-exclude",
    "unsafe-fixes",
    "output-format",
    "rules",
}


def _expect(value: Any, kind: Any, where: str) -> Any:
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}: expected {_type_word(name)}, got {type(value).__name__} `{value!r}`")
    return value


def _type_word(name: str) -> str:
    return {"list": "a list", "str": "a string", "bool": "a boolean", "dict": "a table"}.get(name, name)


def _str_list(value: Any, where: str) -> Tuple[str, ...]:
    _expect(value, list, where)
    for item in value:
        _expect(item, str, where)
    return tuple(value)


def load_table(path: str) -> Optional[Mapping[str, Any]]:
    """The ``[tool.opslint]`` table of a TOML file (None if it has none)."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if os.path.basename(path) != "pyproject.toml" and "tool" not in data:
        # A dedicated opslint.toml may hold the keys at top level.
        return data
    tool = data.get("tool", {})
    table = tool.get("opslint") if isinstance(tool, dict) else None
    if table is None:
        return None
    checked: Mapping[str, Any] = _expect(table, dict, f"{path}: [tool.opslint]")
    return checked


def settings_from_table(table: Mapping[str, Any], path: str, catalog: Catalog) -> Settings:
    where = path
    for key in table:
        if key not in _KEYS:
            raise ConfigError(f"{where}: unknown key `{key}` in [tool.opslint]")
    kwargs: Dict[str, Any] = {"path": path, "root": os.path.dirname(os.path.abspath(path))}
    if "select" in table:
        kwargs["select"] = validate_selectors(
            _str_list(table["select"], f"{where}: select"), f"{where}: select", catalog
        )
    if "extend-select" in table:
        kwargs["extend_select"] = validate_selectors(
            _str_list(table["extend-select"], f"{where}: extend-select"), f"{where}: extend-select", catalog
        )
    if "ignore" in table:
        kwargs["ignore"] = validate_selectors(
            _str_list(table["ignore"], f"{where}: ignore"), f"{where}: ignore", catalog
        )
    if "per-file-ignores" in table:
        kwargs["per_file_ignores"] = parse_per_file_ignores(
            _expect(table["per-file-ignores"], dict, f"{where}: per-file-ignores"),
            f"{where}: per-file-ignores",
            catalog,
        )
    if "exclude" in table:
        kwargs["exclude"] = _str_list(table["exclude"], f"{where}: exclude")
    if "extend-exclude" in table:
        kwargs["extend_exclude"] = _str_list(table["extend-exclude"], f"{where}: extend-exclude")
    for key, attr in (
        ("respect-gitignore", "respect_gitignore"),
        ("force-exclude", "force_exclude"),
        ("unsafe-fixes", "unsafe_fixes"),
    ):
        if key in table:
            kwargs[attr] = _expect(table[key], bool, f"{where}: {key}")
    if "output-format" in table:
        fmt = _expect(table["output-format"], str, f"{where}: output-format")
        if fmt not in OUTPUT_FORMATS:
            raise ConfigError(f"{where}: output-format must be one of {', '.join(OUTPUT_FORMATS)}, got `{fmt}`")
        kwargs["output_format"] = fmt
    if "rules" in table:
        rules = _expect(table["rules"], dict, f"{where}: [tool.opslint.rules]")
        options: Dict[str, Mapping[str, Any]] = {}
        for code, raw in rules.items():
            options_type = catalog.options_type(code.upper())
            if options_type is None:
                raise ConfigError(f"{where}: unknown rule `{code}` in [tool.opslint.rules]")
            table_where = f"{where}: [tool.opslint.rules.{code}]"
            options[code.upper()] = _expect(raw, dict, table_where)
            build_options(options_type, options[code.upper()], where, code.upper())  # validate now, fail early
        kwargs["rule_options"] = options
    return Settings(**kwargs)


def parse_per_file_ignores(table: Mapping[str, Any], where: str, catalog: Catalog) -> Tuple[PerFileIgnore, ...]:
    out = []
    for pattern, codes in table.items():
        negated = pattern.startswith("!")
        clean = pattern[1:] if negated else pattern
        selectors = validate_selectors(_str_list(codes, f"{where}.{pattern}"), f"{where}.{pattern}", catalog)
        out.append(PerFileIgnore(clean, negated, selectors))
    return tuple(out)


@dataclass(frozen=True)
class Bounds:
    """What a rule option accepts beyond its type (declared with ``option``).

    Numbers (``float`` options are always finite: TOML has ``nan`` and ``inf``):
    ``gt``/``ge``/``lt``/``le``.  Strings, and each string of a list:
    ``pattern`` (a full match, described to the user by ``shape``); every
    string must be non-empty.  Lists: ``min_items``.
    """

    gt: Optional[float] = None
    ge: Optional[float] = None
    lt: Optional[float] = None
    le: Optional[float] = None
    pattern: Optional[str] = None
    shape: str = ""
    min_items: int = 0


_BOUNDS = "opslint.bounds"

#: Shapes of names that options commonly hold.
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
DOTTED_NAME = rf"{IDENTIFIER}(?:\.{IDENTIFIER})*"


def option(default: Any, **bounds: Any) -> Any:
    """A rule option (a dataclass field) with ``Bounds``:
    ``default_timeout: float = option(10.0, gt=0, le=86400)``."""
    return field(default=default, metadata={_BOUNDS: Bounds(**bounds)})


def build_options(options_cls: type, raw: Mapping[str, Any], where: str, code: str) -> Any:
    """Validate a raw option table into rule ``code``'s frozen Options dataclass."""
    hints = typing.get_type_hints(options_cls)
    fields = {f.name: f for f in dataclasses.fields(options_cls)}
    values: Dict[str, Any] = {}
    for key, value in raw.items():
        attr = key.replace("-", "_")
        if attr not in fields:
            known = ", ".join(sorted(f.replace("_", "-") for f in fields)) or "none"
            raise ConfigError(
                f"{where}: unknown option `{key}` for {code} in [tool.opslint.rules.{code}] (known: {known})"
            )
        key_where = f"{where}: [tool.opslint.rules.{code}] {key}"
        values[attr] = _coerce(value, hints[attr], key_where)
        bounds = fields[attr].metadata.get(_BOUNDS)
        if bounds is not None:
            check_bounds(values[attr], bounds, key_where)
    try:
        return options_cls(**values)
    except ConfigError as exc:  # a rule's own validation (__post_init__): name the file
        message = str(exc)
        raise ConfigError(message if message.startswith(where) else f"{where}: {message}") from None


def check_bounds(value: Any, bounds: Bounds, where: str) -> None:
    """Raise ``ConfigError`` naming ``where`` when ``value`` is outside ``bounds``."""
    if isinstance(value, (tuple, list)):
        if len(value) < bounds.min_items:
            raise ConfigError(f"{where}: expected at least {bounds.min_items} item(s), got {len(value)}")
        for item in value:
            check_bounds(item, bounds, where)
        return
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        limits = (("gt", ">", bounds.gt), ("ge", ">=", bounds.ge), ("lt", "<", bounds.lt), ("le", "<=", bounds.le))
        for name, symbol, limit in limits:
            if limit is None:
                continue
            ok = {"gt": value > limit, "ge": value >= limit, "lt": value < limit, "le": value <= limit}[name]
            if not ok:
                raise ConfigError(f"{where}: must be {symbol} {_number(limit)}, got `{_number(value)}`")
        return
    if isinstance(value, str):
        if not value.strip():
            raise ConfigError(f"{where}: expected a non-empty string, got `{value!r}`")
        if bounds.pattern is not None and not re.fullmatch(bounds.pattern, value):
            shape = f" ({bounds.shape})" if bounds.shape else ""
            raise ConfigError(f"{where}: `{value}` is not a valid value{shape}")


def _number(value: float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where)
    if hint is Any:
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {type(value).__name__} `{value!r}`")
        if not math.isfinite(value):
            raise ConfigError(f"{where}: expected a finite number, got `{value!r}`")
        return float(value)
    if hint in (int, str, bool):
        return _expect(value, hint, where)
    if origin in (tuple, list, typing.Sequence, Sequence):
        _expect(value, list, where)
        item = args[0] if args else Any
        return tuple(_coerce(v, item, where) for v in value)
    if origin in (dict, typing.Mapping, Mapping):
        _expect(value, dict, where)
        item = args[1] if len(args) == 2 else Any
        return {k: _coerce(v, item, where) for k, v in value.items()}
    raise ConfigError(f"{where}: unsupported option type {hint}")  # pragma: no cover


# -- resolution --------------------------------------------------------------


@dataclass(frozen=True)
class Overrides:
    """Settings given on the command line; they beat every file."""

    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()
    exclude: Optional[Tuple[str, ...]] = None
    extend_exclude: Tuple[str, ...] = ()
    respect_gitignore: Optional[bool] = None
    force_exclude: Optional[bool] = None
    unsafe_fixes: Optional[bool] = None
    output_format: Optional[str] = None

    def apply(self, settings: Settings) -> Settings:
        changes: Dict[str, Any] = {}
        if self.select is not None:
            changes["select"] = self.select
            # As in ruff: a command-line select is the new base.
            changes["extend_select"] = self.extend_select
        elif self.extend_select:
            changes["extend_select"] = settings.extend_select + self.extend_select
        if self.ignore:
            changes["ignore"] = settings.ignore + self.ignore
        if self.exclude is not None:
            changes["exclude"] = self.exclude
        if self.extend_exclude:
            changes["extend_exclude"] = settings.extend_exclude + self.extend_exclude
        for attr in ("respect_gitignore", "force_exclude", "unsafe_fixes", "output_format"):
            value = getattr(self, attr)
            if value is not None:
                changes[attr] = value
        return replace(settings, **changes) if changes else settings


class ConfigResolver:
    """Finds the settings that govern each file, caching per directory."""

    def __init__(
        self,
        overrides: Overrides = Overrides(),
        config_file: Optional[str] = None,
        isolated: bool = False,
        cwd: Optional[str] = None,
        *,
        catalog: Catalog,
    ) -> None:
        self.overrides = overrides
        self.catalog = catalog
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self._config_file = config_file
        self._isolated = isolated
        self._by_dir: Dict[str, Settings] = {}
        self._by_file: Dict[str, Settings] = {}
        self._fixed: Optional[Settings] = None
        if isolated:
            self._fixed = overrides.apply(Settings(root=self.cwd))
        elif config_file is not None:
            table = load_table(config_file)
            base = (
                settings_from_table(table, config_file, catalog)
                if table is not None
                else Settings(path=config_file, root=os.path.dirname(os.path.abspath(config_file)))
            )
            self._fixed = overrides.apply(base)

    def with_catalog(self, catalog: Catalog) -> ConfigResolver:
        """The same configuration, read afresh and validated against ``catalog``."""
        return ConfigResolver(self.overrides, self._config_file, self._isolated, self.cwd, catalog=catalog)

    def default(self) -> Settings:
        """Settings for the working directory (used for run-wide choices)."""
        return self.for_dir(self.cwd)

    def for_path(self, path: str) -> Settings:
        absolute = os.path.abspath(path)
        directory = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
        return self.for_dir(directory)

    def for_dir(self, directory: str) -> Settings:
        if self._fixed is not None:
            return self._fixed
        cached = self._by_dir.get(directory)
        if cached is not None:
            return cached
        candidate = os.path.join(directory, "pyproject.toml")
        settings: Optional[Settings] = None
        if os.path.isfile(candidate):
            table = load_table(candidate)
            if table is not None:
                settings = self._load(candidate, table)
        if settings is None:
            parent = os.path.dirname(directory)
            if parent == directory:
                settings = self.overrides.apply(Settings(root=self.cwd))
            else:
                settings = self.for_dir(parent)
        self._by_dir[directory] = settings
        return settings

    def _load(self, path: str, table: Mapping[str, Any]) -> Settings:
        cached = self._by_file.get(path)
        if cached is None:
            cached = self.overrides.apply(settings_from_table(table, path, self.catalog))
            self._by_file[path] = cached
        return cached
