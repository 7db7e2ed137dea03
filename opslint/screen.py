"""A run that imports no rule: every file's findings come from the cache, or the file
holds none of the enabled rules' tokens.

Most pre-commit runs look at a few edited files, and many of those hold no trigger of
any rule (settings, migrations, data modules), or are unchanged since the cache saw
them.  Such a run needs neither LibCST nor the rules, whose import costs more than
flake8 spends on a file: the rule catalog (``opslint.catalog``) answers the questions
it asks.  ``screen`` gives the ``RunResult`` that ``runner.run`` would give, or None as
soon as one file needs more (it must be linted; it does not compile; it cannot be read;
the configuration sets a rule's options) and the caller runs the real thing.

The cache keys are ``runner``'s for a file linted without a project index (a quiet file
needs none), so the two paths read and fill the same entries.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from opslint import source
from opslint.cache import Cache, code_fingerprint
from opslint.catalog import Catalog, RulesNeeded
from opslint.config import ConfigResolver
from opslint.discovery import Walker, display_path, relpath
from opslint.outcome import CACHED, SKIPPED, FileOutcome, RunOptions, RunResult
from opslint.syntax.guard import compile_error

#: Above this many files the screen gives up: a run that large is not a pre-commit
#: run, and its files are better read once, by the workers of ``runner.run``.
MAX_FILES = 64


def screen(
    paths: Sequence[str],
    resolver: ConfigResolver,
    options: RunOptions,
    catalog: Catalog,
    cwd: Optional[str] = None,
) -> Optional[RunResult]:
    """``runner.run``'s result when no file needs a rule to run; else None."""
    if options.fix or options.diff or options.cache_dir is None:
        return None
    try:
        return _screen(paths, resolver, options.cache_dir, catalog, cwd)
    except RulesNeeded:
        return None


def _screen(
    paths: Sequence[str], resolver: ConfigResolver, cache_dir: str, catalog: Catalog, cwd: Optional[str]
) -> Optional[RunResult]:
    walker = Walker(resolver)
    found = []
    for item in walker.walk(list(paths)):
        found.append(item.path)
        if len(found) > MAX_FILES:
            return None
    if walker.problems:
        return None  # reported by the real run (OPS003), with the engine's codes
    cache = Cache(cache_dir)
    salt = code_fingerprint()
    result = RunResult()
    quiet: List[Tuple[str, str]] = []
    for path in found:
        settings = resolver.for_path(path)
        display = display_path(path, cwd)
        try:
            data = source.read_bytes(path)
        except (OSError, source.SourceError):
            return None
        key = Cache.key(data, display, catalog.fingerprint(settings), salt)
        cached = cache.get(key)
        if cached is not None:
            result.files.append(FileOutcome(display, cached, status=CACHED))
            continue
        try:
            text = source.decode(data).text
        except source.SourceError:
            return None
        if not catalog.quiet(catalog.rules_for(settings, relpath(path, settings.root)), text, path):
            return None
        if compile_error(text, display) is not None:
            return None  # OPS001 or not: LibCST decides (engine.Linter._compile_check)
        quiet.append((key, display))
        result.files.append(FileOutcome(display, [], status=SKIPPED))
    for key, _display in quiet:
        cache.put(key, [])
    return result
