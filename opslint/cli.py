"""The ``opslint`` command line (click)."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, TextIO, Tuple

import click

from opslint import add_noqa as noqa_writer
from opslint import baseline, gitdiff, report
from opslint._version import __version__
from opslint.cache import DEFAULT_DIR
from opslint.catalog import Catalog, RulesNeeded
from opslint.catalog import load as load_catalog
from opslint.config import (
    OUTPUT_FORMATS,
    ConfigError,
    ConfigResolver,
    Overrides,
    Settings,
    validate_selectors,
)
from opslint.config import (
    Catalog as CatalogProtocol,
)
from opslint.discovery import display_path
from opslint.model import Applicability, Finding
from opslint.outcome import CACHED, CHECKED, SKIPPED, UNREADABLE, FileOutcome, RunOptions, RunResult
from opslint.progress import ProgressBar

# The engine, the rules and LibCST are imported where a command needs them: a check
# that ``opslint.screen`` settles (pre-commit on files without any rule's trigger, or
# unchanged since the cache saw them) never imports them.
if TYPE_CHECKING:
    from opslint.model import RuleDoc
    from opslint.registry import Registry

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _given_registry() -> Optional[Registry]:
    """The rules a caller (a test, an embedding tool) passed as ``obj={"registry": ...}``
    to the click command, if any."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    given = obj.get("registry") if isinstance(obj, dict) else None
    if given is None:
        return None
    from opslint.registry import Registry

    return given if isinstance(given, Registry) else None


def _registry() -> Registry:
    """The rules of this invocation: the shipped ones, or those a caller passed."""
    from opslint.registry import Registry

    return _given_registry() or Registry.default()


def _selectors(values: Sequence[str], flag: str, catalog: CatalogProtocol) -> Tuple[str, ...]:
    items = [part for value in values for part in value.split(",")]
    return validate_selectors(items, f"--{flag}", catalog)


class _Group(click.Group):
    """Turns configuration errors into exit code 2 with a one-line message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, _WriteError) as exc:
            click.echo(f"opslint: error: {exc}", err=True)
            ctx.exit(EXIT_ERROR)


class _CheckCommand(click.Command):
    """``--add-noqa=REASON`` (the reason is optional and must be attached with ``=``,
    as in ruff, so that ``--add-noqa src/`` still lints ``src/``)."""

    def parse_args(self, ctx: click.Context, args: List[str]) -> List[str]:
        rewritten: List[str] = []
        for index, arg in enumerate(args):
            if arg == "--":
                rewritten += args[index:]
                break
            if arg.startswith("--add-noqa="):
                rewritten += ["--add-noqa", "--add-noqa-reason", arg.split("=", 1)[1]]
            else:
                rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


_ENVIRONMENT = """\b
Environment variables:
  OPSLINT_OUTPUT_FORMAT  default for --output-format
  OPSLINT_OUTPUT_FILE    default for -o/--output-file
  OPSLINT_CACHE_DIR      default for --cache-dir (also read by `opslint clean`)
  OPSLINT_NO_CACHE       set to 1 for --no-cache
  GITHUB_WORKSPACE       paths in github and sarif output are relative to it
  CI_PROJECT_DIR         paths in gitlab output are relative to it
