"""Regression: the token file is mounted with ``subPath``, so Secret updates never reach the pod.

The file is at the same path (``/var/run/secrets/ambient/bot-token``), so a runner starts fine;
only the refreshes are lost, and the first token's expiry ends the session.
"""

import sys
from typing import Any

from ambient_operator import resources as r
from ambient_operator.controller import main
from ambient_operator.reconciler import Reconciler

KILLED_BY = ("token-volume-shape",)


class SubPathMount(Reconciler):
    def token_mount(self) -> dict[str, Any]:
        return {
            "name": r.TOKEN_VOLUME,
            "mountPath": f"{r.TOKEN_MOUNT}/{r.TOKEN_FILE}",
            "subPath": r.TOKEN_FILE,
            "readOnly": True,
        }


if __name__ == "__main__":
    sys.exit(main(reconciler_cls=SubPathMount))
