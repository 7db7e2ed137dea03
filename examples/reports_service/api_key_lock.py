"""The shared API key may only be used by one import at a time (incident 002 shape)."""

from __future__ import annotations

import redis

r = redis.Redis()


def try_claim_api_key(key_id: str, job_id: str) -> bool:
    if not r.get(f"api-key-lock:{key_id}"):
        r.set(f"api-key-lock:{key_id}", job_id)
        return True
    return False