"""


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=_ENVIRONMENT)
@click.version_option(__version__, "-V", "--version", prog_name="opslint")
def main() -> None:
    """opslint: find operational pitfalls (lost buffers, missing timeouts, lock bypasses...)."""


@main.command(cls=_CheckCommand, epilog=_ENVIRONMENT)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (replaces the configured set).")
@click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable in addition.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--exclude", multiple=True, help="Glob patterns to exclude (replaces the defaults).")
@click.option("--extend-exclude", multiple=True, help="Glob patterns to exclude in addition to the defaults.")
@click.option("--respect-gitignore/--no-respect-gitignore", default=None, help="Honour .gitignore files.")
@click.option("--force-exclude/--no-force-exclude", default=None, help="Apply excludes to paths passed explicitly too.")
@click.option(
    "--output-format",
    type=click.Choice(OUTPUT_FORMATS),
    envvar="OPSLINT_OUTPUT_FORMAT",
    show_envvar=True,
    help="Output format (default: full, or `output-format` in the configuration).",
)
@click.option(
    "-o",
    "--output-file",
    type=click.Path(dir_okay=False),
    envvar="OPSLINT_OUTPUT_FILE",
    show_envvar=True,
    help="Write the report to FILE instead of standard output (progress and messages stay on stderr).",
)
@click.option(
    "--statistics",
    is_flag=True,
    help="Show counts per rule instead of findings; [*] marks rules with fixes that --fix would apply.",
)
@click.option(
    "-q",
    "--quiet",
    count=True,
    help="Print the findings and nothing else (no summary, no progress); -qq: print nothing.",
)
@click.option("-s", "--silent", is_flag=True, help="Print nothing; the exit status still tells (same as -qq).")
@click.option("-e", "--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Record the current findings in FILE (by rule, path and source line, not line number) and exit 0.",
)
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Report only findings that are not in the baseline FILE (and say how many were baselined).",
)
@click.option(
    "--update-baseline",
    is_flag=True,
    help="With --baseline: remove from FILE the findings that no longer occur (it never grows).",
)
@click.option(
    "--add-noqa",
    "add_noqa",
    is_flag=True,
    help="Write `# noqa: CODE` on the lines of every finding and exit 0; --add-noqa=REASON adds a reason.",
)
@click.option("--add-noqa-reason", default="", hidden=True)
@click.option(
    "--diff-from",
    metavar="REV",
    help="Analyse the whole project, then report only findings on lines changed since the git revision REV "
    "(committed, staged and unstaged changes, and untracked files).",
)
@click.option("--fix/--no-fix", default=False, help="Apply safe fixes.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also apply (and count) unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--show-fixes", is_flag=True, help="List the fixes applied, per file.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Use this TOML file only.")
@click.option("--isolated", is_flag=True, help="Ignore all configuration files.")
@click.option("--stdin-filename", help="The name of the file read from stdin (`-`).")
@click.option("-j", "--jobs", type=int, default=0, help="Worker processes (default: one per core).")
@click.option(
    "-n",
    "--no-cache",
    is_flag=True,
    envvar="OPSLINT_NO_CACHE",
    show_envvar=True,
    help="Do not read or write the cache.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    envvar="OPSLINT_CACHE_DIR",
    show_envvar=True,
    help="Cache directory (default: .opslint_cache in the project root).",
)
def check(
    paths: Tuple[str, ...],
    select: Tuple[str, ...],
    extend_select: Tuple[str, ...],
    ignore: Tuple[str, ...],
    exclude: Tuple[str, ...],
    extend_exclude: Tuple[str, ...],
    respect_gitignore: Optional[bool],
    force_exclude: Optional[bool],
    output_format: Optional[str],
    output_file: Optional[str],
    statistics: bool,
    quiet: int,
    silent: bool,
    exit_zero: bool,
    write_baseline: Optional[str],
    baseline_file: Optional[str],
    update_baseline: bool,
    add_noqa: bool,
    add_noqa_reason: str,
    diff_from: Optional[str],
    fix: bool,
    unsafe_fixes: Optional[bool],
    diff: bool,
    show_fixes: bool,
    config_file: Optional[str],
    isolated: bool,
    stdin_filename: Optional[str],
    jobs: int,
    no_cache: bool,
    cache_dir: Optional[str],
) -> None:
    """Lint PATHS (default: the current directory)."""

    def resolve(catalog: CatalogProtocol) -> ConfigResolver:
        overrides = Overrides(
            select=_selectors(select, "select", catalog) if select else None,
            extend_select=_selectors(extend_select, "extend-select", catalog),
            ignore=_selectors(ignore, "ignore", catalog),
            exclude=tuple(p for value in exclude for p in value.split(",")) or None,
            extend_exclude=tuple(p for value in extend_exclude for p in value.split(",")),
            respect_gitignore=respect_gitignore,
            force_exclude=force_exclude,
            unsafe_fixes=unsafe_fixes,
            output_format=output_format,
        )
        resolver = ConfigResolver(overrides, config_file=config_file, isolated=isolated, catalog=catalog)
        resolver.default()  # configuration errors surface here, with exit 2
        return resolver

    stdin = paths == ("-",) or (not paths and bool(stdin_filename))
    given = _given_registry()
    # The rule catalog serves a check that may end without linting (see opslint.screen);
    # one that edits files, or has no cache to read, imports the rules at once.
    catalog = None if given or stdin or fix or diff or add_noqa or no_cache else load_catalog()
    resolver: Optional[ConfigResolver] = None
    if catalog is not None:
        try:
            resolver = resolve(catalog)
        except RulesNeeded:  # the configuration sets a rule's options: validated by the rule
            catalog = None
    if resolver is None:
        resolver = resolve(given or _registry())
    base = resolver.default()
    fmt = output_format or base.output_format or "full"
    unsafe = base.unsafe_fixes if unsafe_fixes is None else unsafe_fixes

    output = _Output(output_file)
    if stdin:
        _check_stdin(resolver, stdin_filename, fmt, fix, diff, unsafe, exit_zero, output)
        return

    level = 2 if silent else quiet
    if update_baseline and not baseline_file:
        raise click.UsageError("--update-baseline needs --baseline FILE")
    if write_baseline and baseline_file:
        raise click.UsageError("--write-baseline and --baseline exclude each other")
    if add_noqa and (fix or diff):
        raise click.UsageError("--add-noqa cannot be combined with --fix or --diff")
    cache = None if no_cache else (cache_dir or os.path.join(base.root, DEFAULT_DIR))
    options = RunOptions(fix=fix, unsafe_fixes=unsafe_fixes, diff=diff, jobs=jobs, cache_dir=cache)
    bar = ProgressBar(sys.stderr, enabled=level == 0)
    try:
        result = _run(list(paths) or ["."], resolver, options, catalog, bar)
    finally:
        bar.close()
    findings = _adoption_filters(
        result.findings, level, write_baseline, baseline_file, update_baseline, diff_from, add_noqa, add_noqa_reason
    )
    out: List[str] = []
    if diff:
        for outcome in sorted(result.changed_files, key=lambda o: o.path):
            out.append(outcome.diff)
        fixed = result.fixed
        count = sum(fixed.values())
        if level == 0:
            if count:
                click.echo(f"Would fix {count} {'problem' if count == 1 else 'problems'}.", err=True)
            else:
                click.echo("No fixes available.", err=True)
        output.emit("".join(out), level=level)
        changed = bool(result.changed_files)
        _finish(EXIT_FINDINGS if changed and not exit_zero else EXIT_CLEAN, output)

    sources = _sources(findings) if fmt == "full" and not statistics else {}
    if statistics:
        out.append(_statistics(findings, fmt, unsafe))
    else:
        out.append(report.render(fmt, findings, sources=sources, rules=_rule_docs(fmt)))
    if show_fixes and fix and level == 0:
        out.append(_show_fixes(result.files))
    # Every explicit path excluded by --force-exclude (pre-commit passing an
    # excluded file): nothing was checked, so say nothing.
    all_force_excluded = bool(paths) and base.force_exclude and not result.files and not result.problems
    if fmt in ("full", "concise") and not statistics and not all_force_excluded and level == 0:
        out.append(_summary(findings, result.fixed, unsafe, fix))
        out.append(_files_line(result.counts()))
    output.emit("".join(out), level=level)
    _finish(_exit_code(findings, exit_zero), output, result.errors)


def _run(
    paths: List[str], resolver: ConfigResolver, options: RunOptions, catalog: Optional[Catalog], bar: ProgressBar
) -> RunResult:
    """The run: settled by the screen when it can be (no rule imported), else linted."""
    if catalog is not None:
        from opslint.screen import screen

        settled = screen(paths, resolver, options, catalog)
        if settled is not None:
            return settled
        # Rebuilt with the rules: the screen's resolver may have stopped half-way
        # through a configuration that sets a rule's options.
        resolver = resolver.with_catalog(_registry())
    from opslint.runner import run

    return run(paths, resolver, options, progress=bar)


#: Output formats that describe the rules, not only the findings (SARIF's rule table).
_DESCRIBE_RULES = frozenset({"sarif"})


def _rule_docs(fmt: str) -> Optional[Dict[str, RuleDoc]]:
    """The rules' documentation, for a format that prints it (imports the rules)."""
    if fmt not in _DESCRIBE_RULES:
        return None
    from opslint.docs import rule_docs

    return rule_docs(_registry().rules())


