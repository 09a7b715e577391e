"""Operator keeps patching a token Secret it found immutable instead of replacing it.

The regression: the refresh path only knows "patch, or create if missing".
When a policy engine (or an older operator version) has made the Secret
immutable, every pass mints a token and gets 422 "field is immutable", logs
an error, and tries again: the Secret -- and every pod that mounts it --
keeps its last token until it expires, and a replacement pod would mount
that dead token too.
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

KILLED_BY = ("immutable-token-secret-replaced",)
Write = Callable[[Reconciler, Session, MintedToken, TokenRecord], None]


def patch_or_create(_write: Write) -> Write:
    def write_without_replacing(
        self: Reconciler, session: Session, token: MintedToken, record: TokenRecord
    ) -> None:
        api, update = self._api, render.secret_update(token)
        written = api.patch_secret(session.namespace, session.secret_name, update) if record.exists else None
        if written is None:
            try:
                api.create(render.secret(session, token), adopt_existing=False)
            except ApiError as exc:
                if exc.status != 409:
                    raise
                api.patch_secret(session.namespace, session.secret_name, update)

    return write_without_replacing


OVERRIDES = (Override(Reconciler, "_write_secret", patch_or_create),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(operator.main())
