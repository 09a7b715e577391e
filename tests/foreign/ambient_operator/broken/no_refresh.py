"""Regression: the token Secret is never refreshed; the first token's expiry ends every session."""

import sys

from ambient_operator.controller import main
from ambient_operator.reconciler import Reconciler

KILLED_BY = ("token-refreshed",)


class NoRefresh(Reconciler):
    def refresh_due(self, refreshed_at: str | None) -> bool:
        return False


if __name__ == "__main__":
    sys.exit(main(reconciler_cls=NoRefresh))