def _adoption_filters(
    findings: List[Finding],
    level: int,
    write_baseline: Optional[str],
    baseline_file: Optional[str],
    update_baseline: bool,
    diff_from: Optional[str],
    add_noqa: bool,
    reason: str,
) -> List[Finding]:
    """Baseline and changed-lines filters, and the two actions that end the run
    (``--write-baseline``, ``--add-noqa``: exit 0)."""

    def say(text: str) -> None:
        if level == 0:
            click.echo(text, err=True)

    try:
        if write_baseline:
            count = baseline.write(write_baseline, findings)
            say(f"Wrote {_plural(count, 'finding')} to the baseline {write_baseline}.")
            sys.exit(EXIT_CLEAN)
        if baseline_file:
            split = baseline.apply(baseline_file, findings)
            findings = split.new
            if split.baselined:
                say(f"{_plural(split.baselined, 'finding')} in the baseline {baseline_file} not shown.")
            if update_baseline:
                dropped = baseline.shrink(baseline_file, split.matched)
                say(f"Removed {_plural(dropped, 'finding')} that no longer occur from the baseline {baseline_file}.")
        if diff_from:
            findings, hidden = gitdiff.filter_findings(findings, gitdiff.changed_lines(diff_from))
            if hidden:
                say(f"{_plural(hidden, 'finding')} on lines not changed since {diff_from} not shown.")
    except (baseline.BaselineError, gitdiff.GitError) as exc:
        raise ConfigError(str(exc)) from None
    if add_noqa:
        outcome = noqa_writer.add_noqa(findings, reason)
        say(f"Added {_plural(outcome.added, 'noqa directive')}.")
        if outcome.skipped:
            say(f"{_plural(outcome.skipped, 'finding')} cannot be suppressed by noqa (engine codes, unparsable files).")
        sys.exit(EXIT_CLEAN)
    return findings


