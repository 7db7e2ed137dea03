"""Property tests over every rule (issue 7): on any generated module no rule raises
(strict linter), the CST round-trips byte for byte, and ``--fix --unsafe-fixes``
output compiles, converges and is idempotent.

Programs come from hypothesmith (valid Python built from LibCST nodes), linted
alone and appended to each rule's fixtures (so the rules meet odd code next to
what they look for).  A comment holding every rule's tokens defeats the
prefilter, so every rule runs on every example.  The default run is modest (CI
budget); ``OPSLINT_FUZZ_EXAMPLES=1000 pytest -m slow tests/test_properties.py`` runs many
more.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

import libcst as cst
import pytest

hypothesis = pytest.importorskip("hypothesis")
hypothesmith = pytest.importorskip("hypothesmith")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from opslint.config import Settings  # noqa: E402
from opslint.engine import Linter  # noqa: E402
from opslint.fixes import allowed, fix_text, parses  # noqa: E402
from opslint.model import Finding  # noqa: E402
from opslint.registry import Registry  # noqa: E402
from opslint.syntax import guard as parsing  # noqa: E402
from opslint.syntax.parse import parse_in_pieces  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REGISTRY = Registry.default()
CODES = tuple(rule.code for rule in REGISTRY.public())
TOKEN_LINE = "# " + " ".join(sorted({tok.replace("\n", " ") for r in REGISTRY.rules() for tok in r.tokens})) + "\n"
#: Single-file fixtures (realistic code that triggers the rules).
SEEDS: List[str] = sorted(
    p.read_text(encoding="utf-8")
    for p in FIXTURES.glob("OPS*/*.py")
    if not p.name.endswith(".fixed.py") and p.parent.name != "OPS001"
)

modules = st.one_of(
    hypothesmith.from_node().map(lambda code: TOKEN_LINE + code),
    st.tuples(st.sampled_from(SEEDS), hypothesmith.from_node()).map(lambda pair: pair[0] + "\n" + pair[1]),
)


def _check(text: str, folder: Path) -> None:
    path = folder / "generated.py"
    path.write_text(text, encoding="utf-8")
    linter = Linter(strict=True, cwd=str(folder))
    options = Settings(root=str(folder), select=CODES)

    def lint(source: str) -> List[Finding]:
        return linter.lint_text(source, str(path), options).findings  # strict: a rule crash raises

    # The CST round-trips byte for byte (behind the nesting guard, as the engine parses).
    try:
        module = parsing.parse_module(text)
    except (parsing.TooDeep, cst.ParserSyntaxError):
        # Refused by the guard, or a form LibCST rejects although Python accepts it
        # (found here: a form feed before a backslash continuation): the engine
        # reports OPS003/OPS001 for these; the rules still must not raise.
        lint(text)
        return
    if module.code != text:
        # Found by this test: LibCST drops a backslash-continuation line between
        # a `try` body and its `except` (`try: pass\n\\\nexcept A: ...`), so
        # positions after it are off.  Reported upstream-bound; not opslint's code.
        # The engine then reports the file as OPS001 and applies nothing.
        assert "\\\n" in text or "\\\r" in text, "CST does not round-trip"
        assert fix_text(text, lint, unsafe=True).text == text
        return
    outcome = fix_text(text, lint, unsafe=True, original_parses=parses(text))
    assert not outcome.failure, outcome.failure
    if outcome.text == text:
        return
    assert parses(outcome.text), "fixed output does not compile"
    compile(outcome.text, str(path), "exec", dont_inherit=True)
    # Converged: nothing applicable is left; idempotent: fixing again changes nothing.
    assert not [f for f in outcome.remaining if f.fix is not None and allowed(f.fix, True)]
    assert fix_text(outcome.text, lint, unsafe=True).text == outcome.text


COMMON = dict(
    deadline=None,
    # filter_too_much: hypothesmith's grammar strategy throws away the drafts that do not
    # compile, sometimes most of a run's (8 kept of 58 once): a property of the
    # generator, which failed the suite now and then, not of the code under test.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
    ],
    database=None,
)


@settings(max_examples=25, **COMMON)  # type: ignore[arg-type]
@given(text=modules)
def test_rules_on_generated_modules(text: str, tmp_path: Path) -> None:
    _check(text, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("OPSLINT_FUZZ_EXAMPLES"),
    reason="many examples (minutes): set OPSLINT_FUZZ_EXAMPLES=1000 to run (the suite runs slow tests by default)",
)
@settings(max_examples=int(os.environ.get("OPSLINT_FUZZ_EXAMPLES") or "1000"), **COMMON)  # type: ignore[arg-type]
@given(text=modules)
def test_rules_on_generated_modules_many(text: str, tmp_path: Path) -> None:
    _check(text, tmp_path)


@settings(max_examples=50, **COMMON)  # type: ignore[arg-type]
@given(text=modules)
def test_parse_in_pieces_is_the_whole_parse(text: str) -> None:
    """Cut at every candidate line, a parse in pieces is the whole parse's tree, or declines."""
    try:
        whole = cst.parse_module(text)
    except cst.ParserSyntaxError:
        assert parse_in_pieces(text, 1) is None
        return
    pieces = parse_in_pieces(text, 1)
    if pieces is not None:
        assert pieces.deep_equals(whole)
        assert (pieces.code, pieces.default_indent, pieces.default_newline) == (
            whole.code,
            whole.default_indent,
            whole.default_newline,
        )
