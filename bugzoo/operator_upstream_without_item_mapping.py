"""Operator in upstream mode mounts the Secret without the item mapping k8s-token -> bot-token.

The regression: porting to the merged-upstream contract, the volume moves to
``/var/run/secrets/ambient`` but its ``items`` mapping is forgotten, so the
file appears as ``k8s-token`` while the runner reads the fixed path
``.../bot-token``.  The runner finds no token file and no env fallback.
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

KILLED_BY = ("upstream-contract-survives-rotations",)
Delivery = tuple[list[Manifest], list[Manifest], list[Manifest]]  # (env, volumeMounts, volumes)
Deliver = Callable[[Session, Contract], Delivery]


def without_items(deliver: Deliver) -> Deliver:
    def deliver_whole_secret(session: Session, mode: Contract) -> Delivery:
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