def _files_line(counts: Counter[str]) -> str:
    """``Checked 12 files: 3 analysed, 8 skipped by the prefilter, 1 unreadable.``"""
    total = sum(counts.values())
    parts = [f"{counts[CHECKED]} analysed", f"{counts[SKIPPED]} skipped by the prefilter"]
    if counts[CACHED]:
        parts.append(f"{counts[CACHED]} from the cache")
    parts.append(f"{counts[UNREADABLE]} unreadable")
    return f"Checked {_plural(total, 'file')}: {', '.join(parts)}.\n"


def _exit_code(findings: Sequence[Finding], exit_zero: bool) -> int:
    if not findings or exit_zero:
        return EXIT_CLEAN
    return EXIT_FINDINGS


class _Output:
    """Where the report goes: standard output, or ``-o FILE``.

    The file is opened before anything is linted or fixed (its missing folders
    are created, as ruff does), so a path that cannot be written fails at once
    with one line and exit 2.  Should writing fail later (a full disk), the
    report goes to standard output instead, with the error on standard error:
    a run's findings are never lost because one write failed.
    """

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        self.handle: Optional[TextIO] = None
        self.failed = False
        if path:
            try:
                parent = os.path.dirname(os.path.abspath(path))
                if not os.path.isdir(parent):
                    try:
                        os.makedirs(parent, exist_ok=True)
                    except FileExistsError:
                        pass  # a file is in the way: open() says "Not a directory"
                self.handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by emit
            except OSError as exc:
                raise _WriteError(f"cannot write the output file {path}: {exc.strerror or exc}") from None

    def emit(self, text: str, err: bool = False, level: int = 0) -> None:
        """Write the report (to stderr when ``err`` and no file: stdout carries source);
        ``level`` 2 (``-qq``/``--silent``) prints nothing on stdout."""
        if self.handle is None:
            if err or level < 2:
                click.echo(text, nl=False, err=err)
            return
        try:
            with self.handle:
                self.handle.write(text)
        except OSError as exc:
            self.failed = True
            click.echo(text, nl=False)
            click.echo(
                f"opslint: error: cannot write the output file {self.path}: {exc.strerror or exc}; "
                "the report went to standard output",
                err=True,
            )


class _WriteError(Exception):
    """An output that cannot be written: one line, exit 2."""


def _finish(code: int, output: _Output, errors: Sequence[str] = ()) -> None:
    """Exit with ``code``, or 2 when a write failed (after saying which, one line each)."""
    for error in errors:
        click.echo(f"opslint: error: {error}", err=True)
    sys.exit(EXIT_ERROR if errors or output.failed else code)


def _sources(findings: Sequence[Finding]) -> Dict[str, str]:
    from opslint import source

    out: Dict[str, str] = {}
    for path in {f.path for f in findings}:
        try:
            out[path] = source.read(path).text
        except source.SourceError:
            continue
    return out


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}es" if word.endswith(("x", "s")) else f"{n} {word}s"


