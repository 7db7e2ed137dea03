"""The language server, driven over stdio by pytest-lsp like an editor would."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

# The server runs from the repository root; keep the source tree's `opslint`
# folder (which lacks the installed `opslint.rules`) off sys.path.
_PRELUDE = "import os, sys; sys.path[:] = [p for p in sys.path if p not in ('', '.', os.getcwd())]\n"

_SERVER = _PRELUDE + "from opslint.cli import main\nmain(['server'], prog_name='opslint')\n"

# A server with one extra rule whose fix is safe, so "fix all" and isPreferred
# can be tested independently of the real rules' fix safety.
_SERVER_WITH_SAFE_RULE = (
    _PRELUDE
    + '''
import libcst as cst
from opslint.rule import PendingFix, RelatedNode, Rule



class DebugPrint(Rule):
    """A debugging print left in service code.

    ## What it does
    Test-only rule: flags ``print(...)`` calls and replaces them with ``None``.
    """

    code = "OPS999"
    name = "debug-print"
    message = "debugging `print` call"
    tokens = ("print",)
    fix_availability = "always"

    first = None

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "print":
            related = [RelatedNode(self.first, "first print of the file")] if self.first is not None else []
            self.first = self.first or node
            self.report(node, fix=PendingFix.safe("Remove the print", self.edits.replace(node, "None")), related=related)


from opslint.lsp import start
from opslint.registry import Registry

start(Registry.default().extended([DebugPrint]))
'''
)

SERVICE = '''\
"""Fetches the rates used by the pricing job."""
import requests

LABEL = "Größe 🚀"; rates = requests.get("https://rates.example.com/v1")


def refresh(session_url):
    reply = requests.get(session_url)  # noqa: E501
    return reply.json()
'''


#: The position encoding each client negotiated (neovim offers utf-8 first; VS Code only has utf-16).
ENCODING: Dict[int, str] = {}


async def _start(client: LanguageClient, root: Path, editor: str) -> None:
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(editor),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="root")],
        )
    )
    ENCODING[id(client)] = str(result.capabilities.position_encoding or "utf-16")


def units(client: LanguageClient, text: str) -> int:
    """Length of ``text`` in the client's negotiated position units."""
    encoding = ENCODING[id(client)]
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


# One server per module (starting one costs seconds); each test works in its own tmp_path.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-c", _SERVER]))
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    await _start(lsp_client, tmp_path_factory.mktemp("workspace"), "neovim")
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(
    scope="module", config=ClientServerConfig(server_command=[sys.executable, "-c", _SERVER_WITH_SAFE_RULE])
)
async def safe_client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    await _start(lsp_client, tmp_path_factory.mktemp("workspace"), "visual_studio_code")
    yield
    await lsp_client.shutdown_session()


def _open(client: LanguageClient, path: Path, text: str, version: int = 1) -> str:
    path.write_text(text, encoding="utf-8")
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
        )
    )
    return uri


async def _diagnostics(
    client: LanguageClient, uri: str, until: Optional[Callable[[List[types.Diagnostic]], bool]] = None
) -> List[types.Diagnostic]:
    """The diagnostics published for ``uri`` (once ``until`` holds for them, when given)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        if uri in client.diagnostics:
            current = list(client.diagnostics[uri])
            if until is None or until(current):
                return current
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"diagnostics for {uri} not as expected: {client.diagnostics.get(uri)}")
        try:
            await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), remaining)
        except asyncio.TimeoutError:
            pass


def _apply(client: LanguageClient, text: str, edits: List[types.TextEdit]) -> str:
    """Apply LSP edits (in the client's position units) to a text."""
    lines = text.splitlines(keepends=True)

    def offset(pos: types.Position) -> int:
        if pos.line >= len(lines):
            return len(text)
        line = lines[pos.line]
        counted = 0
        for index, char in enumerate(line):
            if counted >= pos.character:
                return sum(len(x) for x in lines[: pos.line]) + index
            counted += units(client, char)
        return sum(len(x) for x in lines[: pos.line]) + len(line)

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def _edits(action: types.CodeAction) -> List[types.TextEdit]:
    assert action.edit is not None and action.edit.document_changes
    change = action.edit.document_changes[0]
    assert isinstance(change, types.TextDocumentEdit)
    return [e for e in change.edits if isinstance(e, types.TextEdit)]


async def _actions(
    client: LanguageClient, uri: str, diagnostics: List[types.Diagnostic], only: Optional[List[str]] = None
) -> List[types.CodeAction]:
    rng = diagnostics[0].range if diagnostics else types.Range(start=types.Position(0, 0), end=types.Position(0, 0))
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=types.CodeActionContext(diagnostics=diagnostics, only=only),
        )
    )
    return [a for a in (result or []) if isinstance(a, types.CodeAction)]


