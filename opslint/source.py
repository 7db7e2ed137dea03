"""Reading and writing source files without losing their encoding, BOM or newlines."""

from __future__ import annotations

import ast
import bisect
import codecs
import errno
import io
import os
import re
import sys
import tempfile
import tokenize
import warnings
from dataclasses import dataclass
from typing import List, Tuple

from opslint.model import Span

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9 and 3.10
    import tomli as tomllib

#: Files above this size are reported, not parsed (generated data, minified code).
MAX_FILE_BYTES = 5 * 1024 * 1024

_NEWLINE = re.compile(r"\r\n|\r|\n")


class SourceError(Exception):
    """A file that cannot be turned into text (unreadable, binary, undecodable)."""


@dataclass(frozen=True)
class SourceText:
    """Decoded text of a file plus what is needed to write it back byte-exact."""

    text: str
    encoding: str
    bom: bool

    def encode(self, text: str) -> bytes:
        data = text.encode(self.encoding)
        return codecs.BOM_UTF8 + data if self.bom else data


def decode(data: bytes) -> SourceText:
    """Decode Python source bytes honouring PEP 263 cookies and a UTF-8 BOM."""
    if b"\0" in data[:8192]:
        raise SourceError("binary file (contains NUL bytes)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(str(exc)) from None
    bom = encoding == "utf-8-sig"
    if bom:
        encoding = "utf-8"
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(f"cannot decode as {encoding}: {exc}") from None
    return SourceText(text, encoding, bom)


def read_bytes(path: str) -> bytes:
    """A file's bytes; ``SourceError`` when it is over ``MAX_FILE_BYTES`` (the limit
    linting and the project index share); ``OSError`` when it cannot be read."""
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise SourceError(f"file too large ({size} bytes > {MAX_FILE_BYTES})")
    with open(path, "rb") as handle:
        return handle.read()


def read(path: str) -> SourceText:
    try:
        data = read_bytes(path)
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror or exc}") from None
    return decode(data)


def write_atomic(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` so readers never see a half-written file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".opslint-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_source(path: str, data: bytes) -> None:
    """Write fixed source back to the user's file ``path``.

    As ruff does: a symbolic link is written through (its target gets the new
    content and the link stays a link, wherever the target is), and the
    file's mode is kept.  A read-only file (no write bit, or not writable by
    this user) is refused with ``PermissionError`` rather than replaced: a
    linter must not overwrite what the user protected, even as root.  The
    write is atomic (a temporary file in the target's folder, then a rename),
    except for a file with several hard links, which is rewritten in place so
    that every link sees the fix.  Not for cache entries: a planted link in a
    cache must be replaced, never followed (``write_atomic``).
    """
    target = os.path.realpath(path)
    info = os.stat(target)
    if not info.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, "the file is read-only", path)
    if info.st_nlink > 1:
        with open(target, "r+b") as handle:
            handle.write(data)
            handle.truncate()
        return
    write_atomic(target, data)


class LineIndex:
    """Converts between (1-based line, 0-based column) and text offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        starts.extend(m.end() for m in _NEWLINE.finditer(text))
        self.starts: List[int] = starts

    def offset(self, line: int, column: int) -> int:
        if line - 1 >= len(self.starts):
            return len(self.text)
        return min(self.starts[line - 1] + column, len(self.text))

    def position(self, offset: int) -> Tuple[int, int]:
        """(1-based line, 0-based column) of an offset."""
        line = bisect.bisect_right(self.starts, offset) - 1
        return line + 1, offset - self.starts[line]

    def span(self, start: int, end: int) -> Span:
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        return Span(line, col + 1, end_line, end_col + 1, start, end)

    def line_text(self, line: int) -> str:
        if line - 1 >= len(self.starts):
            return ""
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    @property
    def line_count(self) -> int:
        return len(self.starts)


def parse_ast(text: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse`` without the compiler's warnings (``invalid escape sequence``
    and the like belong to the user's other tools, not on opslint's stderr)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, filename=filename)


def parse_ast_expression(text: str) -> ast.Expression:
    """``ast.parse(text, mode="eval")``, without the compiler's warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, mode="eval")


def pyproject_scripts(pyproject: str) -> List[Tuple[str, str]]:
    """(script name, ``module:function``) pairs of a ``pyproject.toml`` (none when unreadable)."""
    try:
        with open(pyproject, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return []
    out: List[Tuple[str, str]] = []
    tables = [data.get("project", {}).get("scripts", {}), data.get("project", {}).get("gui-scripts", {})]
    tool = data.get("tool", {})
    if isinstance(tool, dict):
        poetry = tool.get("poetry", {})
        if isinstance(poetry, dict):
            tables.append(poetry.get("scripts", {}))
    for table in tables:
        if not isinstance(table, dict):
            continue
        for name, target in table.items():
            if isinstance(target, dict):
                target = target.get("reference", target.get("callable", ""))
            if isinstance(target, str):
                out.append((str(name), target.split("[", 1)[0].strip()))
    return out
