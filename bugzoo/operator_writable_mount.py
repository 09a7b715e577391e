"""Operator mounts the token volume writable (readOnly dropped).

The regression: a refactor builds volume mounts through a shared helper that
defaults to writable.  kubelet happens to keep Secret volumes read-only, so
nothing breaks at run time -- which is why only a check of the pod spec
against the contract ("read-only, whole directory") catches it, before a
runtime or a real platform that honours the flag lets a runner scribble on
its credentials.
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


def writable(deliver: TokenDeliveryRule) -> TokenDeliveryRule:
    def deliver_writable(session: Session, mode: Contract) -> TokenDelivery:
        env, mounts, volumes = deliver(session, mode)
        return env, [{**mount, "readOnly": False} for mount in mounts], volumes

    return deliver_writable


OVERRIDES = (Override(render, "_token_delivery", writable),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(operator.main())