async def test_diagnostics_on_open(client: LanguageClient, tmp_path: Path) -> None:
    uri = _open(client, tmp_path / "pricing.py", SERVICE)
    diagnostics = await _diagnostics(client, uri)
    assert [d.code for d in diagnostics] == ["OPS502", "OPS502"]
    first, second = diagnostics
    assert first.source == "opslint"
    assert first.severity == types.DiagnosticSeverity.Warning
    assert first.code_description is not None and first.code_description.href.endswith("/OPS502.md")
    assert "requests.get" in first.message
    line = SERVICE.splitlines()[3]
    # In UTF-8 the umlauts count twice and the rocket four times.
    assert ENCODING[id(client)] == "utf-8"
    assert first.range.start == types.Position(line=3, character=units(client, line[: line.index("requests.get")]))
    assert second.range.start == types.Position(line=7, character=SERVICE.splitlines()[7].index("requests.get"))
    data: Dict[str, Any] = first.data
    assert data["fix"]["applicability"] in ("safe", "unsafe")
    assert data["noqa_line"] == 3


async def test_syntax_error_is_an_error(client: LanguageClient, tmp_path: Path) -> None:
    uri = _open(client, tmp_path / "broken.py", "import requests\n\ndef broken(:\n    pass\n")
    (diagnostic,) = await _diagnostics(client, uri)
    assert diagnostic.code == "OPS001" and diagnostic.severity == types.DiagnosticSeverity.Error


async def test_debounced_change_and_close(client: LanguageClient, tmp_path: Path) -> None:
    uri = _open(client, tmp_path / "jobs.py", "import requests\n\nrequests.get('https://a')\n")
    assert len(await _diagnostics(client, uri)) == 1
    # Two quick edits: only the last state counts.
    for version, text in (
        (2, "import requests\n\nrequests.get('https://a')\nrequests.get('https://b')\n"),
        (3, "import requests\n\nrequests.get('https://a', timeout=5)\n"),
    ):
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
    assert await _diagnostics(client, uri, until=lambda d: not d) == []
    # Reopen a file with findings, then close it: its diagnostics are cleared.
    other = _open(client, tmp_path / "other.py", "import requests\nrequests.get('x')\n")
    assert len(await _diagnostics(client, other)) == 1
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=other))
    )
    assert await _diagnostics(client, other, until=lambda d: not d) == []


async def test_quick_fix_and_disable_for_this_line(client: LanguageClient, tmp_path: Path) -> None:
    uri = _open(client, tmp_path / "pricing.py", SERVICE)
    first, second = await _diagnostics(client, uri)

    actions = await _actions(client, uri, [first])
    titles = [a.title for a in actions]
    fix_title = f"opslint (OPS502): {first.data['fix']['title']}"
    assert titles == [fix_title, "opslint (OPS502): Disable for this line"]
    quick_fix, disable = actions
    assert quick_fix.kind == types.CodeActionKind.QuickFix
    assert quick_fix.is_preferred == (first.data["fix"]["applicability"] == "safe")
    fixed = _apply(client, SERVICE, _edits(quick_fix))
    assert 'requests.get("https://rates.example.com/v1", timeout=' in fixed
    disabled = _apply(client, SERVICE, _edits(disable))
    assert disabled.splitlines()[3] == SERVICE.splitlines()[3] + "  # noqa: OPS502"

    # An existing noqa list is extended, not duplicated.
    actions = await _actions(client, uri, [second])
    disable = next(a for a in actions if a.title.endswith("Disable for this line"))
    merged = _apply(client, SERVICE, _edits(disable))
    assert merged.splitlines()[7] == "    reply = requests.get(session_url)  # noqa: E501, OPS502"

    # Only quick fixes when asked for them; nothing for other kinds.
    assert await _actions(client, uri, [first], only=[types.CodeActionKind.Refactor]) == []


async def test_hover_on_noqa_code(client: LanguageClient, tmp_path: Path) -> None:
    text = "import requests\n\nrequests.get('https://a')  # noqa: E501, OPS502 vendor API\n"
    uri = _open(client, tmp_path / "a.py", text)
    await _diagnostics(client, uri)
    character = text.splitlines()[2].index("OPS502") + 2
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(2, character))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert hover.contents.value.startswith("# missing-timeout (OPS502)")
    assert hover.range is not None and hover.range.start.character == character - 2
    nothing = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(2, 3))
    )
    assert nothing is None


async def test_config_from_pyproject(client: LanguageClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.opslint]\nignore = ["OPS502"]\n')
    uri = _open(client, tmp_path / "quiet.py", "import requests\nrequests.get('https://a')\n")
    assert await _diagnostics(client, uri) == []


