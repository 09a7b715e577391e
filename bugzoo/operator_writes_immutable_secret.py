"""Operator writes the token Secret with ``immutable: true`` and "refreshes" it by failing silently.

The regression: someone reads that immutable Secrets spare the API server
and kubelet their watches, and marks the token Secret immutable.  Every
refresh then mints a token and patches a Secret that rejects the patch
(422); the error is swallowed as "already up to date", the log says
nothing, and the mounted token is never replaced.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bugzoo._override import Override, apply_all
from operator_stub import __main__ as operator
from operator_stub import render
from operator_stub.kube import ApiError
from operator_stub.reconcile import Reconciler
from operator_stub.session import Session
from operator_stub.token_secret import MintedToken, TokenRecord

KILLED_BY = ("long-session-survives-rotations", "immutable-token-secret-replaced")
Write = Callable[[Reconciler, Session, MintedToken, TokenRecord], None]


def immutable_and_silent(_write: Write) -> Write:
    def write_immutable(self: Reconciler, session: Session, token: MintedToken, record: TokenRecord) -> None:
        api = self._api
        try:
            if record.exists:
                api.patch_secret(session.namespace, session.secret_name, render.secret_update(token))
            else:
                api.create({**render.secret(session, token), "immutable": True}, adopt_existing=False)
        except ApiError as exc:
            if exc.status not in (409, 422):  # "exists" or "immutable": nothing to do, supposedly
                raise

    return write_immutable


OVERRIDES = (Override(Reconciler, "_write_secret", immutable_and_silent),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(operator.main())
