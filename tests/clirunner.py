"""A click test runner that keeps stdout and stderr apart on every supported click."""

from __future__ import annotations

from click.testing import CliRunner


def separate_runner() -> CliRunner:
    """stdout and stderr apart: click 8.2+ always does; before (the last on
    Python 3.9 is 8.1) only when told ``mix_stderr=False``, a keyword 8.2 removed."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()
