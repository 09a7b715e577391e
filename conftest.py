"""Root conftest: load longhaul's plugin when running from a checkout.

When longhaul is pip-installed, its ``pytest11`` entry point has loaded the
plugin already; registering it twice would fail, so only load it here when
the entry point is absent.
"""

from __future__ import annotations

from importlib.metadata import entry_points

_INSTALLED = {ep.value for ep in entry_points(group="pytest11")}
pytest_plugins = [
    p for p in ("longhaul.fixtures.plugin.cluster", "longhaul.fixtures.plugin.e2e") if p not in _INSTALLED
]
