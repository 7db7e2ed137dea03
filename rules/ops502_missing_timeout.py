"""OPS502 placeholder: replaced by the full rule."""

from __future__ import annotations

import libcst as cst

from opslint.rule import PendingFix, Rule, keyword


class MissingTimeout(Rule):
    """A network call that can wait forever.

    ## What it does
    Checks for calls without a timeout.

    ## Why it matters
    Incident 004.

    ## Example
    ```python
    import requests
    requests.get("https://api.example.com")
    ```

    ## Use instead
    ```python
    import requests
    requests.get("https://api.example.com", timeout=10)
    ```
    """

    code = "OPS502"
    name = "missing-timeout"
    message = "`{callee}` is called without a timeout and can wait forever"
    tokens = ("requests",)
    fix_availability = "sometimes"

    def visit_Call(self, node: cst.Call) -> None:
        callee = self.qualified_name(node.func)
        if callee != "requests.get" or keyword(node, "timeout") is not None:
            return
        new = node.with_changes(
            args=[
                *node.args[:-1],
                node.args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
                cst.Arg(
                    cst.Integer("10"),
                    keyword=cst.Name("timeout"),
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
                    ),
                ),
            ]
        )
        self.report(node, callee=callee, fix=PendingFix.unsafe("Add `timeout=10`", self.edits.replace(node, new)))
