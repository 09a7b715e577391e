"""Operator injects the token as the BOT_TOKEN env var only (the original bug).

The token reaches the runner through a ``secretKeyRef`` env var, which the
kubelet resolves once, when the container starts.  The operator keeps
refreshing the Secret, but the runner never sees a new value: once the first
token is rejected, the session cannot reconnect.
"""

from __future__ import annotations

import sys

from bugzoo._override import Override, apply_all
from longhaul.contract import Contract
from operator_stub import __main__ as operator
from operator_stub import render
from operator_stub.render import TokenDelivery, TokenDeliveryRule
from operator_stub.session import Session

KILLED_BY = ("long-session-survives-rotations",)


def env_only(deliver: TokenDeliveryRule) -> TokenDeliveryRule:
    def deliver_as_env(session: Session, _mode: Contract) -> TokenDelivery:
        return deliver(session, Contract.LEGACY_ENV)

    return deliver_as_env


OVERRIDES = (Override(render, "_token_delivery", env_only),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(operator.main())
