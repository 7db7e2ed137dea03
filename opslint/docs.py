"""Rule documentation rendered from the rule classes (docs are code)."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Dict, Iterable, List, Type

from opslint.model import RuleDoc, Severity
from opslint.rule import Rule, doc_sections, rule_doc, summary
from opslint.urls import rule_url

_AVAILABILITY = {
    "always": "Fix is always available.",
    "sometimes": "Fix is sometimes available.",
    "none": "",
}


def options_table(rule: Type[Rule]) -> List[Dict[str, Any]]:
    """Each option: its config key, type and default."""
    out = []
    hints = typing.get_type_hints(rule.Options)
    for f in dataclasses.fields(rule.Options):
        default: Any = f.default
        if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()  # type: ignore[misc,operator,unused-ignore]
        out.append({"key": f.name.replace("_", "-"), "type": _type_name(hints[f.name]), "default": default})
    return out


def _type_name(hint: Any) -> str:
    text = str(hint) if not isinstance(hint, type) else hint.__name__
    return text.replace("typing.", "")


def rule_markdown(rule: Type[Rule]) -> str:
    """The page ``opslint rule CODE`` prints (and the LSP hover and SARIF help show)."""
    body = rule_doc(rule).split("\n", 1)
    head = [f"# {rule.name} ({rule.code})", ""]
    availability = _AVAILABILITY.get(rule.fix_availability, "")
    if availability:
        head += [availability, ""]
    if not rule.default_enabled:
        head += ['This rule is off by default: enable it with `extend-select = ["' + rule.code + '"]`.', ""]
    head += [f"*{summary(rule)}*", ""]
    text = "\n".join(head) + "\n" + (body[1].strip() + "\n" if len(body) > 1 else "")
    if "Options" not in doc_sections(rule):
        options = options_table(rule)
        if options:
            text += "\n## Options\n"
            for opt in options:
                text += f"- `{opt['key']}` ({opt['type']}, default `{opt['default']!r}`), in `[tool.opslint.rules.{rule.code}]`\n"
    return text.rstrip() + "\n"


def rule_record(rule: Type[Rule]) -> Dict[str, Any]:
    return {
        "code": rule.code,
        "name": rule.name,
        "summary": summary(rule),
        "message_format": rule.message,
        "fix_availability": rule.fix_availability,
        "default_enabled": rule.default_enabled,
        "severity": rule.severity.value,
        "url": rule_url(rule.code),
        "options": [{**o, "default": _jsonable(o["default"])} for o in options_table(rule)],
        "explanation": rule_markdown(rule),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def rules_table(rules: List[Type[Rule]]) -> str:
    """The README's rule table (kept fresh by a test)."""
    rows = ["| code | name | what it flags | fix | default |", "|---|---|---|---|---|"]
    for rule in sorted(rules, key=lambda r: r.code):
        fix = {"always": "yes", "sometimes": "sometimes", "none": "suggestion only"}.get(rule.fix_availability, "")
        if getattr(rule, "internal", False) and rule.fix_availability == "none":
            fix = "-"
        default = "on" if rule.default_enabled else "off"
        rows.append(f"| {rule.code} | `{rule.name}` | {summary(rule)} | {fix} | {default} |")
    return "\n".join(rows) + "\n"


def rule_docs(rules: Iterable[Type[Rule]]) -> Dict[str, RuleDoc]:
    """code -> what reporters show of the rule (they take this, never a rule class)."""
    out = {}
    for rule in rules:
        out[rule.code] = RuleDoc(
            code=rule.code,
            name=rule.name,
            summary=summary(rule),
            what=doc_sections(rule).get("What it does", "") or summary(rule),
            markdown=rule_markdown(rule),
            url=rule_url(rule.code),
            default_enabled=bool(rule.default_enabled),
            severity=Severity.ERROR if rule.internal else rule.severity,
            fix_availability=rule.fix_availability,
            related_is_path=rule.related_is_path,
        )
    return out
