"""Which files to lint: paths and directories, excludes, ``.gitignore``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

from opslint.config import ConfigResolver, Settings, excluded_by

EXTENSIONS = (".py", ".pyi")


@dataclass(frozen=True)
class Discovered:
    #: Absolute path of the file.
    path: str
    #: Whether the user named this file on the command line.
    explicit: bool


@dataclass(frozen=True)
class Problem:
    """A path that could not be walked; reported, the run continues."""

    path: str
    message: str


class _GitIgnore:
    """One directory's ignore files (``.gitignore``, ``.ignore``, ``.git/info/exclude``),
    matched with ``pathspec``'s ``GitIgnoreSpec`` (git's own semantics, as black does)."""

    def __init__(self, base: str, lines: List[str]) -> None:
        from pathspec import GitIgnoreSpec  # here: a run in a folder without ignore files never needs it

        self.base = base
        stripped = [line.rstrip("\r\n") for line in lines]
        try:
            self.spec = GitIgnoreSpec.from_lines(stripped)
        except ValueError:
            # A pattern pathspec refuses: drop it alone (git ignores bad patterns too).
            self.spec = GitIgnoreSpec.from_lines([line for line in stripped if _valid(line)])

    def verdict(self, relpath: str, is_dir: bool) -> Optional[bool]:
        """True = ignored, False = re-included (``!pattern``), None = no pattern applies."""
        result = self.spec.check_file(relpath + "/" if is_dir else relpath)
        return None if result.include is None else bool(result.include)


def _valid(line: str) -> bool:
    from pathspec import GitIgnoreSpec

    try:
        GitIgnoreSpec.from_lines([line])
    except ValueError:
        return False
    return True


class Walker:
    def __init__(self, resolver: ConfigResolver) -> None:
        self.resolver = resolver
        self.problems: List[Problem] = []
        self._gitignores: Dict[str, Optional[_GitIgnore]] = {}
        self._repo_roots: Dict[str, Optional[str]] = {}

    # -- gitignore -----------------------------------------------------------

    def _gitignore(self, directory: str) -> Optional[_GitIgnore]:
        if directory in self._gitignores:
            return self._gitignores[directory]
        found: Optional[_GitIgnore] = None
        lines: List[str] = []
        for name in (".gitignore", ".ignore", os.path.join(".git", "info", "exclude")):
            try:
                with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
                    lines.extend(handle.readlines())
            except OSError:
                continue
        if lines:
            found = _GitIgnore(directory, lines)
        self._gitignores[directory] = found
        return found

    def git_ignored(self, path: str, is_dir: bool, stop_at: str, floor: Optional[str] = None) -> bool:
        """Whether the ignore files of the path's directories say it is ignored.

        Inside a git repository every directory up to the repository's root counts
        (a deeper file overrides a higher one, as in git); outside one, those up
        to ``stop_at`` (the project root). ``floor``: a folder named on the command
        line that an ignore file above it ignores; only the ignore files from it
        downwards count (as ruff does: naming a folder lints it).
        """
        directory = os.path.dirname(path)
        chain = []
        repo_root = self._repo_root(directory)
        while True:
            chain.append(directory)
            if directory in (repo_root or stop_at, floor):
                break
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        verdict: Optional[bool] = None
        for base in reversed(chain):
            ignore = self._gitignore(base)
            if ignore is None:
                continue
            rel = os.path.relpath(path, base).replace(os.sep, "/")
            hit = ignore.verdict(rel, is_dir)
            if hit is not None:
                verdict = hit
        return bool(verdict)

    def _repo_root(self, directory: str) -> Optional[str]:
        """The closest folder at or above ``directory`` holding ``.git`` (memoized)."""
        if directory in self._repo_roots:
            return self._repo_roots[directory]
        found: Optional[str]
        if os.path.exists(os.path.join(directory, ".git")):
            found = directory
        else:
            parent = os.path.dirname(directory)
            found = None if parent == directory else self._repo_root(parent)
        self._repo_roots[directory] = found
        return found

    # -- excludes ------------------------------------------------------------

    def excluded(self, path: str, settings: Settings, is_dir: bool, floor: Optional[str] = None) -> bool:
        root = settings.root
        if excluded_by(settings.all_excludes(), root, path):
            return True
        if settings.respect_gitignore and self.git_ignored(path, is_dir, root, floor):
            return True
        return False

    def excluded_by_path(self, path: str, settings: Settings) -> bool:
        """Whether any component of an explicitly passed path is excluded."""
        root = settings.root
        rel = os.path.relpath(path, root)
        if rel.startswith(".."):
            return self.excluded(path, settings, os.path.isdir(path))
        current = root
        for part in rel.split(os.sep):
            current = os.path.join(current, part)
            if self.excluded(current, settings, os.path.isdir(current)):
                return True
        return False

    # -- walking -------------------------------------------------------------

    def walk(self, paths: List[str]) -> Iterator[Discovered]:
        seen = set()
        for raw in paths:
            path = os.path.abspath(raw)
            if not os.path.lexists(path):
                self.problems.append(Problem(raw, "No such file or directory"))
                continue
            settings = self.resolver.for_path(path)
            if os.path.isdir(path):
                if settings.force_exclude and self.excluded_by_path(path, settings):
                    continue
                for found in self._walk_dir(path):
                    key = os.path.realpath(found)
                    if key not in seen:
                        seen.add(key)
                        yield Discovered(found, False)
            else:
                if settings.force_exclude and self.excluded_by_path(path, settings):
                    continue
                key = os.path.realpath(path)
                if key not in seen:
                    seen.add(key)
                    yield Discovered(path, True)

    def _walk_dir(self, top: str) -> Iterator[str]:
        visited = set()
        settings = self.resolver.for_dir(top)
        # A folder named on the command line is linted even when an ignore file above it
        # ignores it (``/versions`` in ~/.pyenv/.gitignore and the stdlib under it): the
        # ignore files inside it still apply.
        floor = top if settings.respect_gitignore and self.git_ignored(top, True, settings.root) else None

        def onerror(exc: OSError) -> None:
            self.problems.append(Problem(exc.filename or top, exc.strerror or str(exc)))

        for directory, dirnames, filenames in os.walk(top, onerror=onerror, followlinks=True):
            real = os.path.realpath(directory)
            if real in visited:
                # A symlink loop (or a second link to the same tree): walk it once.
                dirnames[:] = []
                continue
            visited.add(real)
            settings = self.resolver.for_dir(directory)
            keep = []
            for name in sorted(dirnames):
                full = os.path.join(directory, name)
                if self.excluded(full, settings, True, floor):
                    continue
                keep.append(name)
            dirnames[:] = keep
            for name in sorted(filenames):
                if not name.endswith(EXTENSIONS):
                    continue
                full = os.path.join(directory, name)
                if self.excluded(full, settings, False, floor):
                    continue
                yield full


def module_name(path: str) -> Tuple[Optional[str], Optional[str]]:
    """(dotted module name, package) derived from ``__init__.py`` files above ``path``."""
    absolute = os.path.abspath(path)
    directory, filename = os.path.split(absolute)
    stem = filename.rsplit(".", 1)[0]
    parts = [] if stem == "__init__" else [stem]
    package_parts: List[str] = []
    while os.path.isfile(os.path.join(directory, "__init__.py")) or os.path.isfile(
        os.path.join(directory, "__init__.pyi")
    ):
        package_parts.insert(0, os.path.basename(directory))
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    module = ".".join(package_parts + parts) or None
    package = ".".join(package_parts)
    return module, package


def display_path(path: str, cwd: Optional[str] = None) -> str:
    """Relative to the working directory when the file is under it (POSIX separators)."""
    absolute = os.path.abspath(path)
    base = os.path.abspath(cwd or os.getcwd())
    try:
        rel = os.path.relpath(absolute, base)
    except ValueError:  # pragma: no cover - other drive on Windows
        return absolute
    if rel.startswith(".."):
        return absolute.replace(os.sep, "/")
    return rel.replace(os.sep, "/")


def relpath(path: str, root: str) -> str:
    """``path`` relative to the configuration root ``root`` (POSIX separators; the file
    name alone for a file outside it): what per-file-ignores patterns match."""
    rel = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    return os.path.basename(path) if rel.startswith("../") else rel
