"""The opslint language server (``opslint server``, LSP over stdio, pygls 2).

* Push diagnostics on open, save and (debounced) change: ``source`` "opslint",
  ``code`` and ``codeDescription.href`` (the rule page), severity Warning
  (Error for the engine's OPS0xx codes), related information, and the fix in
  ``data`` so code actions do not re-lint.
* Code actions: a quick fix per finding with a fix ("opslint (CODE): <title>",
  preferred when the fix is safe), "opslint (CODE): Disable for this line"
  (adds ``  # noqa: CODE`` or merges into an existing ``# noqa:`` list), and
  ``source.fixAll.opslint`` (safe fixes only, iterated to a fixed point).
* Hover on a code inside a ``# noqa`` comment shows the rule's documentation.

Positions: opslint counts code points; every range goes through the
document's position codec, so UTF-16 (the LSP default), UTF-8 or UTF-32 are
all honoured as negotiated.
"""

from __future__ import annotations

import asyncio
import os
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition, ServerTextRange

from opslint import source, suppress
from opslint._version import __version__
from opslint.config import ConfigError, ConfigResolver, Settings
from opslint.docs import rule_markdown
from opslint.engine import Linter
from opslint.fixes import fix_text, parses
from opslint.model import Applicability, Finding, Severity, Span
from opslint.registry import Registry
from opslint.report.ci import ENGINE_ERRORS
from opslint.urls import rule_url

SOURCE = "opslint"
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.{SOURCE}"
#: Seconds to wait after the last keystroke before linting.
DEBOUNCE = 0.08


@dataclass
class _Snapshot:
    uri: str
    version: Optional[int]
    text: str
    path: str


class OpslintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("opslint", __version__)
        self.pending: Dict[str, asyncio.Task[None]] = {}
        #: Lints run in worker threads; the engine's per-project index is shared state.
        self.lint_lock = threading.Lock()
        self.registry = Registry.default()

    # -- configuration and linting -------------------------------------------

    def root(self) -> Optional[str]:
        try:
            root = self.workspace.root_path
        except RuntimeError:  # pragma: no cover - before initialize
            return None
        return root if root and os.path.isdir(root) else None

    def settings_for(self, path: str) -> Settings:
        # A fresh resolver per lint: edits to pyproject.toml apply at once.
        cwd = self.root() or os.path.dirname(path) or None
        return ConfigResolver(cwd=cwd, catalog=self.registry).for_path(path)

    def linter(self, path: str) -> Linter:
        return Linter(registry=self.registry, cwd=self.root() or os.path.dirname(path) or None, editor=True)

    def lint(self, snap: _Snapshot) -> Tuple[List[Finding], str]:
        """Findings for a snapshot, and the directory their paths are relative to."""
        settings = self.settings_for(snap.path)
        linter = self.linter(snap.path)
        with self.lint_lock:
            findings = linter.lint_text(snap.text, snap.path, settings).findings
        return sorted(findings, key=Finding.sort_key), linter.cwd or os.getcwd()


server = OpslintServer()


def _snapshot(ls: OpslintServer, uri: str) -> Optional[_Snapshot]:
    doc = ls.workspace.get_text_document(uri)
    path = to_fs_path(uri) if uri.startswith("file:") else None
    if path is None:
        return None
    return _Snapshot(uri, doc.version, doc.source, path)


def _position(doc: TextDocument, lines: Sequence[str], line: int, column: int) -> types.Position:
    """1-based line and code-point column to a client position (0-based, negotiated units)."""
    return doc.position_codec.position_to_client_units(lines, ServerTextPosition(line - 1, column - 1))


def _range(doc: TextDocument, lines: Sequence[str], span: Span) -> types.Range:
    return types.Range(
        start=_position(doc, lines, span.line, span.column),
        end=_position(doc, lines, span.end_line, span.end_column),
    )


def _range_json(r: types.Range) -> Dict[str, Any]:
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


def _lines_of(text: str) -> List[str]:
    return text.splitlines(keepends=True)


