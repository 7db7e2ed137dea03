"""A whole run: discover files, lint them (in parallel when it pays), fix them."""

from __future__ import annotations

import difflib
import os
from typing import Dict, List, Optional, Set, Tuple, Type

from opslint import builtin, project, source
from opslint.cache import Cache
from opslint.catalog import index_candidates
from opslint.config import ConfigResolver, Settings, project_exclusion
from opslint.discovery import Walker, display_path
from opslint.engine import Linter, LintResult
from opslint.fixes import fix_text, parses
from opslint.model import Finding
from opslint.outcome import (
    CACHED,
    CHECKED,
    SKIPPED,
    UNREADABLE,
    FileOutcome,
    Progress,
    RunOptions,
    RunResult,
)
from opslint.parallel import fork_map
from opslint.registry import Registry
from opslint.rule import Rule

#: Below this many files a worker pool costs more than it saves.
PARALLEL_THRESHOLD = 64


def _status(result: LintResult) -> str:
    if result.unreadable:
        return UNREADABLE
    return SKIPPED if result.skipped else CHECKED


# The worker state is set before forking, so workers inherit it without pickling.
_WORKER: Dict[str, object] = {}


def _process(item: Tuple[str, bool]) -> FileOutcome:
    path, _explicit = item
    resolver = _WORKER["resolver"]
    linter = _WORKER["linter"]
    options = _WORKER["options"]
    assert isinstance(resolver, ConfigResolver) and isinstance(linter, Linter) and isinstance(options, RunOptions)
    return process_file(path, resolver.for_path(path), linter, options)


def process_file(path: str, settings: Settings, linter: Linter, options: RunOptions) -> FileOutcome:
    display = display_path(path, linter.cwd)
    if not (options.fix or options.diff):
        findings, status = _lint_cached(path, display, settings, linter, options)
        return FileOutcome(display, findings, status=status)
    try:
        src = source.read(path)
    except source.SourceError:
        return FileOutcome(display, linter.lint_file(path, settings).findings, status=UNREADABLE)
    unsafe = settings.unsafe_fixes if options.unsafe_fixes is None else options.unsafe_fixes
    first: List[LintResult] = []

    def lint(text: str) -> List[Finding]:
        result = linter.lint_text(text, path, settings)
        if not first:
            first.append(result)
        return result.findings

    outcome = fix_text(src.text, lint, unsafe, original_parses=parses(src.text))
    findings = list(outcome.remaining)
    if outcome.failure:
        detail = f"{outcome.failure}; the file was left unchanged. Please report this."
        findings.append(builtin.finding(builtin.FixFailed, display, detail))
    changed = outcome.text != src.text
    status = _status(first[0]) if first else CHECKED
    result = FileOutcome(display, findings, outcome.fixed, changed=changed, status=status)
    if changed and options.diff:
        result.diff = unified_diff(src.text, outcome.text, display)
    elif changed and options.fix and not outcome.failure:
        try:
            source.write_source(path, src.encode(outcome.text))
        except (OSError, UnicodeEncodeError) as exc:
            # The file keeps its content, so its findings are the original ones.
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return FileOutcome(
                display,
                list(outcome.original),
                changed=False,
                status=status,
                error=f"cannot write {display}: {reason}; not fixed",
            )
    return result


def unified_diff(before: str, after: str, display: str) -> str:
    """A git-style diff: a last line without newline gets git's marker (and stays on its own line)."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{display}",
        tofile=f"b/{display}",
    )
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n" for line in lines)


def _lint_cached(
    path: str, display: str, settings: Settings, linter: Linter, options: RunOptions
) -> Tuple[List[Finding], str]:
    """The file's findings and its ``FileOutcome.status``."""
    if options.cache_dir is None:
        result = linter.lint_file(path, settings)
        return result.findings, _status(result)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        result = linter.lint_file(path, settings)
        return result.findings, _status(result)
    cache = Cache(options.cache_dir)
    key = Cache.key(data, display, linter.registry.fingerprint(settings), linter.cache_salt(path))
    cached = cache.get(key)
    if cached is not None:
        return cached, CACHED
    result = linter.lint_file(path, settings)
    if not any(f.code in _UNCACHED for f in result.findings):
        cache.put(key, result.findings)
    return result.findings, _status(result)


#: Findings that depend on more than the file's content are never cached.
_UNCACHED = frozenset({builtin.InternalError.code, builtin.UnreadableFile.code})


