"""What a cluster or an implementation can do: the words scenarios need and providers and profiles offer.

Here, in the stdlib-only package, because both sides use it and neither may
import the other: a scenario (``longhaul.scenarios``) says it needs
``Capability.RESTART_COMPONENTS``; the harness (``longhaul.fixtures.cluster``)
maps each cluster capability to the optional provider protocol that grants it
and says, in one place, what a given cluster lacks.  The implementation
capabilities are offered by a profile (:mod:`longhaul.profiles.capabilities`):
a scenario needing one its profile lacks is skipped with that reason, not
failed on an implementation that was never asked to do it.
"""

from __future__ import annotations

from enum import StrEnum


class Capability(StrEnum):
    """An optional ability of a cluster or an implementation, named by what a scenario does with it."""

    # --- of the cluster (longhaul.fixtures.cluster.capabilities) ---
    LOAD_IMAGES = "load images"  # put a locally built image on the nodes, without a registry
    EXPORT_LOGS = "export logs"  # copy every component's log somewhere for a bundle
    RESTART_COMPONENTS = "restart control-plane components"  # stop and start the API server etc.
    # --- of the implementation under test (longhaul.profiles.capabilities) ---
    RUNNER_COMMAND = "run the runner with another command"  # the operator takes a runner command
    SESSION_ENV = "pass a session's environment to the runner"  # spec.env / spec.environmentVariables
    TOKEN_AUDIENCE = "mint tokens for a given audience"  # the operator takes a TokenRequest audience
    SETTABLE_REFRESH = "set the token refresh to seconds"  # so a fast-tier session sees rotations
    RESTART_OPERATOR = "stop and restart the operator mid-session"
    WIRE_PROTOCOL = "speak longhaul's wire protocol"  # numbered events and acks: delivery is judged
    DELIVER_BOT_TOKEN_PATH = "deliver the token as a mounted file named by BOT_TOKEN_PATH"
    DELIVER_UPSTREAM = "deliver the token at a fixed path (Secret item mapping)"
    DELIVER_LEGACY_ENV = "deliver the token in a legacy env var"
