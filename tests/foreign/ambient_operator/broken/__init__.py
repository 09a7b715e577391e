"""Deliberately broken operators: each module changes one behaviour of :mod:`ambient_operator.reconciler`.

Run one as ``python -m ambient_operator.broken.<name>`` (same environment and flags as the correct
operator); ``KILLED_BY`` names the behaviours (tests/foreign/test_foreign_operator_*.py) that catch it.
"""

VARIANTS = (
    "no_secret_recreate",
    "subpath_mount",
    "no_refresh",
    "refresh_after_expiry",
    "token_in_env",
    "no_pod_recreate",
    "ignores_namespace_gate",
)
