"""Regression: a runner pod deleted while its session runs is not recreated; the session is stuck
in Running with no runner."""

import sys
from typing import Any

from ambient_operator.controller import main
from ambient_operator.reconciler import Reconciler

KILLED_BY = ("pod-recreated",)


class NoPodRecreate(Reconciler):
    def create_pod(self, session: dict[str, Any], phase: str) -> float:
        if phase != "Pending":
            return self.settings.requeue_seconds
        return super().create_pod(session, phase)


if __name__ == "__main__":
    sys.exit(main(reconciler_cls=NoPodRecreate))