def _summary(findings: Sequence[Finding], fixed: Counter[str], unsafe: bool, fixing: bool) -> str:
    fixed_count = sum(fixed.values())
    if not findings:
        if fixed_count:
            return f"Found {_plural(fixed_count, 'problem')} ({fixed_count} fixed, 0 remaining).\n"
        return "All checks passed!\n"
    lines = []
    if fixed_count:
        lines.append(
            f"Found {_plural(len(findings) + fixed_count, 'problem')} ({fixed_count} fixed, {len(findings)} remaining)."
        )
    else:
        safe = sum(1 for f in findings if _applied_by_fix(f, False))
        unsafe_n = sum(1 for f in findings if f.fix and f.fix.edits and f.fix.applicability is Applicability.UNSAFE)
        fixable = safe + (unsafe_n if unsafe else 0)
        head = f"Found {_plural(len(findings), 'problem')}"
        if fixable:
            head += f" ({fixable} fixable with `--fix{' --unsafe-fixes' if unsafe and unsafe_n else ''}`)"
        lines.append(head + ".")
        if unsafe_n and not unsafe:
            lines.append(
                f"No fixes available ({_plural(unsafe_n, 'hidden fix')} can be enabled with the `--unsafe-fixes` option)."
                if not safe
                else f"{_plural(unsafe_n, 'hidden fix')} can be enabled with the `--unsafe-fixes` option."
            )
    return "\n".join(lines) + "\n"


def _statistics(findings: Sequence[Finding], fmt: str, unsafe: bool) -> str:
    """Counts per rule; a rule is fixable (``[*]``) when ``--fix`` would apply some of its
    fixes with the current settings (unsafe ones only with ``--unsafe-fixes``)."""
    counts: Counter[str] = Counter(f.code for f in findings)
    names = {f.code: f.name for f in findings}
    fixable: Counter[str] = Counter(f.code for f in findings if _applied_by_fix(f, unsafe))
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if fmt in ("json", "json-lines"):
        data = [
            {"code": c, "name": names[c], "count": n, "fixable": fixable[c] > 0, "fixable_count": fixable[c]}
            for c, n in rows
        ]
        return json.dumps(data, indent=2) + "\n"
    width = max((len(str(n)) for _, n in rows), default=1)
    return "".join(f"{n:>{width}}\t{c}\t{'[*] ' if fixable[c] else ''}{names[c]}\n" for c, n in rows)


def _applied_by_fix(f: Finding, unsafe: bool) -> bool:
    if f.fix is None or not f.fix.edits:
        return False
    return f.fix.applicability is Applicability.SAFE or (unsafe and f.fix.applicability is Applicability.UNSAFE)


def _show_fixes(files: Sequence[FileOutcome]) -> str:
    out = []
    for outcome in sorted(files, key=lambda o: o.path):
        if not outcome.fixed:
            continue
        out.append(f"Fixed {_plural(sum(outcome.fixed.values()), 'problem')} in {outcome.path}:\n")
        registry = _registry()
        for code, n in sorted(outcome.fixed.items()):
            out.append(f"    {n} × {code} ({registry[code].name})\n")
    return "".join(out)


