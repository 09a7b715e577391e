"""Regression: the refresh compares the Secret's age with the token LIFETIME instead of the
threshold, so a new token arrives only after the old one expired (plus the volume's delay):
reconnects in that window are rejected."""

import sys

from ambient_operator.controller import main
from ambient_operator.reconciler import Reconciler, now, parse_rfc3339

KILLED_BY = ("token-refreshed",)


class RefreshAfterExpiry(Reconciler):
    def refresh_due(self, refreshed_at: str | None) -> bool:
        stamp = parse_rfc3339(refreshed_at)
        if stamp is None:
            return True
        return (now() - stamp).total_seconds() >= self.settings.token_lifetime_seconds


if __name__ == "__main__":
    sys.exit(main(reconciler_cls=RefreshAfterExpiry))
