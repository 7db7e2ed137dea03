"""The README's rule table is generated from the rule classes; keep it fresh."""

from __future__ import annotations

import re
from pathlib import Path

from opslint.docs import rules_table
from opslint.registry import Registry

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- rules:start -->\n", "<!-- rules:end -->"


def test_rule_table_is_fresh(update_golden: bool) -> None:
    text = README.read_text(encoding="utf-8")
    table = rules_table(Registry.default().rules())
    fresh = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: START + table + END, text, flags=re.S)
    if update_golden and fresh != text:
        README.write_text(fresh, encoding="utf-8")
        text = fresh
    assert fresh == text, "README rule table is stale: run `pytest tests/test_readme.py --update-golden`"


def test_quick_start_has_exactly_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## Quick start\n.*?```(?:sh|bash|console)?\n(.*?)```", text, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    assert len(commands) == 2
    assert "examples" in commands[0] and "pytest" in commands[1]
