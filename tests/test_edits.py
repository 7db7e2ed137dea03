"""The fix builders (opslint/edits.py): import placement checked by the real ruff
``I001``, try/finally wrapping, keyword insertion, line deletion, quote style."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from typing import List, Optional, Sequence

import libcst as cst
import pytest
from expectations import Case, discover
from libcst.metadata import MetadataWrapper, PositionProvider

from opslint.config import Settings
from opslint.edits import AnyEdit, Edits, string_continuation_lines
from opslint.engine import Linter
from opslint.fixes import fix_text
from opslint.model import Edit
from opslint.source import LineIndex


def _edits(source: str) -> Edits:
    module = cst.parse_module(source)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return Edits(module, lambda: positions, LineIndex(source))


def _edits_of(module: cst.Module, source: str) -> Edits:
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return Edits(module, lambda: positions, LineIndex(source))


def _apply(source: str, edits: Sequence[AnyEdit]) -> str:
    for edit in sorted(edits, key=lambda e: e.span.start if isinstance(e, Edit) else 0, reverse=True):
        assert isinstance(edit, Edit)
        source = source[: edit.span.start] + edit.content + source[edit.span.end :]
    return source


def _ruff() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "ruff")
    found = beside if os.path.exists(beside) else shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed")
    return found


def _i001(source: str) -> int:
    """How many import blocks the real ruff finds unsorted (default isort settings)."""
    out = subprocess.run(
        [_ruff(), "check", "--isolated", "--select", "I001", "--output-format", "json", "--exit-zero"]
        + ["--stdin-filename", "module.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return len(json.loads(out.stdout or "[]"))


def _isort(source: str) -> str:
    out = subprocess.run(
        [
            _ruff(),
            "check",
            "--isolated",
            "--select",
            "I001",
            "--fix",
            "--exit-zero",
            "--stdin-filename",
            "module.py",
            "-",
        ],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


# -- ensure_import ---------------------------------------------------------------

PLACEMENTS = {
    "between stdlib imports": (
        '"""Doc."""\n\nimport json\nimport sys\n\nimport requests\n',
        '"""Doc."""\n\nimport json\nimport os\nimport sys\n\nimport requests\n',
    ),
    "first of the stdlib imports": ("import sys\n\nimport requests\n", "import os\nimport sys\n\nimport requests\n"),
    "last of the stdlib imports": ("import json\nimport logging\n", "import json\nimport logging\nimport os\n"),
    "a comment stays with its import": (
        "import json\n\n# the interpreter\nimport sys\n",
        "import json\nimport os\n\n# the interpreter\nimport sys\n",
    ),
    "before the stdlib from-imports": (
        "from dataclasses import dataclass\n\nimport requests\n",
        "import os\nfrom dataclasses import dataclass\n\nimport requests\n",
    ),
    "new section before third-party": (
        '"""Doc."""\n\nimport requests\nfrom flask import Flask\n',
        '"""Doc."""\n\nimport os\n\nimport requests\nfrom flask import Flask\n',
    ),
    "new section after __future__": (
        "from __future__ import annotations\n\nimport requests\n",
        "from __future__ import annotations\n\nimport os\n\nimport requests\n",
    ),
    "new section above a section comment": (
        '"""Doc."""\n\n# Third-party\nimport requests\n',
        '"""Doc."""\n\nimport os\n\n# Third-party\nimport requests\n',
    ),
    "below a shebang": (
        "#!/usr/bin/env python\nimport requests\n",
        "#!/usr/bin/env python\nimport os\n\nimport requests\n",
    ),
    "no imports, then a def": (
        '"""Doc."""\n\n\ndef main():\n    return 1\n',
        '"""Doc."""\n\nimport os\n\n\ndef main():\n    return 1\n',
    ),
    "no imports, then an assignment": ("X = 1\n", "import os\n\nX = 1\n"),
    "no imports after __future__": (
        "from __future__ import annotations\n\n\nclass Config:\n    pass\n",
        "from __future__ import annotations\n\nimport os\n\n\nclass Config:\n    pass\n",
    ),
    "no imports, a docstring right above": ('"""Doc."""\nX = 1\n', '"""Doc."""\nimport os\n\nX = 1\n'),
    "windows newlines": ("import json\r\nimport sys\r\n", "import json\r\nimport os\r\nimport sys\r\n"),
}


@pytest.mark.parametrize("name", sorted(PLACEMENTS))
def test_ensure_import_places_like_isort(name: str) -> None:
    source, expected = PLACEMENTS[name]
    found = _edits(source).ensure_import("os")
    assert found is not None and found.name == "os" and len(found.edits) == 1
    fixed = _apply(source, found.edits)
    assert fixed == expected
    assert _i001(source) == 0 and _i001(fixed) == 0


@pytest.mark.parametrize(
    "source, name",
    [
        ("import os\n", "os"),
        ("import os.path\n", "os"),
        ("import os as _os\n", "_os"),
        ("try:\n    import os\nexcept ImportError:\n    os = None\n", None),
        ("try:\n    import os\nexcept ImportError:\n    pass\n", "os"),
        ("from pathlib import os\n", None),
        ("import json as os\n", None),
        ("os = object()\n", None),
        ("def os():\n    pass\n", None),
        ("for os in range(3):\n    pass\n", None),
    ],
)
def test_ensure_import_reuses_or_refuses(source: str, name: Optional[str]) -> None:
    found = _edits(source).ensure_import("os")
    if name is None:
        assert found is None
    else:
        assert found is not None and found.name == name and found.edits == ()


def test_ensure_import_is_for_the_standard_library() -> None:
    with pytest.raises(ValueError):
        _edits("import os\n").ensure_import("requests")


def _top_imports(text: str) -> List[str]:
    return [ast.dump(node) for node in ast.parse(text).body if isinstance(node, (ast.Import, ast.ImportFrom))]


def _inserting_cases() -> List[Case]:
    out = []
    for case in discover():
        if case.has_golden and case.golden_path is not None:
            with open(case.path, encoding="utf-8") as before, open(case.golden_path, encoding="utf-8") as after:
                if len(_top_imports(after.read())) > len(_top_imports(before.read())):
                    out.append(case)
    return out


INSERTING = _inserting_cases()


def test_some_goldens_insert_imports() -> None:
    assert len(INSERTING) >= 5


@pytest.mark.parametrize("case", INSERTING, ids=lambda c: c.id)
def test_inserted_imports_keep_isort_order(case: Case) -> None:
    """Every golden fix that adds an import: the real ``ruff --select I001`` finds the
    fixed file no less sorted than the original, and on the original with its imports
    sorted first, the fixed output is sorted."""
    assert case.golden_path is not None
    with open(case.path, encoding="utf-8") as handle:
        original = handle.read()
    with open(case.golden_path, encoding="utf-8") as handle:
        golden = handle.read()
    assert _i001(golden) <= _i001(original)
    folder = os.path.dirname(case.path)
    settings = Settings(root=folder, select=(case.code,))

    def lint(text: str) -> list:
        return Linter(strict=True, cwd=folder).lint_text(text, case.path, settings).findings

    tidy = _isort(original)
    assert _i001(tidy) == 0
    fixed = fix_text(tidy, lint, unsafe=True).text
    assert len(_top_imports(fixed)) > len(_top_imports(tidy))
    assert _i001(fixed) == 0, fixed


# -- try/finally -----------------------------------------------------------------


def _function_body(module_source: str) -> Sequence[cst.BaseStatement]:
    module = cst.parse_module(module_source)
    return cst.ensure_type(cst.ensure_type(module.body[0], cst.FunctionDef).body, cst.IndentedBlock).body


def test_wrap_never_reindents_multiline_strings() -> None:
    source = 'def main():\n    query = """\nSELECT 1\n  FROM t"""\n    run(query, f"""{x}\ntail""")\n    done()\n'
    edits = _edits(source)
    body = cst.ensure_type(cst.ensure_type(edits._module.body[0], cst.FunctionDef).body, cst.IndentedBlock).body
    edit = edits.wrap_in_try_finally(body[0], body[-1], ["client.close()"])
    assert edit is not None
    assert _apply(source, [edit]) == (
        "def main():\n"
        "    try:\n"
        '        query = """\n'
        "SELECT 1\n"
        '  FROM t"""\n'
        '        run(query, f"""{x}\n'
        'tail""")\n'
        "        done()\n"
        "    finally:\n"
        "        client.close()\n"
    )
    assert string_continuation_lines("x = '''a\nb\nc'''\n") == frozenset({2, 3})


