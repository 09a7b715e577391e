"""Test-suite settings shared by every tier.

Hypothesis' per-example deadline measures wall time, which on a loaded
2-core machine (a cluster beside the tests, xdist workers) says nothing about
the code: it is off, so property tests fail on properties only.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("longhaul", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("longhaul")
