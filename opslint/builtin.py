"""The engine's own codes (OPS0xx): problems with a file rather than with code."""

from __future__ import annotations

from typing import ClassVar, Type

from opslint.model import Finding, Severity, Span, fingerprint
from opslint.rule import Rule


class _EngineCode(Rule):
    #: Engine codes are never run as visitors; they are reported by the engine.
    internal: ClassVar[bool] = True
    severity = Severity.ERROR


class SyntaxErrorFinding(_EngineCode):
    """A file that cannot be parsed.

    ## What it does
    Reports a file that does not parse, with Python's message and position
    (``too many nested parentheses``, ``RecursionError`` for an expression
    too deep for Python itself, ...).  The other rules do not run on that
    file; the run goes on.  Every file is checked, including those that no
    enabled rule needs to parse (no `requests`, no `posthog`, ...): those
    get CPython's ``compile``, a tenth of the cost of a full parse.  Code
    written for a newer Python than the one running opslint is not an
    error when opslint's parser (LibCST) reads it.  Errors that only the
    compiler finds (``return`` outside a function) are left to it.

    ## Why it matters
    A file that is not analysed is a file whose pitfalls go unseen, and
    "All checks passed!" must not be said of a file that does not even
    compile.  When Python accepts the file but LibCST does not (LibCST 1.x
    rejects a few rare forms such as a parenthesised annotated target
    ``(x): int``), the message says so; the same when LibCST reads a file
    into a tree that does not print back the same text (it drops a lone
    backslash-continuation line before ``except``), since findings and fixes
    there would land on the wrong lines.

    ## Example
    ```python
    def broken(:
        pass
    ```

    ## Use instead
    ```python
    def fixed():
        pass
    ```
    """

    code = "OPS001"
    name = "syntax-error"
    message = "{detail}"


class InternalError(_EngineCode):
    """A rule crashed on a file.

    ## What it does
    Reports that a rule raised an exception on a file.  The finding names the
    rule and the exception; that rule stops for this file, the other rules and
    files go on.

    ## Why it matters
    A crash is a bug in opslint, never in your code: please report it with the
    file (or a reduced version).  Running ``opslint check`` with the rule
    ignored works around it.
    """

    code = "OPS002"
    name = "internal-error"
    message = "{detail}"


class UnreadableFile(_EngineCode):
    """A file that cannot be read or decoded.

    ## What it does
    Reports a path that cannot be read (permissions, a broken symlink, a
    directory loop), a binary file, a file too large to analyse, bytes that
    do not decode in the file's declared encoding, or code that Python
    accepts but that is nested too deeply for opslint's parser to take
    safely (thousands of levels: generated code).

    ## Why it matters
    The file is not analysed.  Fix the encoding declaration, exclude the path,
    or make it readable.
    """

    code = "OPS003"
    name = "unreadable-file"
    message = "{detail}"


class FixFailed(_EngineCode):
    """Applying fixes would have produced invalid code.

    ## What it does
    Reports that applying the fixes of a file produced code that does not
    parse.  The file is left untouched.

    ## Why it matters
    Fixes must never break code; this is a bug in a rule's fix.  Please report
    it with the file.
    """

    code = "OPS004"
    name = "fix-failed"
    message = "{detail}"


class UnusedNoqa(_EngineCode):
    """A `noqa` code that suppresses nothing.

    ## What it does
    Reports the opslint codes of a line's `noqa` comment that suppressed no
    finding in this run, with a safe fix that removes them (or the whole
    directive when no code is left; a reason after the codes goes with it).

    A code counts as unused only when the rules it names were enabled for the
    file and ran on it: a code of a rule that is not selected, ignored for the
    file, or skipped by the prefilter is left alone, and so are other tools'
    codes (`E501`, `S113`), blanket `noqa` comments and file-level
    `opslint: noqa` lines.  Under the flake8 plugin flake8 owns `noqa`, so this
    code is never reported there.  Like ruff's `RUF100`.

    ## Why it matters
    A stale suppression hides the next real finding on that line: the code was
    fixed, the comment stayed, and the next regression goes unseen.

    ## Example
    ```python
    import requests

    def fetch(url):
        return requests.get(url, timeout=10)  # noqa: OPS502
    ```

    ## Use instead
    ```python
    import requests

    def fetch(url):
        return requests.get(url, timeout=10)
    ```

    ## Fix safety
    The fix is safe: it removes only codes that suppressed nothing in this
    run, and keeps other tools' codes and comments.
    """

    code = "OPS005"
    name = "unused-noqa"
    message = "Unused `noqa` directive ({detail})"
    severity = Severity.WARNING
    fix_availability = "always"


def finding(code: Type[Rule], path: str, detail: str, line: int = 1, column: int = 1) -> Finding:
    """A finding of an engine code at a point of ``path`` (the whole file: line 1)."""
    return Finding(
        code=code.code,
        name=code.name,
        message=detail,
        path=path,
        span=Span(line, column, line, column, 0, 0),
        severity=Severity.ERROR,
        fingerprint=fingerprint(code.code, path, detail),
    )
