"""Invariants over the rule catalog: codes, names, docs, fixtures, README table."""

from __future__ import annotations

import ast
import os
import re
import textwrap
from typing import List, Type

import pytest
from expectations import FIXTURES, discover

from opslint.config import Settings
from opslint.engine import Linter
from opslint.registry import Registry
from opslint.rule import Rule, code_blocks, doc_sections

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES_DIR = os.path.join(ROOT, "rules")
REGISTRY = Registry.default()
PUBLIC = REGISTRY.public()
REQUIRED_SECTIONS = ("What it does", "Why it matters", "Example", "Use instead")


def _rule_ids(rules: List[Type[Rule]]) -> List[str]:
    return [r.code for r in rules]


def test_every_rule_module_is_imported_and_named_by_code() -> None:
    modules = sorted(f[:-3] for f in os.listdir(RULES_DIR) if re.match(r"ops\d{3}_.*\.py$", f))
    with open(os.path.join(RULES_DIR, "__init__.py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "opslint.rules"
        for alias in node.names
    }
    for module in modules:
        assert module in imported, f"rules/__init__.py must import {module}"
    by_module = {r.__module__.rsplit(".", 1)[-1]: r for r in PUBLIC}
    assert sorted(by_module) == modules
    for module, rule in by_module.items():
        assert module == f"{rule.code.lower()}_{rule.name.replace('-', '_')}", module


@pytest.mark.parametrize("rule", PUBLIC, ids=_rule_ids(PUBLIC))
def test_docs_have_the_sections(rule: Type[Rule]) -> None:
    sections = doc_sections(rule)
    for heading in REQUIRED_SECTIONS:
        assert sections.get(heading), f"{rule.code} docstring lacks `## {heading}`"
    assert re.search(r"incident|Incident", sections["Why it matters"]), "tell the incident"
    if rule.fix_availability != "none":
        assert sections.get("Fix safety"), f"{rule.code} has fixes: document `## Fix safety`"


def _lint(rule: Type[Rule], code: str) -> List[str]:
    settings = Settings(select=(rule.code,), root=ROOT)
    path = os.path.join(ROOT, "docs_example.py")
    result = Linter(strict=True).lint_text(textwrap.dedent(code), path, settings)
    return [f.code for f in result.findings if f.code == rule.code]


@pytest.mark.parametrize("rule", PUBLIC, ids=_rule_ids(PUBLIC))
def test_example_fires_and_use_instead_does_not(rule: Type[Rule]) -> None:
    if getattr(rule, "doc_examples_need_project", False):
        pytest.skip("cross-file rule: its examples are covered by project fixtures")
    sections = doc_sections(rule)
    examples = code_blocks(sections["Example"])
    fixed = code_blocks(sections["Use instead"])
    assert examples and fixed, f"{rule.code}: Example and Use instead need ```python blocks"
    for block in examples:
        assert _lint(rule, block), f"{rule.code}: the Example does not trigger the rule:\n{block}"
    for block in fixed:
        assert not _lint(rule, block), f"{rule.code}: the Use-instead block triggers the rule:\n{block}"


@pytest.mark.parametrize("rule", PUBLIC, ids=_rule_ids(PUBLIC))
def test_rule_has_positive_and_negative_fixtures(rule: Type[Rule]) -> None:
    cases = [c for c in discover(FIXTURES) if c.code == rule.code]
    assert any(c.expected() for c in cases), f"{rule.code}: no positive fixture"
    assert any(not c.expected() for c in cases), f"{rule.code}: no negative fixture"


@pytest.mark.parametrize("rule", PUBLIC, ids=_rule_ids(PUBLIC))
def test_message_fields_are_named(rule: Type[Rule]) -> None:
    assert "{}" not in rule.message and not re.search(r"\{\d", rule.message)
    assert rule.tokens or rule.code == "OPS000", f"{rule.code}: declare prefilter tokens"
