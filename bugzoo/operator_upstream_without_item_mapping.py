"""Operator in upstream mode mounts the Secret without the item mapping k8s-token -> bot-token.

The regression: porting to the merged-upstream contract, the volume moves to
``/var/run/secrets/ambient`` but its ``items`` mapping is forgotten, so the
file appears as ``k8s-token`` while the runner reads the fixed path
``.../bot-token``.  The runner finds no token file and no env fallback.
"""

from __future__ import annotations

import sys

from bugzoo._override import Override, apply_all
from longhaul.contract import Contract
from operator_stub import __main__ as operator
from operator_stub import render
from operator_stub.render import TokenDelivery, TokenDeliveryRule
from operator_stub.session import Session

KILLED_BY = ("upstream-contract-survives-rotations",)


def without_items(deliver: TokenDeliveryRule) -> TokenDeliveryRule:
    def deliver_whole_secret(session: Session, mode: Contract) -> TokenDelivery:
        env, mounts, volumes = deliver(session, mode)
        volumes = [
            {**v, "secret": {k: x for k, x in v["secret"].items() if k != "items"}} if "secret" in v else v
            for v in volumes
        ]
        return env, mounts, volumes

    return deliver_whole_secret


OVERRIDES = (Override(render, "_token_delivery", without_items),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(operator.main())
