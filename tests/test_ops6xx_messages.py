"""OPS601/OPS602 messages: the arithmetic and the related locations the issue asks for.

The fixture suite checks where findings land; these check what they say on the cases the
incident and the docs rely on (incident 004, a per-poll bulk write, a settings module)."""

from __future__ import annotations

import os
from typing import Any, List, Tuple

import pytest
from expectations import FIXTURES

from opslint import project
from opslint.config import ConfigResolver, Overrides
from opslint.model import Finding
from opslint.registry import Registry
from opslint.runner import RunOptions, run


@pytest.fixture(autouse=True)
def _fresh_indexes() -> Any:
    project.forget()
    yield
    project.forget()


def _findings(code: str, case: str) -> List[Finding]:
    path = os.path.join(FIXTURES, code, case)
    cwd = path if os.path.isdir(path) else os.path.dirname(path)
    resolver = ConfigResolver(Overrides(select=(code,)), cwd=cwd, catalog=Registry.default())
    result = run([path], resolver, RunOptions(strict=True, jobs=1), cwd=cwd)
    return [f for f in result.findings if f.code == code]


def _related(finding: Finding) -> List[Tuple[str, int, str]]:
    return [(os.path.basename(r.path), r.span.line, r.message) for r in finding.related]


def test_incident_004_shows_its_arithmetic_and_both_ends() -> None:
    [finding] = _findings("OPS601", "incident_004_push_consumer_group")
    assert finding.message.startswith(
        "500 records (max_poll_records=500) × (120 s google-auth Request default, credentials.refresh, "
        "in pushsvc/oauth.py + 10 s requests.post timeout=10, in pushsvc/fcm.py) = 65000 s > 300 s "
        "max.poll.interval.ms"
    )
    related = _related(finding)
    assert ("consumer.py", 15, "the kafka-python KafkaConsumer is built here") in related
    assert ("consumer.py", 21, "max.poll.interval.ms is set here") in related
    assert ("consumer.py", 20, "max_poll_records is set here") in related
    assert ("oauth.py", 15, "slow call: google-auth Request default, credentials.refresh") in related
    assert ("fcm.py", 16, "slow call: requests.post timeout=10") in related
    assert finding.fix is not None and "Poll at most 2 records (2 × 130 s = 260 s within 300 s)" in finding.fix.message


def test_work_once_per_poll_is_added_once() -> None:
    [finding] = _findings("OPS601", "kafka_python_bulk_write_per_poll.py")
    assert finding.message.startswith(
        "200 records (max_poll_records=200) × 1 s (Session.get timeout=1, in customer_of) "
        "+ 120 s (Session.post timeout=120) once per poll = 320 s > 300 s max.poll.interval.ms (default)"
    )
    assert finding.fix is not None and "Poll at most 180 records (180 × 1 s + 120 s once per poll = 300 s" in (
        finding.fix.message
    )
    lines = {line for _, line, message in _related(finding) if message.startswith("slow call")}
    assert lines == {17, 50}


def test_aiokafka_blocking_call_says_heartbeats_stop() -> None:
    [finding] = _findings("OPS601", "aiokafka_sync_call_starves_heartbeat.py")
    assert "blocks the event loop" in finding.message
    assert "session_timeout_ms (default)" in finding.message


def test_manual_commit_points_at_the_setting_in_another_module() -> None:
    [finding] = _findings("OPS602", "kwargs_from_settings_project")
    assert "disables auto commit but the project never commits its offsets" in finding.message
    assert [(name, message) for name, _, message in _related(finding)] == [
        ("settings.py", "auto commit is turned off here (enable_auto_commit)")
    ]
