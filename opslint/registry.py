"""The rule catalog of a run: which rules exist, which a ``Settings`` enables, their options.

The engine reaches the rules only through a :class:`Registry`.  The default one holds
every rule of ``opslint.rules`` (imported once); tests build their own,
``Registry.default().extended([MyRule])``, instead of mutating a global.

A registry answers questions about a ``Settings`` (which is plain data): the enabled
codes, a rule's validated options, a fingerprint for cache keys.  The answers are
memoized on the ``Settings`` object, keyed by the registry, because they are asked
for every file.  It also serves ``config.Catalog``, so that configuration files are
validated against the rules that exist without ``config`` importing any rule.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import types
from typing import Any, Dict, FrozenSet, Iterable, Iterator, List, Optional, Sequence, Tuple, Type

from opslint import catalog
from opslint.config import ConfigError, Settings, build_options
from opslint.rule import Rule


class Registry:
    """An immutable set of rule classes, keyed by code."""

    def __init__(self, rules: Iterable[Type[Rule]]) -> None:
        by_code: Dict[str, Type[Rule]] = {}
        for rule in rules:
            other = by_code.get(rule.code)
            if other is not None and other is not rule:
                raise TypeError(f"duplicate rule code {rule.code}: {other.__name__} and {rule.__name__}")
            by_code[rule.code] = rule
        self._rules: Dict[str, Type[Rule]] = dict(sorted(by_code.items()))

    @classmethod
    def default(cls) -> Registry:
        """Every rule that ships with opslint (``opslint.rules``), loaded once."""
        global _DEFAULT
        if _DEFAULT is None:
            _DEFAULT = cls(_shipped_rules())
        return _DEFAULT

    def extended(self, rules: Iterable[Type[Rule]]) -> Registry:
        """This registry plus ``rules`` (a rule with a known code replaces it)."""
        extra = {rule.code: rule for rule in rules}
        return Registry([r for c, r in self._rules.items() if c not in extra] + list(extra.values()))

    # -- the catalog -----------------------------------------------------------

    def __getitem__(self, code: str) -> Type[Rule]:
        return self._rules[code]

    def __contains__(self, code: object) -> bool:
        return code in self._rules

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def get(self, code: str) -> Optional[Type[Rule]]:
        return self._rules.get(code)

    def items(self) -> Iterable[Tuple[str, Type[Rule]]]:
        return self._rules.items()

    def rules(self) -> List[Type[Rule]]:
        """Every rule, engine codes included, by code."""
        return list(self._rules.values())

    def catalog(self) -> catalog.Catalog:
        """These rules as catalog records (``opslint.catalog``): tokens with those their
        default options add (a configuration that sets options is never served by one)."""
        entries = []
        for rule in self._rules.values():
            defaults = build_options(rule.Options, {}, "<catalog>", rule.code)
            tokens = tuple(rule.tokens) + tuple(rule.option_tokens(defaults)) if rule.tokens else ()
            entries.append(
                catalog.RuleEntry(
                    code=rule.code,
                    name=rule.name,
                    internal=rule.internal,
                    default_enabled=rule.default_enabled,
                    tokens=tokens,
                    needs_project=rule.needs_project,
                    project_paths=tuple(rule.project_paths),
                )
            )
        return catalog.Catalog(entries)

    def public(self) -> List[Type[Rule]]:
        """The rules a user selects (engine codes OPS0xx are reported, never run)."""
        return [r for r in self._rules.values() if not r.internal]

    def lookup(self, key: str) -> Optional[Type[Rule]]:
        """A rule by code (any case) or by name (``missing-timeout``)."""
        rule = self._rules.get(key.upper())
        if rule is not None:
            return rule
        return next((r for r in self._rules.values() if r.name == key.lower()), None)

    # -- config.Catalog ------------------------------------------------------------

    def has_selector(self, selector: str) -> bool:
        return selector == "ALL" or any(code.startswith(selector) for code in self._rules)

    def options_type(self, code: str) -> Optional[type]:
        rule = self._rules.get(code)
        return None if rule is None else rule.Options

    # -- questions about a Settings ----------------------------------------------------

    def enabled_codes(self, settings: Settings) -> FrozenSet[str]:
        """Codes of the rules ``settings`` switches on (before per-file-ignores)."""
        codes: FrozenSet[str] = settings.remember(("enabled", self), lambda: self._enabled_codes(settings))
        return codes

    def _enabled_codes(self, settings: Settings) -> FrozenSet[str]:
        return catalog.enabled_codes(((c, r.internal, r.default_enabled) for c, r in self._rules.items()), settings)

    def enabled_rules(self, settings: Settings) -> List[Type[Rule]]:
        return [self._rules[code] for code in sorted(self.enabled_codes(settings))]

    def rules_for(self, settings: Settings, relpath: str) -> List[Type[Rule]]:
        """The enabled rules minus those the per-file-ignores switch off for ``relpath``."""
        ignored = settings.ignored_for(relpath)
        return [
            rule for rule in self.enabled_rules(settings) if not any(catalog.matches(rule.code, s) for s in ignored)
        ]

    def options_for(self, settings: Settings, rule: Type[Rule]) -> Any:
        """The rule's validated Options (built once: validation reads type hints)."""
        raw = settings.rule_options.get(rule.code, {})
        where = settings.path or "<command line>"
        return settings.remember(("options", self, rule), lambda: build_options(rule.Options, raw, where, rule.code))

    def fingerprint(self, settings: Settings) -> str:
        """Everything in ``settings`` that can change a finding, as text (for cache keys)."""
        text: str = settings.remember(
            ("fingerprint", self), lambda: catalog.settings_fingerprint(settings, self.enabled_codes(settings))
        )
        return text

    def ignored(self, settings: Settings, code: str, relpath: Optional[str] = None) -> bool:
        """Whether ``code`` (an engine code, say) is switched off by ``ignore``, or for
        the file ``relpath`` by ``per-file-ignores``."""
        ignored = settings.ignore + (settings.ignored_for(relpath) if relpath is not None else ())
        return any(catalog.matches(code, sel) for sel in ignored)

    def validate_selectors(self, selectors: Sequence[str], where: str) -> Tuple[str, ...]:
        """Upper-cased selectors, or a ``ConfigError`` naming ``where`` for an unknown one."""
        out = []
        for raw in selectors:
            sel = raw.strip().upper()
            if not sel:
                continue
            if not self.has_selector(sel):
                raise ConfigError(f"{where}: unknown rule selector `{raw}`")
            out.append(sel)
        return tuple(out)


