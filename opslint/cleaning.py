"""``opslint clean``: remove what opslint wrote in a cache directory, and nothing else.

A cache directory may be one the user already had (``OPSLINT_CACHE_DIR=~/.cache``):
the store then put its ``CACHEDIR.TAG``, ``.gitignore`` and ``<version>/`` folders
among other programs' files.  So the directory must carry opslint's tag (both
lines: the CACHEDIR.TAG signature and opslint's own), and even then only opslint's
entries are removed: the tag, a ``.gitignore`` holding ``*``, and version folders
laid out as the store lays them out.  The directory itself goes only when nothing
else is left in it.  A symbolic link, a file, or a directory without the tag is
refused (``CleanRefused``, exit 2 in the CLI): a mistyped ``--cache-dir .`` must
never delete a project.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from typing import List

from opslint.cache import TAG

#: A version folder's name (``0.1.0``, ``1.2.0rc1``, ``2.0.0.dev3+g1234``).
_VERSION = re.compile(r"^\d+(?:\.\d+)+[0-9A-Za-z.+-]*$")
#: What a version folder may hold: store namespaces (``findings``, ``index``,
#: ``derived``) or, from older versions, two-hex-digit shards.
_INSIDE_VERSION = re.compile(r"^(?:[a-z][a-z_]*|[0-9a-f]{2})$")


class CleanRefused(Exception):
    """The path is not an opslint cache directory; nothing was removed."""


@dataclass
class CleanResult:
    removed: List[str]
    #: Entries of the directory that opslint did not write (left in place).
    kept: List[str]
    #: Whether the directory itself was removed (it held nothing else).
    removed_directory: bool


def has_opslint_tag(directory: str) -> bool:
    try:
        with open(os.path.join(directory, "CACHEDIR.TAG"), encoding="utf-8") as handle:
            content = handle.read(4096)
    except (OSError, ValueError):
        return False
    return content.splitlines()[:2] == TAG.splitlines()[:2]


def _is_version_folder(path: str) -> bool:
    if os.path.islink(path) or not os.path.isdir(path) or not _VERSION.match(os.path.basename(path)):
        return False
    try:
        return all(_INSIDE_VERSION.match(name) for name in os.listdir(path))
    except OSError:
        return False


def _is_our_gitignore(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(64) == "*\n"
    except (OSError, ValueError):
        return False


def remove_cache(directory: str) -> CleanResult:
    """Remove opslint's entries from ``directory`` (see the module docstring)."""
    if os.path.islink(directory):
        target = os.path.realpath(directory)
        raise CleanRefused(
            f"{directory} is a symbolic link (to {target}); not following it. "
            "Pass the cache directory itself with --cache-dir"
        )
    if not os.path.lexists(directory):
        return CleanResult([], [], False)
    if not os.path.isdir(directory):
        raise CleanRefused(f"{directory} is not a directory; nothing was removed")
    if not has_opslint_tag(directory):
        raise CleanRefused(
            f"{directory} is not an opslint cache (it has no CACHEDIR.TAG written by opslint); nothing was removed"
        )
    removed: List[str] = []
    kept: List[str] = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if name in ("CACHEDIR.TAG", ".gitignore"):
            continue  # last: the tag marks the directory until its content is gone
        if _is_version_folder(path):
            shutil.rmtree(path)
            removed.append(name)
        else:
            kept.append(name)
    gitignore = os.path.join(directory, ".gitignore")
    if os.path.lexists(gitignore):
        if _is_our_gitignore(gitignore) and not os.path.islink(gitignore):
            os.unlink(gitignore)
            removed.append(".gitignore")
        else:
            kept.append(".gitignore")
    os.unlink(os.path.join(directory, "CACHEDIR.TAG"))
    removed.append("CACHEDIR.TAG")
    removed_directory = not kept
    if removed_directory:
        try:
            os.rmdir(directory)
        except OSError:
            removed_directory = False  # something appeared meanwhile: leave it
    return CleanResult(removed, sorted(kept), removed_directory)
