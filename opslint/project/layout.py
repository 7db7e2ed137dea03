"""Project roots, module names and the files a project holds."""

from __future__ import annotations

import fnmatch
import os
import re
from typing import (
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Tuple,
)

#: Files whose presence marks a project root.
ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
#: Directories never indexed (by base name).
SKIP_DIRS = (
    ".*",
    "__pycache__",
    "node_modules",
    "venv",
    "env",
    "site-packages",
    "build",
    "dist",
    "_build",
    "buck-out",
    "*.egg-info",
)
#: A safety net for roots that turn out to be huge (a home directory).
MAX_FILES = 50_000

# Every run walks the whole project (a one-file pre-commit run too): one regex for the
# skipped names, not one ``fnmatch`` per pattern and folder (Django has 3,231 folders).
_SKIPPED = re.compile("|".join(fnmatch.translate(pattern) for pattern in SKIP_DIRS))


_root_cache: Dict[str, str] = {}
#: Directories named on the command line (see ``name_directories``).
_named: List[str] = []


def name_directories(paths: Iterable[str]) -> None:
    """The directories a run was given (``opslint check src/``): a file under one of them,
    with no root marker above it, belongs to the project of the nearest such directory
    instead of its own folder's (``bin/nightly.py`` beside ``jobs/``, or Airflow's
    ``dags/`` beside the package it imports: neither folder is a package)."""
    named = sorted({os.path.abspath(p) for p in paths if os.path.isdir(p)}, key=len, reverse=True)
    if named != _named:
        _named[:] = named
        _root_cache.clear()


def has_root_marker(directory: str, listing: Optional[Iterable[str]] = None) -> bool:
    """Whether ``directory`` holds one of ``ROOT_MARKERS``.  With the folder's ``listing``
    (a walk has it already) only a listed marker is checked on disk (a broken link is not
    a marker), instead of one ``exists`` call per marker."""
    if listing is None:
        return any(os.path.exists(os.path.join(directory, m)) for m in ROOT_MARKERS)
    names = set(listing)
    return any(m in names and os.path.exists(os.path.join(directory, m)) for m in ROOT_MARKERS)


def find_root(path: str) -> str:
    """The project root of a file or directory (see the module docstring)."""
    absolute = os.path.abspath(path)
    start = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
    cached = _root_cache.get(start)
    if cached is not None:
        return cached
    directory = start
    found: Optional[str] = None
    while True:
        if has_root_marker(directory) or _is_library_dir(directory):
            found = directory
            break
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    if found is None:
        # The parent of the top-most package, else the directory itself.
        directory = start
        while os.path.isfile(os.path.join(directory, "__init__.py")):
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        found = directory
        for named in _named:
            if directory == named or directory.startswith(named + os.sep):
                found = named
                break
    _root_cache[start] = found
    return found


def _is_library_dir(directory: str) -> bool:
    """An installed-code tree (``site-packages``, or a ``lib/pythonX.Y`` holding one).

    The root search stops there: code under it never belongs to a project
    further up (``~/.pyenv`` is a git checkout, and everything in it is not one
    project).
    """
    name = os.path.basename(directory)
    return name in ("site-packages", "dist-packages") or os.path.isdir(os.path.join(directory, "site-packages"))


def _is_package_dir(directory: str) -> bool:
    # Asked for every file of every directory above it: remembered per directory
    # (``forget`` clears it with the other caches of a process).
    found = _package_dirs.get(directory)
    if found is None:
        found = _package_dirs[directory] = os.path.isfile(os.path.join(directory, "__init__.py")) or os.path.isfile(
            os.path.join(directory, "__init__.pyi")
        )
    return found


_package_dirs: Dict[str, bool] = {}
#: (folder, root) -> (its ``__init__`` chain of package names, its path parts from the
#: root): the same for every file of a folder.  Cleared with ``_package_dirs``.
_folders: Dict[Tuple[str, str], Tuple[List[str], List[str]]] = {}


def _folder_names(directory: str, root: str) -> Tuple[List[str], List[str]]:
    found = _folders.get((directory, root))
    if found is None:
        chain: List[str] = []
        current = directory
        while _is_package_dir(current):
            chain.insert(0, os.path.basename(current))
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
        rel = os.path.relpath(directory, root)
        parts = [] if rel == os.curdir else rel.replace(os.sep, "/").split("/")
        found = _folders[(directory, root)] = (chain, parts)
    return found


def module_names(path: str, root: str) -> Tuple[str, List[str], bool]:
    """(canonical module name, other names it may be imported as, is package).

    The canonical name follows the ``__init__.py`` chain when the file sits in a
    package; otherwise (scripts, namespace packages) it is the path relative to
    the root, with a leading ``src/`` dropped.
    """
    absolute = os.path.abspath(path)
    directory, filename = os.path.split(absolute)
    stem = filename.rsplit(".", 1)[0]
    is_package = stem == "__init__"
    own = [] if is_package else [stem]
    chain, folder_parts = _folder_names(directory, root)
    chain_name = ".".join(chain + own)
    rel_parts = [*folder_parts, filename]
    names: List[str] = []
    if not rel_parts[0].startswith(".."):
        parts = rel_parts[:-1] + own
        if parts and parts[0] == "src" and len(parts) > 1:
            parts = parts[1:]
        if all(p.isidentifier() for p in parts) and parts:
            names.append(".".join(parts))
    if chain_name and chain_name not in names:
        if chain and _is_package_dir(directory):
            names.insert(0, chain_name)
        else:
            names.append(chain_name)
    if not names:
        names = [stem]
    return names[0], names[1:], is_package


def skipped_dir(name: str) -> bool:
    """Whether the index never walks into a directory of this base name."""
    return _SKIPPED.match(name) is not None


#: Whether the project's configuration keeps a file or folder (absolute path) out.
Excluded = Callable[[str], bool]


def in_walk(root: str, path: str, excluded: Optional[Excluded] = None) -> bool:
    """Whether ``path`` lies where ``iter_project_files(root, excluded)`` walks (no
    skipped or excluded directory between the root and the file, nor the file itself
    excluded)."""
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute, root)
    parts = rel.replace(os.sep, "/").split("/")
    if rel.startswith("..") or any(skipped_dir(part) for part in parts[:-1]):
        return False
    if excluded is not None:
        current = root
        for part in parts:
            current = os.path.join(current, part)
            if excluded(current):
                return False
    return True


def iter_project_files(root: str, excluded: Optional[Excluded] = None) -> Iterator[str]:
    """Python files of a project, skipping nested projects, tool folders and what the
    project's configuration excludes (``config.project_excludes``)."""
    count = 0
    top = True
    for directory, dirnames, filenames in os.walk(root):
        # A folder holding a root marker is a project of its own (read from the listing
        # the walk made anyway).
        if not top and has_root_marker(directory, (*dirnames, *filenames)):
            dirnames[:] = []
            continue
        top = False
        keep = []
        for name in sorted(dirnames):
            if skipped_dir(name):
                continue
            if excluded is not None and excluded(os.path.join(directory, name)):
                continue
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.endswith(".py"):
                full = os.path.join(directory, name)
                if excluded is not None and excluded(full):
                    continue
                count += 1
                if count > MAX_FILES:
                    return
                yield full