_DEFAULT: Optional[Registry] = None


def _shipped_rules() -> List[Type[Rule]]:
    """The rule classes defined in the modules ``opslint.rules`` imports (and the engine's codes)."""
    package = _import_rules_package()
    from opslint import builtin

    modules: List[types.ModuleType] = [builtin]
    modules += [m for m in vars(package).values() if isinstance(m, types.ModuleType) and _is_rule_module(m, package)]
    found: List[Type[Rule]] = []
    for module in modules:
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, Rule)
                and value.__module__ == module.__name__
                and value.__dict__.get("code")
            ):
                found.append(value)
    return found


def _is_rule_module(module: types.ModuleType, package: types.ModuleType) -> bool:
    short = module.__name__.rpartition(".")[2]
    return module.__name__.startswith(package.__name__ + ".") and short.startswith("ops")


def _import_rules_package() -> types.ModuleType:
    try:
        return importlib.import_module("opslint.rules")
    except ModuleNotFoundError as exc:
        if exc.name != "opslint.rules":
            raise
    module = _load_checkout_rules()
    if module is None:
        raise ModuleNotFoundError("opslint.rules is not installed", name="opslint.rules")
    return module


def _load_checkout_rules() -> Optional[types.ModuleType]:
    """Import ``rules/`` of a source checkout as ``opslint.rules``.

    Installed, ``rules/`` *is* ``opslint.rules`` (setuptools ``package-dir``);
    but ``python -m opslint`` run in the checkout's root imports ``opslint/``
    from the working directory, where no ``opslint/rules`` exists.
    """
    package = os.path.dirname(os.path.abspath(__file__))
    folder = os.path.join(os.path.dirname(package), "rules")
    init = os.path.join(folder, "__init__.py")
    if not os.path.isfile(init):
        return None
    spec = importlib.util.spec_from_file_location("opslint.rules", init, submodule_search_locations=[folder])
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules["opslint.rules"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["opslint.rules"]
        raise
    return module


def rule_files(registry: Registry) -> List[str]:
    """The source files of the registry's rules (for the code fingerprint of caches)."""
    out = set()
    for rule in registry.rules():
        path = getattr(sys.modules.get(rule.__module__), "__file__", None)
        if path:
            out.add(path)
    return sorted(out)
