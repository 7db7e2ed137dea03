"""Client for the ad-platform reporting API (incident 003 and 004 shapes)."""

from __future__ import annotations

import requests

REPORTS_API = "http://api.adplatform-partner.com/v2/reports"


class ReportsClient:
    def __init__(self, api_key: str) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def fetch(self, account_id: str, start: str, end: str) -> dict:
        response = self.session.get(f"{REPORTS_API}?account={account_id}&start={start}&end={end}")
        response.raise_for_status()
        return response.json()

    def delete_generated(self, account_id: str) -> None:
        requests.delete(f"{REPORTS_API}/{account_id}/generated", headers=self.session.headers)