def _check_stdin(
    resolver: ConfigResolver,
    stdin_filename: Optional[str],
    fmt: str,
    fix: bool,
    diff: bool,
    unsafe: bool,
    exit_zero: bool,
    output: _Output,
) -> None:
    """Lint standard input, read as bytes and decoded as a file is (coding
    declaration, BOM).  With ``--fix`` (as ruff does): the fixed source goes to
    stdout, encoded as it came, and the findings left go to stderr (or to
    ``-o``); the exit code counts those.  ``--diff`` prints a diff."""
    from opslint import builtin, source

    name = stdin_filename or "-"
    data = sys.stdin.buffer.read()
    settings: Settings = resolver.for_path(name) if stdin_filename else resolver.default()
    if stdin_filename and settings.force_exclude:
        from opslint.discovery import Walker

        if Walker(resolver).excluded_by_path(os.path.abspath(name), settings):
            if fix:
                _write_stdout(data)
            sys.exit(EXIT_CLEAN)
    from opslint.engine import Linter
    from opslint.fixes import fix_text, parses
    from opslint.registry import Registry

    linter = Linter(registry=resolver.catalog if isinstance(resolver.catalog, Registry) else None)
    display = display_path(name)
    rules = _rule_docs(fmt)
    try:
        src: Optional[source.SourceText] = source.decode(data)
    except source.SourceError as exc:
        src = None
        findings = [builtin.finding(builtin.UnreadableFile, display, str(exc))]
    if src is None:
        if fix:
            _write_stdout(data)  # unchanged: nothing could be fixed
        text = ""
    elif fix or diff:
        outcome = fix_text(
            src.text, lambda t: linter.lint_text(t, name, settings).findings, unsafe, original_parses=parses(src.text)
        )
        if diff:
            from opslint.runner import unified_diff

            output.emit(unified_diff(src.text, outcome.text, display) if outcome.text != src.text else "")
            _finish(EXIT_FINDINGS if outcome.text != src.text and not exit_zero else EXIT_CLEAN, output)
        try:
            fixed = src.encode(outcome.text)
        except UnicodeEncodeError as exc:
            _write_stdout(data)
            output.emit(
                report.render(
                    fmt, sorted(outcome.original, key=Finding.sort_key), sources={display: src.text}, rules=rules
                ),
                err=True,
            )
            _finish(
                EXIT_FINDINGS, output, [f"cannot encode the fixed source as {src.encoding}: {exc.reason}; not fixed"]
            )
        _write_stdout(fixed)
        findings = sorted(outcome.remaining, key=Finding.sort_key)
        body = report.render(fmt, findings, sources={display: outcome.text}, rules=rules)
        if fmt in ("full", "concise"):
            body += _summary(findings, outcome.fixed, unsafe, True)
        output.emit(body, err=True)
        _finish(_exit_code(findings, exit_zero), output)
        return
    else:
        text = src.text
        findings = sorted(linter.lint_text(text, name, settings).findings, key=Finding.sort_key)
    body = report.render(fmt, findings, sources={display: text}, rules=rules)
    if fmt in ("full", "concise"):
        body += _summary(findings, Counter(), unsafe, False)
    output.emit(body, err=fix)
    _finish(_exit_code(findings, exit_zero), output)


def _write_stdout(data: bytes) -> None:
    """Source bytes to standard output, exactly (encoding, BOM and newlines as given)."""
    sys.stdout.flush()
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:  # pragma: no cover - a text-only stdout (embedding)
        sys.stdout.write(data.decode("utf-8", "surrogateescape"))
        return
    stream.write(data)
    stream.flush()


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Show every rule.")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text")
def rule(code: Optional[str], show_all: bool, output_format: str) -> None:
    """Explain a rule, given by code (OPS502) or name (missing-timeout): What it does,
    Why it matters, Example, Fix safety, Options."""
    from opslint.docs import rule_markdown, rule_record

    registry = _registry()
    if show_all:
        codes = sorted(registry)
    elif code:
        found = registry.lookup(code)
        if found is None:
            raise click.UsageError(f"unknown rule `{code}`; `opslint rule --all` lists them")
        codes = [found.code]
    else:
        raise click.UsageError("give a rule code or --all")
    if output_format == "json":
        records = [rule_record(registry[c]) for c in codes]
        click.echo(json.dumps(records if show_all else records[0], indent=2))
        return
    click.echo("\n\n".join(rule_markdown(registry[c]) for c in codes))


@main.command()
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    envvar="OPSLINT_CACHE_DIR",
    show_envvar=True,
    help="Cache directory.",
)
def clean(cache_dir: Optional[str]) -> None:
    """Delete the cache directory (only what opslint wrote in it)."""
    from opslint.cleaning import CleanRefused, remove_cache

    target = cache_dir or os.path.join(ConfigResolver(catalog=_registry()).default().root, DEFAULT_DIR)
    try:
        result = remove_cache(target)
    except CleanRefused as exc:
        click.echo(f"opslint: error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except OSError as exc:
        click.echo(f"opslint: error: cannot remove the cache at {target}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_ERROR)
    if result.removed_directory:
        click.echo(f"Removed cache at {target}", err=True)
    elif result.removed:
        kept = ", ".join(result.kept[:5]) + (", ..." if len(result.kept) > 5 else "")
        click.echo(f"Removed opslint's cache from {target} (kept what opslint did not write: {kept})", err=True)


@main.command()
def server() -> None:
    """Run the language server on stdio (for editors)."""
    try:
        from opslint.lsp import start
    except ImportError as exc:  # pragma: no cover - pygls missing
        if (exc.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise  # a broken installation of opslint itself: show the real error
        raise click.ClickException(f"the language server needs `pip install opslint[lsp]` ({exc})") from None
    start()


def entry() -> None:  # pragma: no cover - console script
    main(prog_name="opslint")
