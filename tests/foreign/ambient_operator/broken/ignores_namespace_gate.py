"""Regression: sessions in namespaces NOT labelled ``ambient-code.io/managed=true`` (or without the
``ambient-runner-secrets`` Secret) are reconciled too: the operator acts where it was not invited."""

import sys

from ambient_operator.controller import main
from ambient_operator.reconciler import Reconciler

KILLED_BY = ("unlabelled-namespace-skipped",)


class IgnoresNamespaceGate(Reconciler):
    def skip_reason(self, namespace: str) -> str | None:
        return None


if __name__ == "__main__":
    sys.exit(main(reconciler_cls=IgnoresNamespaceGate))
