"""Regression (the real upstream gap): a token Secret deleted while the session runs is not recreated.

The Secret is made once, when the session starts; after that a missing Secret is ignored, so the
kubelet keeps the last token in the volume until it expires and every reconnect is rejected.
"""

import sys
from typing import Any

from ambient_operator.controller import main
from ambient_operator.reconciler import Reconciler

KILLED_BY = ("secret-recreated",)


class NoSecretRecreate(Reconciler):
    def create_token_secret(self, session: dict[str, Any], sa: Any, phase: str) -> None:
        if phase in ("", "Pending"):
            super().create_token_secret(session, sa, phase)


if __name__ == "__main__":
    sys.exit(main(reconciler_cls=NoSecretRecreate))
