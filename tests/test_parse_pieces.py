"""A long text is parsed in pieces (``opslint.syntax.parse``): the same tree as a whole
parse, or a whole parse when the pieces cannot be trusted (issue 7: the parser's
transient memory set the run's peak)."""

from __future__ import annotations

import sysconfig
from pathlib import Path
from typing import List, Optional

import libcst as cst
import pytest

from opslint.syntax import parse

ROOT = Path(__file__).resolve().parent.parent
STDLIB = Path(sysconfig.get_paths()["stdlib"])
#: Long real modules of varied shapes (webbrowser.py does not print back under LibCST 1.9).
STDLIB_SAMPLE = ["typing.py", "argparse.py", "dataclasses.py", "webbrowser.py", "tokenize.py", "inspect.py"]


def _same(text: str, piece: int = 1) -> Optional[cst.Module]:
    """Parse ``text`` in pieces (cut at every candidate line) and check it against a whole parse."""
    whole = cst.parse_module(text)
    pieces = parse.parse_in_pieces(text, piece)
    if pieces is None:
        return None
    assert pieces.deep_equals(whole)
    assert pieces.code == whole.code
    assert (pieces.default_indent, pieces.default_newline, pieces.has_trailing_newline, pieces.encoding) == (
        whole.default_indent,
        whole.default_newline,
        whole.has_trailing_newline,
        whole.encoding,
    )
    return pieces


def _real_files() -> List[Path]:
    # The fixtures meet the same check in test_properties (with generated code appended).
    ours = sorted([*ROOT.glob("opslint/**/*.py"), *ROOT.glob("rules/*.py")])
    return [*ours, *(STDLIB / name for name in STDLIB_SAMPLE if (STDLIB / name).is_file())]


def test_real_code_in_pieces_is_the_whole_parse() -> None:
    cut = 0
    for path in _real_files():
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        try:
            cst.parse_module(text)
        except cst.ParserSyntaxError:
            assert parse.parse_in_pieces(text, 1) is None, path
            continue
        if _same(text, 200) is not None and parse.cut_points(text, 200):
            cut += 1
    assert cut > 50  # the check ran on many files that were really cut


SHAPES = {
    "comments and blank lines between pieces": (
        "import os\n\n\n# about f\n\n@dec  # trailing\n# between decorator lines\n@other\ndef f():\n    return 1\n"
        "    # indented footer of f\n# column 0\n\nclass C:\n    x = 1\n\n\n# module footer\n"
    ),
    "async def and a class after a docstring": '"""Doc."""\nasync def a():\n    await b()\nclass K(Base):\n    pass\n',
    "no trailing newline": "def f():\n    pass\ndef g():\n    pass",
    "CRLF": "def f():\r\n    pass\r\n\r\ndef g():\r\n    pass\r\n",
    "tabs": "def f():\n\tif x:\n\t\treturn 1\ndef g():\n\treturn 2\n",
    "first piece without a block, later two spaces": "x = 1\ndef f():\n  return 1\ndef g():\n  return 2\n",
    "one-line suites": "def f(): return 1\nclass C: pass\ndef g():\n    pass\n",
    "match statement": "def f(x):\n    match x:\n        case 1:\n            pass\ndef g():\n    pass\n",
}


@pytest.mark.parametrize("text", SHAPES.values(), ids=SHAPES.keys())
def test_shapes_in_pieces_are_the_whole_parse(text: str) -> None:
    assert parse.cut_points(text, 1)
    assert _same(text) is not None


UNTRUSTED = {
    "a cut inside a triple-quoted string": 'x = 1\nDOC = """\ndef not_code():\n"""\ndef f():\n    pass\n',
    "a cut between a multi-line decorator and its def": "x = 1\n@dec(\n    1,\n)\ndef f():\n    pass\n",
    "a cut inside brackets (a matrix product)": "x = 1\na = (b\n@ c)\ndef f():\n    pass\n",
    "indentation that differs between pieces": "def f():\n  return 1\ndef g():\n    return 2\n",
    "line endings that differ between pieces": "x = 1\nclass A:\\\r\n pass\n",
    "CRLF after LF": "def f():\n    pass\ndef g():\r\n    pass\r\n",
}


@pytest.mark.parametrize("text", UNTRUSTED.values(), ids=UNTRUSTED.keys())
def test_untrusted_cuts_fall_back_to_a_whole_parse(text: str) -> None:
    assert parse.cut_points(text, 1)
    assert _same(text) is None
    # Through the entry point the tree is always the whole parse's.
    assert parse.parse_module(text).deep_equals(cst.parse_module(text))


def test_a_syntax_error_raises_the_whole_parses_error() -> None:
    text = "def f():\n    pass\n" * 4000 + "def g(:\n    pass\n"
    assert len(text) > 2 * parse.PIECE
    with pytest.raises(cst.ParserSyntaxError) as whole:
        cst.parse_module(text)
    with pytest.raises(cst.ParserSyntaxError) as ours:
        parse.parse_module(text)
    assert (ours.value.raw_line, ours.value.raw_column, ours.value.message) == (
        whole.value.raw_line,
        whole.value.raw_column,
        whole.value.message,
    )


def test_long_text_is_cut_into_pieces_of_about_the_piece_size() -> None:
    text = "".join(f"def f{i}():\n    return {i}\n\n" for i in range(20000))
    points = parse.cut_points(text)
    sizes = [b - a for a, b in zip([0, *points], [*points, len(text)])]
    assert len(points) == len(text) // parse.PIECE
    assert min(sizes[:-1]) >= parse.PIECE and max(sizes) < parse.PIECE + 100
    module = parse.parse_module(text)
    assert module.code == text and len(module.body) == 20000
