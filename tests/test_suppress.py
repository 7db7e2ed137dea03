from __future__ import annotations

import pytest

from opslint.suppress import parse


@pytest.mark.parametrize(
    ("comment", "code", "suppressed"),
    [
        ("# noqa: OPS502", "OPS502", True),
        ("# noqa: OPS502", "OPS501", False),
        ("# noqa:OPS502", "OPS502", True),
        ("#noqa: OPS502", "OPS502", True),
        ("#  noqa  :  OPS502", "OPS502", True),
        ("# NOQA: OPS502", "OPS502", True),
        ("# noqa: ops502", "OPS502", True),
        ("# noqa: OPS501, OPS502", "OPS502", True),
        ("# noqa: OPS501,OPS502", "OPS502", True),
        ("# noqa: OPS501 OPS502", "OPS502", True),
        ("# noqa: OPS5", "OPS502", True),
        ("# noqa: OPS", "OPS502", True),
        ("# noqa: OPS6", "OPS502", False),
        ("# noqa: OPS502 the provider has its own deadline", "OPS502", True),
        ("# noqa: OPS501 because reasons", "OPS502", False),
        ("# noqa", "OPS502", True),
        ("#noqa", "OPS502", True),
        ("# noqa:", "OPS502", False),
        ("# type: ignore  # noqa: OPS502", "OPS502", True),
        ("# noqanot", "OPS502", False),
    ],
)
def test_inline(comment: str, code: str, suppressed: bool) -> None:
    text = f"x = call()  {comment}\n"
    assert parse(text).suppressed(code, [1]) is suppressed


def test_noqa_inside_a_string_is_not_a_comment() -> None:
    text = 'x = "# noqa: OPS502"\n'
    assert not parse(text).suppressed("OPS502", [1])


def test_only_the_commented_line() -> None:
    text = "a = 1  # noqa: OPS502\nb = 2\n"
    noqa = parse(text)
    assert noqa.suppressed("OPS502", [1])
    assert not noqa.suppressed("OPS502", [2])


@pytest.mark.parametrize(
    ("directive", "code", "suppressed"),
    [
        ("# opslint: noqa", "OPS502", True),
        ("#opslint:noqa", "OPS502", True),
        ("# opslint: noqa: OPS501", "OPS501", True),
        ("# opslint: noqa: OPS501", "OPS502", False),
        ("# opslint: noqa: OPS501, OPS502", "OPS502", True),
        ("# OPSLINT: NOQA: OPS5", "OPS502", True),
    ],
)
def test_file_level(directive: str, code: str, suppressed: bool) -> None:
    text = f'"""Module."""\n{directive}\nimport os\n\nx = 1\n'
    assert parse(text).suppressed(code, [5]) is suppressed


def test_file_level_directive_must_be_on_its_own_line() -> None:
    text = "x = 1  # opslint: noqa\n"
    noqa = parse(text)
    assert noqa.file_codes is None
    assert not noqa.suppressed("OPS502", [2])


def test_editor_noqa_edit_merges_and_respects_existing_directives() -> None:
    from opslint.lsp import noqa_edit

    text = (
        "import requests\n"
        "a = requests.get(u)  # noqa: E501\n"
        "b = requests.get(u)  # noqa\n"
        "c = requests.get(u)  # noqa: OPS5\n"
        "d = requests.get(u)\n"
        "e = requests.get(u) if x \\\n"
        "    else None\n"
    )
    lines = text.splitlines()
    # Merged into the list: right after its last code.
    assert noqa_edit(text, 1, "OPS502") == (1, lines[1].index("E501") + 4, ", OPS502")
    assert noqa_edit(text, 2, "OPS502") is None  # blanket
    assert noqa_edit(text, 3, "OPS502") is None  # a prefix already listed
    assert noqa_edit(text, 4, "OPS502") == (4, len(lines[4]), "  # noqa: OPS502")
    # After a backslash continuation: at the end of the logical line.
    assert noqa_edit(text, 5, "OPS502") == (6, len(lines[6]), "  # noqa: OPS502")
