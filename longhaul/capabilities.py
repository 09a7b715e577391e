"""What a cluster can do beyond running pods: the words scenarios need and providers offer.

Here, in the stdlib-only package, because both sides use it and neither may
import the other: a scenario (``longhaul.scenarios``) says it needs
``Capability.RESTART_COMPONENTS``; the harness (``longhaul.fixtures.cluster``)
maps each capability to the optional provider protocol that grants it and
says, in one place, what a given cluster lacks.
"""

from __future__ import annotations

from enum import StrEnum


class Capability(StrEnum):
    """An optional ability of a cluster, named by what a scenario does with it."""

    LOAD_IMAGES = "load images"  # put a locally built image on the nodes, without a registry
    EXPORT_LOGS = "export logs"  # copy every component's log somewhere for a bundle
    RESTART_COMPONENTS = "restart control-plane components"  # stop and start the API server etc.
