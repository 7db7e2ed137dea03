"""Nightly export, run as a one-off ECS task (incident 000 shape)."""

from __future__ import annotations

import sys

from hackle import hackle

from provider_client import ReportsClient

hackle_client = hackle.Client(sdk_key="server-sdk-key")


def main() -> int:
    client = ReportsClient(api_key="...")
    report = client.fetch("acme", "2026-11-01", "2026-11-21")
    if not report.get("rows"):
        hackle_client.track("export_empty", "acme")
        return 1
    hackle_client.track("export_done", "acme")
    return 0


if __name__ == "__main__":
    sys.exit(main())