async def test_save_relints(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "saved.py"
    uri = _open(client, path, "import requests\nrequests.get('https://a')\n")
    assert len(await _diagnostics(client, uri)) == 1
    (tmp_path / "pyproject.toml").write_text('[tool.opslint]\nignore = ["OPS5"]\n')
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    assert await _diagnostics(client, uri, until=lambda d: not d) == []


async def test_fix_all_applies_safe_fixes_only(safe_client: LanguageClient, tmp_path: Path) -> None:
    client = safe_client
    text = 'import requests\n\nprint("start")\nrequests.get("https://a")\nprint("done")\n'
    uri = _open(client, tmp_path / "job.py", text)
    diagnostics = await _diagnostics(client, uri)
    assert sorted(str(d.code) for d in diagnostics) == ["OPS502", "OPS999", "OPS999"]
    prints = [d for d in diagnostics if d.code == "OPS999"]

    actions = await _actions(client, uri, prints[:1])
    quick = next(a for a in actions if a.title == "opslint (OPS999): Remove the print")
    assert quick.is_preferred is True
    fix_all = next(a for a in actions if a.kind == "source.fixAll.opslint")
    assert fix_all.title == "opslint: Fix all auto-fixable problems"

    (requested,) = await _actions(client, uri, [], only=["source.fixAll"])
    result = _apply(client, text, _edits(requested))
    # Both prints fixed; the OPS502 fix is not safe and is left alone.
    assert result == 'import requests\n\nNone\nrequests.get("https://a")\nNone\n'

    # Nothing to do: no action.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=result)],
        )
    )
    await _diagnostics(client, uri, until=lambda d: [x.code for x in d] == ["OPS502"])
    assert await _actions(client, uri, [], only=["source.fixAll.opslint"]) == []
    await asyncio.sleep(0)


async def test_utf16_positions_and_related_information(safe_client: LanguageClient, tmp_path: Path) -> None:
    client = safe_client
    assert ENCODING[id(client)] == "utf-16"
    text = 'x = "🚀"; print(x)\nprint("ü")\n'
    uri = _open(client, tmp_path / "emoji.py", text)
    first, second = await _diagnostics(client, uri)
    assert first.range.start == types.Position(line=0, character=text.index("print") + 1)  # the rocket is 2 units
    assert first.related_information is None
    (related,) = second.related_information or []
    assert related.message == "first print of the file"
    assert related.location.uri == uri and related.location.range == first.range


async def test_saving_pyproject_relints_open_files(client: LanguageClient, tmp_path: Path) -> None:
    uri = _open(client, tmp_path / "worker.py", "import requests\nrequests.get('https://a')\n")
    assert len(await _diagnostics(client, uri)) == 1
    config = tmp_path / "pyproject.toml"
    text = '[tool.opslint]\nignore = ["OPS502"]\n'
    config.write_text(text)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=config.as_uri(), language_id="toml", version=1, text=text)
        )
    )
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=config.as_uri()))
    )
    assert await _diagnostics(client, uri, until=lambda d: not d) == []
    # The TOML file itself is never linted as Python.
    assert config.as_uri() not in client.diagnostics


async def test_disable_action_goes_where_a_comment_keeps_the_code(client: LanguageClient, tmp_path: Path) -> None:
    """Not after a backslash or inside a multi-line string (a syntax error or a changed
    string): at the end of the logical line, as --add-noqa does, which suppresses it."""
    text = (
        "import requests\n"
        "\n"
        "reply = requests.get('https://a') if True \\\n"
        "    else None\n"
        'other = requests.get("""https://b\n'
        '""")\n'
    )
    path = tmp_path / "odd.py"
    uri = _open(client, path, text)
    diagnostics = await _diagnostics(client, uri)
    assert [d.range.start.line for d in diagnostics] == [2, 4]
    lines = text.splitlines(keepends=True)
    for diagnostic, end in zip(diagnostics, [3, 5]):
        disable = next(
            a for a in await _actions(client, uri, [diagnostic]) if a.title == "opslint (OPS502): Disable for this line"
        )
        assert disable.edit is not None and disable.edit.document_changes
        (edit,) = disable.edit.document_changes[0].edits  # type: ignore[union-attr]
        assert edit.range.start.line == end and edit.new_text == "  # noqa: OPS502"
        column = edit.range.start.character
        lines[end] = lines[end][:column] + edit.new_text + lines[end][column:]
    fixed = "".join(lines)
    compile(fixed, "odd.py", "exec")
    assert 'requests.get("""https://b\n""")' in fixed  # the string is unchanged
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    assert await _diagnostics(client, uri, until=lambda d: not d) == []


async def test_deep_nesting_does_not_kill_the_server(client: LanguageClient, tmp_path: Path) -> None:
    """Issue 7: 3,000 nested parentheses used to kill the server (-11) in LibCST's native parser."""
    deep = "import requests\nx = " + "(" * 3000 + "1" + ")" * 3000 + "\n"
    uri = _open(client, tmp_path / "deep.py", deep)
    (diagnostic,) = await _diagnostics(client, uri)
    assert diagnostic.code == "OPS001" and "too many nested parentheses" in diagnostic.message
    after = _open(client, tmp_path / "after.py", "import requests\n\nrequests.get('https://a')\n")
    assert len(await _diagnostics(client, after)) == 1  # still serving


async def test_syntax_error_without_any_rule_token(client: LanguageClient, tmp_path: Path) -> None:
    uri = _open(client, tmp_path / "s.py", "def f(:\n  pass\n")
    (diagnostic,) = await _diagnostics(client, uri)
    assert diagnostic.code == "OPS001" and diagnostic.range.start.line == 0
