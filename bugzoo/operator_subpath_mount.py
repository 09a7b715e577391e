"""Operator mounts the token key with subPath: kubelet never updates it.

The regression: to avoid shadowing the directory the token lives in, the
key is mounted as a single file (``subPath``).  The runner re-reads the
file faithfully, but a subPath mount is a bind mount of the file as it was
when the container started: rotations never reach it.
"""

from __future__ import annotations

import sys
from pathlib import PurePosixPath

from bugzoo._override import Override, apply_all
from longhaul.contract import TOKEN_FILE_PATH, UPSTREAM_TOKEN_PATH, Contract
from operator_stub import __main__ as operator
from operator_stub import render
from operator_stub.render import TokenDelivery, TokenDeliveryRule
from operator_stub.session import Session

KILLED_BY = ("long-session-survives-rotations",)
TOKEN_FILE = {Contract.BOT_TOKEN_PATH: TOKEN_FILE_PATH, Contract.UPSTREAM: UPSTREAM_TOKEN_PATH}


def file_mount(deliver: TokenDeliveryRule) -> TokenDeliveryRule:
    def deliver_one_file(session: Session, mode: Contract) -> TokenDelivery:
        env, mounts, volumes = deliver(session, mode)
        path = TOKEN_FILE.get(mode)
        if path is not None:
            name = PurePosixPath(path).name
            mounts = [{**mount, "mountPath": path, "subPath": name} for mount in mounts]
        return env, mounts, volumes

    return deliver_one_file


OVERRIDES = (Override(render, "_token_delivery", file_mount),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(operator.main())