def run(
    paths: List[str],
    resolver: ConfigResolver,
    options: RunOptions,
    cwd: Optional[str] = None,
    registry: Optional[Registry] = None,
    progress: Optional[Progress] = None,
) -> RunResult:
    """Lint ``paths`` with the rules of ``registry`` (default: the resolver's catalog
    when it is a registry, else the shipped rules); ``progress`` hears of each file."""
    if registry is None:
        registry = resolver.catalog if isinstance(resolver.catalog, Registry) else Registry.default()
    linter = Linter(registry=registry, strict=options.strict, cwd=cwd)
    walker = Walker(resolver)
    project.name_directories([os.path.join(cwd, p) if cwd else p for p in paths])
    items = [(d.path, d.explicit) for d in walker.walk(paths)]
    result = RunResult()
    for problem in walker.problems:
        display = display_path(problem.path, cwd)
        result.problems.append(display)
        finding = builtin.finding(builtin.UnreadableFile, display, problem.message)
        result.files.append(FileOutcome(display, [finding], status=UNREADABLE))
    groups = _by_project(items)
    for number, group in enumerate(groups):
        if progress is not None:
            progress.stage("indexing the project")
        indexes = _prepare_projects(group, resolver, options, linter)
        try:
            if progress is not None and number == 0:
                progress.start(len(items))
            result.files.extend(_lint_all(group, resolver, linter, options, progress))
        finally:
            project.unpin(index for index, _, _ in indexes)
            if len(groups) > 1:
                # One batch's indexes at a time: a run over several large projects needs
                # the memory of one, not of all (workers fork with what the parent holds).
                for index, _, _ in indexes:
                    project.forget(index.root)
    return result


#: Files of one batch of projects: projects are indexed and linted a batch at a time.
BATCH_FILES = 1000


def _by_project(items: List[Tuple[str, bool]]) -> List[List[Tuple[str, bool]]]:
    """The files in batches of whole projects, in the order the roots first appear.

    Small projects share a batch (one pool for all of them); a batch is closed
    when the next project would take it over ``BATCH_FILES``, so a run holds the
    indexes of about that many files at once, or of one larger project.
    """
    projects: Dict[str, List[Tuple[str, bool]]] = {}
    for item in items:
        projects.setdefault(project.find_root(item[0]), []).append(item)
    batches: List[List[Tuple[str, bool]]] = []
    for files in projects.values():
        if batches and len(batches[-1]) + len(files) <= BATCH_FILES:
            batches[-1].extend(files)
        else:
            batches.append(list(files))
    return batches


def _prepare_projects(
    items: List[Tuple[str, bool]], resolver: ConfigResolver, options: RunOptions, linter: Linter
) -> List[Tuple[project.ProjectIndex, List[Type[Rule]], str]]:
    """Build the project index once per root (before workers fork) when a rule needs it:
    when one of the files may run a cross-file rule (``catalog.index_candidates``, the
    test the workers make). Files are read only until each root is known to need it, so
    a whole-project run reads about one file here, and a one-file run on a data module
    builds no index."""
    registry = linter.registry
    needed: Set[str] = set()

    def rules_for(path: str) -> List[Type[Rule]]:
        settings = resolver.for_path(path)
        rules = registry.enabled_rules(settings)
        root = project.find_root(path)
        if root in needed or not project.project_rules(rules):
            return rules
        try:
            text = source.read(path).text
        except source.SourceError:
            return rules  # the worker reports it
        chosen = index_candidates(rules, linter.prefilter(rules, text, settings), text, path)
        if chosen:
            needed.add(root)
        return chosen

    indexes = project.prepare(
        [path for path, _ in items], rules_for, options.jobs, options.cache_dir, exclusion=project_exclusion
    )
    for index, rules, sample in indexes:
        settings = resolver.for_path(sample)
        for rule in rules:
            rule.prepare_project(index, registry.options_for(settings, rule))
    return indexes


def _lint_all(
    items: List[Tuple[str, bool]],
    resolver: ConfigResolver,
    linter: Linter,
    options: RunOptions,
    progress: Optional[Progress] = None,
) -> List[FileOutcome]:
    # Resolve configuration in the parent so errors surface once, with exit 2.
    for path, _ in items:
        resolver.for_path(path)
    # Largest files first, so one big file does not finish last on one core.
    items = sorted(items, key=lambda item: _size(item[0]), reverse=True)
    _WORKER.update(resolver=resolver, linter=linter, options=options)
    advance = None if progress is None else (lambda _outcome: progress.advance())
    return fork_map(_process, items, jobs=options.jobs, threshold=PARALLEL_THRESHOLD, ordered=False, on_result=advance)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