def test_wrap_moves_a_following_statement_into_finally() -> None:
    source = "def f():\n\tlock.acquire()\n\twork()\n\t# done\n\tlock.release()  # always\n\tafter()\n"
    edits = _edits(source)
    body = cst.ensure_type(cst.ensure_type(edits._module.body[0], cst.FunctionDef).body, cst.IndentedBlock).body
    edit = edits.wrap_in_try_finally(body[1], body[1], [body[2]])
    assert edit is not None
    assert _apply(source, [edit]) == (
        "def f():\n\tlock.acquire()\n\ttry:\n\t\twork()\n\t\t# done\n\tfinally:\n\t\tlock.release()  # always\n\tafter()\n"
    )


def test_add_to_finally_appends_after_the_existing_drains() -> None:
    source = "def f():\n    try:\n        work()\n    finally:\n        a.flush()\n\n\nmain()"
    edits = _edits(source)
    body = cst.ensure_type(cst.ensure_type(edits._module.body[0], cst.FunctionDef).body, cst.IndentedBlock).body
    edit = edits.add_to_finally(cst.ensure_type(body[0], cst.Try), ["b.flush()"])
    assert edit is not None
    assert _apply(source, [edit]) == (
        "def f():\n    try:\n        work()\n    finally:\n        a.flush()\n        b.flush()\n\n\nmain()"
    )
    leaving = _edits("def f():\n    try:\n        work()\n    finally:\n        return 1\n")
    tries = cst.ensure_type(cst.ensure_type(leaving._module.body[0], cst.FunctionDef).body, cst.IndentedBlock).body
    assert leaving.add_to_finally(cst.ensure_type(tries[0], cst.Try), ["b.flush()"]) is None


