"""The contract between operator, runner and backend, written down once.

Every name here is observable from outside a component (an env var, a path, an
exit code, a label), so another implementation can be tested against the same
values.  The README repeats this table for humans.
"""

from __future__ import annotations

import enum
from typing import Final

GROUP: Final = "vteam.ambient-code"
VERSION: Final = "v1alpha1"
KIND: Final = "AgenticSession"
PLURAL: Final = "agenticsessions"

# Environment the operator gives the runner container.
ENV_WEBSOCKET_URL: Final = "WEBSOCKET_URL"
ENV_BOT_TOKEN_PATH: Final = "BOT_TOKEN_PATH"
ENV_BOT_TOKEN: Final = "BOT_TOKEN"
ENV_SESSION_ID: Final = "SESSION_ID"
ENV_SESSION_NAME: Final = "AGENTIC_SESSION_NAME"
ENV_SESSION_NAMESPACE: Final = "AGENTIC_SESSION_NAMESPACE"
# longhaul's own knob: which token contract the runner follows.
ENV_RUNNER_CONTRACT: Final = "RUNNER_CONTRACT"

# The volume contract (seed PR) and the merged-upstream fixed path.
TOKEN_VOLUME_NAME: Final = "runner-token"
TOKEN_MOUNT_DIR: Final = "/app/runner-token"
TOKEN_SECRET_KEY: Final = "k8s-token"
TOKEN_FILE_PATH: Final = f"{TOKEN_MOUNT_DIR}/{TOKEN_SECRET_KEY}"
UPSTREAM_MOUNT_DIR: Final = "/var/run/secrets/ambient"
UPSTREAM_ITEM_PATH: Final = "bot-token"
UPSTREAM_TOKEN_PATH: Final = f"{UPSTREAM_MOUNT_DIR}/{UPSTREAM_ITEM_PATH}"

# Names the operator derives from a session name.
SECRET_NAME_ANNOTATION: Final = "ambient-code.io/runner-token-secret"
REFRESHED_AT_ANNOTATION: Final = "ambient-code.io/token-refreshed-at"
SESSION_LABEL: Final = "ambient-code.io/session"


def secret_name(session: str) -> str:
    return f"ambient-runner-token-{session}"


def service_account_name(session: str) -> str:
    return f"ambient-session-{session}"


def job_name(session: str) -> str:
    return f"{session}-job"


def websocket_path(namespace: str, session: str) -> str:
    return f"/api/projects/{namespace}/sessions/{session}/ws"


class Contract(enum.Enum):
    """Which of the three token deliveries a deployment uses."""

    BOT_TOKEN_PATH = "bot-token-path"  # the fix: Secret volume + BOT_TOKEN_PATH
    LEGACY_ENV = "legacy-env"  # the original bug: BOT_TOKEN from secretKeyRef
    UPSTREAM = "upstream"  # merged upstream: fixed path, item k8s-token -> bot-token


class RunnerExit(enum.IntEnum):
    """Runner exit codes.  Distinct so a scenario can tell *why* a pod ended."""

    OK = 0
    NO_TOKEN_SOURCE = 78  # neither BOT_TOKEN_PATH nor BOT_TOKEN (EX_CONFIG)
    TOKEN_FILE_UNUSABLE = 66  # BOT_TOKEN_PATH set, file missing/unreadable/dir/empty (EX_NOINPUT)
    GAVE_UP = 75  # could not (re)connect before the give-up deadline (EX_TEMPFAIL)
    # Stopped by SIGTERM/SIGINT before the session finished (128 + 15): never 0, or a Job
    # would count a deleted pod's runner as a completed session and not replace it.
    INTERRUPTED = 143
