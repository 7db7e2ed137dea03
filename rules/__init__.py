"""opslint's rules, one module per rule; ``_family`` modules hold the knowledge tables.

Installed as ``opslint.rules``.  Every rule module is imported here explicitly
(no discovery magic), and a test checks this list against the folder.
"""

from opslint import builtin as _builtin  # noqa: F401  (engine codes OPS0xx)
from opslint.rules import (
    ops101_unflushed_buffered_client,  # noqa: F401
    ops102_hard_exit_skips_drain,  # noqa: F401
    ops103_sleep_instead_of_drain,  # noqa: F401
    ops104_sigterm_drops_buffer,  # noqa: F401
    ops201_unflushed_primary_key_check,  # noqa: F401
    ops301_poll_driven_progression,  # noqa: F401
    ops302_recursive_queue_drain,  # noqa: F401
    ops303_retry_without_backoff,  # noqa: F401
    ops401_lock_stage_bypass,  # noqa: F401
    ops402_non_atomic_lock,  # noqa: F401
    ops403_lock_release_not_guaranteed,  # noqa: F401
    ops501_hardcoded_external_url,  # noqa: F401
    ops502_missing_timeout,  # noqa: F401
    ops503_unencoded_query_string,  # noqa: F401
    ops504_plaintext_external_http,  # noqa: F401
    ops601_consumer_poll_budget,  # noqa: F401
    ops602_manual_commit_never_committed,  # noqa: F401
)