def to_diagnostic(f: Finding, doc: TextDocument, lines: Sequence[str], base: str) -> types.Diagnostic:
    rng = _range(doc, lines, f.span)
    related: List[types.DiagnosticRelatedInformation] = []
    this_path = os.path.normcase(os.path.abspath(os.path.join(base, f.path)))
    for item in f.related:
        absolute = os.path.abspath(os.path.join(base, item.path))
        if os.path.normcase(absolute) == this_path:
            other_lines: Sequence[str] = lines
        else:
            try:
                other_lines = _lines_of(source.read(absolute).text)
            except source.SourceError:
                other_lines = []
        related.append(
            types.DiagnosticRelatedInformation(
                location=types.Location(
                    uri=from_fs_path(absolute) or absolute, range=_range(doc, other_lines, item.span)
                ),
                message=item.message,
            )
        )
    fix: Optional[Dict[str, Any]] = None
    if f.fix is not None:
        fix = {
            "title": f.fix.message,
            "applicability": f.fix.applicability.value,
            "edits": [{"range": _range_json(_range(doc, lines, e.span)), "newText": e.content} for e in f.fix.edits],
        }
    error = f.code in ENGINE_ERRORS or f.severity is Severity.ERROR
    return types.Diagnostic(
        range=rng,
        message=f.message,
        severity=types.DiagnosticSeverity.Error if error else types.DiagnosticSeverity.Warning,
        code=f.code,
        code_description=types.CodeDescription(href=rule_url(f.code)),
        source=SOURCE,
        related_information=related or None,
        data={
            "name": f.name,
            "fix": fix,
            # The line a noqa comment must sit on (the closing line of a multi-line string).
            "noqa_line": (f.noqa_lines[-1] if f.noqa_lines else f.span.line) - 1,
        },
    )


async def lint_and_publish(ls: OpslintServer, uri: str) -> None:
    snap = _snapshot(ls, uri)
    if snap is None:
        return
    try:
        findings, base = await asyncio.to_thread(ls.lint, snap)
    except ConfigError as exc:
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"opslint: {exc}"))
        findings, base = [], os.getcwd()
    except Exception as exc:  # noqa: BLE001 - a bug must not take the editor's server down
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        ls.window_log_message(
            types.LogMessageParams(type=types.MessageType.Error, message=f"opslint crashed on {uri}: {detail}")
        )
        return
    doc = ls.workspace.get_text_document(uri)
    if doc.version != snap.version:
        return  # a newer edit is pending; its own lint will publish
    lines = _lines_of(snap.text)
    diagnostics = [to_diagnostic(f, doc, lines, base) for f in findings]
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, version=snap.version, diagnostics=diagnostics)
    )


def _schedule(ls: OpslintServer, uri: str, delay: float) -> None:
    previous = ls.pending.pop(uri, None)
    if previous is not None and not previous.done():
        previous.cancel()

    async def run() -> None:
        if delay:
            await asyncio.sleep(delay)
        await lint_and_publish(ls, uri)

    task = asyncio.get_running_loop().create_task(run())
    ls.pending[uri] = task
    task.add_done_callback(lambda t: ls.pending.pop(uri, None) if ls.pending.get(uri) is t else None)


# -- document sync ----------------------------------------------------------------


def is_python(doc: TextDocument) -> bool:
    """Lint Python sources only (an editor may also sync pyproject.toml and others)."""
    if doc.language_id:
        return doc.language_id == "python"
    return doc.uri.endswith((".py", ".pyi"))


def _is_config(uri: str) -> bool:
    return uri.endswith("/pyproject.toml")


