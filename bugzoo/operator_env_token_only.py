"""Operator injects the token as the BOT_TOKEN env var only (the original bug).

The token reaches the runner through a ``secretKeyRef`` env var, which the
kubelet resolves once, when the container starts.  The operator keeps
refreshing the Secret, but the runner never sees a new value: once the first
token is rejected, the session cannot reconnect.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bugzoo._override import Override, apply_all
from longhaul.contract import Contract
from operator_stub import __main__ as operator
from operator_stub import render
from operator_stub.render import Manifest
from operator_stub.session import Session

KILLED_BY = ("long-session-survives-rotations",)
Delivery = tuple[list[Manifest], list[Manifest], list[Manifest]]  # (env, volumeMounts, volumes)
Deliver = Callable[[Session, Contract], Delivery]


def env_only(deliver: Deliver) -> Deliver:
    def deliver_as_env(session: Session, _mode: Contract) -> Delivery:
        return deliver(session, Contract.LEGACY_ENV)

    return deliver_as_env


OVERRIDES = (Override(render, "_token_delivery", env_only),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(operator.main())
