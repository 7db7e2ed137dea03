"""Where opslint's own code is, found without importing it (a leaf module)."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Optional


def rules_folder() -> Optional[str]:
    """The folder of ``opslint.rules``, found without importing it: installed, the
    package's own; run from a checkout's root (``python -m opslint``), ``rules/``
    beside ``opslint/`` (as ``registry`` imports it then)."""
    module = sys.modules.get("opslint.rules")
    paths = list(getattr(module, "__path__", []))
    if paths:
        return str(paths[0])
    try:
        spec = importlib.util.find_spec("opslint.rules")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return str(list(spec.submodule_search_locations)[0])
    package = os.path.dirname(os.path.abspath(__file__))  # opslint/
    folder = os.path.join(os.path.dirname(package), "rules")
    return folder if os.path.isfile(os.path.join(folder, "__init__.py")) else None