def _relint_open_documents(ls: OpslintServer) -> None:
    for uri, doc in list(ls.workspace.text_documents.items()):
        if is_python(doc):
            _schedule(ls, uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: OpslintServer, params: types.DidOpenTextDocumentParams) -> None:
    if is_python(ls.workspace.get_text_document(params.text_document.uri)):
        _schedule(ls, params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: OpslintServer, params: types.DidChangeTextDocumentParams) -> None:
    if is_python(ls.workspace.get_text_document(params.text_document.uri)):
        _schedule(ls, params.text_document.uri, DEBOUNCE)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: OpslintServer, params: types.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    if _is_config(uri):
        # The configuration changed: every open file may lint differently now.
        _relint_open_documents(ls)
    elif is_python(ls.workspace.get_text_document(uri)):
        _schedule(ls, uri, 0)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def did_change_watched_files(ls: OpslintServer, params: types.DidChangeWatchedFilesParams) -> None:
    if any(_is_config(change.uri) for change in params.changes):
        _relint_open_documents(ls)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
async def did_close(ls: OpslintServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


# -- code actions ---------------------------------------------------------------------


def _wants(only: Optional[Sequence[str]], kind: str) -> bool:
    """Whether a requested ``only`` filter admits ``kind`` (kinds are hierarchical)."""
    if not only:
        return True
    return any(kind == want or kind.startswith(want + ".") for want in only)


def noqa_edit(text: str, line0: int, code: str) -> Optional[Tuple[int, int, str]]:
    """Where to put ``code`` into a noqa comment for a finding on 0-based ``line0``:
    (line0, column, insert), as ``--add-noqa`` does (``opslint.suppress`` reads the
    directives and the logical lines for both).

    The comment goes at the end of the logical line (after a backslash continuation
    or a multi-line string, where it suppresses every line of the range), merged into
    an existing ``# noqa: A, B`` list; None when the code is already suppressed there
    (blanket ``# noqa``, the code or a prefix) or no safe place is known (a line ending
    in a backslash in text that does not tokenize).
    """
    lines = text.splitlines()
    if not 0 <= line0 < len(lines):
        return None
    line = suppress.logical_ends(text).get(line0 + 1, line0 + 1)
    if not line <= len(lines) or lines[line - 1].rstrip().endswith("\\"):
        return None
    existing = suppress.parse(text)
    if existing.suppressed(code, (line,)):
        return None
    directive = existing.directives.get(line)
    if directive is not None and directive.codes:
        return line - 1, directive.column + directive.codes[-1][2], f", {code}"
    return line - 1, len(lines[line - 1].rstrip()), f"  # noqa: {code}"


def _to_client(doc: TextDocument, lines: Sequence[str], line0: int, column0: int) -> types.Position:
    return doc.position_codec.position_to_client_units(lines, ServerTextPosition(line0, column0))


def _edit(uri: str, version: Optional[int], edits: List[types.TextEdit]) -> types.WorkspaceEdit:
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                edits=list(edits),
            )
        ]
    )


def _text_edit(item: Dict[str, Any]) -> types.TextEdit:
    r = item["range"]
    return types.TextEdit(
        range=types.Range(
            start=types.Position(line=r["start"]["line"], character=r["start"]["character"]),
            end=types.Position(line=r["end"]["line"], character=r["end"]["character"]),
        ),
        new_text=item["newText"],
    )