def test_delete_lines_keeps_the_comment_above() -> None:
    source = "def f():\n    # why\n    r.set(k, v)\n    return 1\n"
    edits = _edits(source)
    body = cst.ensure_type(cst.ensure_type(edits._module.body[0], cst.FunctionDef).body, cst.IndentedBlock).body
    assert _apply(source, [edits.delete_lines(body[0])]) == "def f():\n    # why\n    return 1\n"


# -- string literals -------------------------------------------------------------


def test_literal_follows_the_replaced_string_else_the_file() -> None:
    single = _edits('A = \'x\'\nB = \'y\'\nC = "z"\nD = """doc"""\nE = """doc"""\n')
    assert single.literal("NAME") == "'NAME'"
    assert single.literal("it's") == '"it\'s"'
    like = cst.ensure_type(cst.parse_expression('"u"'), cst.SimpleString)
    assert single.literal("NAME", like=like) == '"NAME"'
    assert _edits("x = 1\n").literal("NAME") == '"NAME"'
    assert _edits("A = 'x'\nB = \"y\"\n").literal("NAME") == '"NAME"'
    assert _edits("A = f'{x}'\nB = b'y'\n").literal('a"b\\') == "'a\"b\\\\'"


def test_wrap_in_block_reindents_replaces_and_appends() -> None:
    source = (
        "def f(page=1):\n"
        '    """Doc."""\n'
        "    rows = get(page)\n"
        '    text = """\n'
        "keep\n"
        '"""\n'
        "    if rows:\n"
        "        # next page\n"
        "        f(page + 1)  # tail\n"
    )
    module = cst.parse_module(source)
    function = module.body[0]
    assert isinstance(function, cst.FunctionDef) and isinstance(function.body, cst.IndentedBlock)
    body = list(function.body.body)
    branch = body[-1]
    assert isinstance(branch, cst.If) and isinstance(branch.body, cst.IndentedBlock)
    tail = branch.body.body[0]
    assert isinstance(tail, cst.SimpleStatementLine)
    edits = _edits_of(module, source)
    edit = edits.wrap_in_block("while True:", body[1], body[-1], {tail: ["page = page + 1", "continue"]}, ["return"])
    assert edit is not None
    assert _apply(source, [edit]) == (
        "def f(page=1):\n"
        '    """Doc."""\n'
        "    while True:\n"
        "        rows = get(page)\n"
        '        text = """\n'
        "keep\n"
        '"""\n'
        "        if rows:\n"
        "            # next page\n"
        "            page = page + 1\n"
        "            continue  # tail\n"
        "        return\n"
    )