def fix_all_edit(ls: OpslintServer, doc: TextDocument) -> Optional[types.TextEdit]:
    """One whole-document edit with every safe fix applied (None when nothing changes)."""
    snap = _snapshot(ls, doc.uri)
    if snap is None:
        return None
    settings = ls.settings_for(snap.path)
    linter = ls.linter(snap.path)
    with ls.lint_lock:
        outcome = fix_text(
            snap.text,
            lambda t: linter.lint_text(t, snap.path, settings).findings,
            False,
            original_parses=parses(snap.text),
        )
    if outcome.failure or outcome.text == snap.text:
        return None
    lines = _lines_of(snap.text)
    end = types.Position(line=len(lines), character=0)
    return types.TextEdit(range=types.Range(start=types.Position(line=0, character=0), end=end), new_text=outcome.text)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll, FIX_ALL_KIND]
    ),
)
def code_action(ls: OpslintServer, params: types.CodeActionParams) -> List[types.CodeAction]:
    uri = params.text_document.uri
    doc = ls.workspace.get_text_document(uri)
    lines = _lines_of(doc.source)
    only = params.context.only
    actions: List[types.CodeAction] = []
    ours = [d for d in params.context.diagnostics if d.source == SOURCE and d.code]

    if _wants(only, types.CodeActionKind.QuickFix.value):
        for diag in ours:
            data = diag.data if isinstance(diag.data, dict) else {}
            fix = data.get("fix")
            if fix and fix.get("edits") and fix.get("applicability") != Applicability.SUGGESTION.value:
                actions.append(
                    types.CodeAction(
                        title=f"opslint ({diag.code}): {fix['title']}",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diag],
                        is_preferred=fix.get("applicability") == Applicability.SAFE.value,
                        edit=_edit(uri, doc.version, [_text_edit(e) for e in fix["edits"]]),
                    )
                )
        seen: set[Tuple[int, str]] = set()
        for diag in ours:
            data = diag.data if isinstance(diag.data, dict) else {}
            line0 = data.get("noqa_line", diag.range.start.line)
            code = str(diag.code)
            if (line0, code) in seen:
                continue
            seen.add((line0, code))
            where = noqa_edit(doc.source, int(line0), code)
            if where is None:
                continue
            at = _to_client(doc, lines, where[0], where[1])
            actions.append(
                types.CodeAction(
                    title=f"opslint ({code}): Disable for this line",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diag],
                    edit=_edit(
                        uri, doc.version, [types.TextEdit(range=types.Range(start=at, end=at), new_text=where[2])]
                    ),
                )
            )

    wants_fix_all = bool(only) and _wants(only, FIX_ALL_KIND)
    has_safe = any(
        isinstance(d.data, dict) and (d.data.get("fix") or {}).get("applicability") == Applicability.SAFE.value
        for d in ours
    )
    if wants_fix_all or (not only and has_safe):
        edit = fix_all_edit(ls, doc)
        if edit is not None:
            actions.append(
                types.CodeAction(
                    title="opslint: Fix all auto-fixable problems",
                    kind=FIX_ALL_KIND,
                    edit=_edit(uri, doc.version, [edit]),
                )
            )
    return actions


# -- hover --------------------------------------------------------------------------------


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: OpslintServer, params: types.HoverParams) -> Optional[types.Hover]:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    lines = doc.lines
    line0 = params.position.line
    if line0 >= len(lines):
        return None
    directive = suppress.parse(doc.source).directives.get(line0 + 1)
    if directive is None or not directive.codes:
        return None
    cursor = doc.position_codec.position_from_client_units(lines, params.position).character
    registry = ls.registry
    for code, first, last in directive.codes:
        first, last = directive.column + first, directive.column + last
        if first <= cursor <= last and code.upper() in registry:
            server_range = ServerTextRange(ServerTextPosition(line0, first), ServerTextPosition(line0, last))
            return types.Hover(
                contents=types.MarkupContent(
                    kind=types.MarkupKind.Markdown, value=rule_markdown(registry[code.upper()])
                ),
                range=doc.range_to_client_units(server_range),
            )
    return None


def start(registry: Optional[Registry] = None) -> None:
    """Serve on stdio (called by ``opslint server``) with ``registry``'s rules
    (default: the shipped ones)."""
    if registry is not None:
        server.registry = registry
    _roomy_thread_stacks()
    server.start_io()


#: Stack of the threads that lint (``asyncio.to_thread``): LibCST's native
#: parser recurses on the C stack, and a thread's default stack can be smaller
#: than the main thread's 8 MB (2 MB under ``ulimit -s unlimited``).  The
#: nesting guard (opslint.syntax.guard) keeps a parse within 4 MB; this is its margin.
THREAD_STACK_BYTES = 16 * 1024 * 1024


def _roomy_thread_stacks() -> None:
    try:
        if threading.stack_size() < THREAD_STACK_BYTES:
            threading.stack_size(THREAD_STACK_BYTES)
    except (ValueError, RuntimeError):  # pragma: no cover - platform without the setting
        pass
