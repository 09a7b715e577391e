"""Backend verifies a token's signature and expiry but not its audience.

The regression: the audience check is made optional ("only when an audience
is configured") and the flag's value stops reaching the verifier, so the
JWT library's audience verification is off.  Any token the cluster signed --
for the API server, for another service, for a different backend -- is
accepted: a token minted for somewhere else opens the session.
"""

from __future__ import annotations

import sys
from typing import Any

from backend_stub import __main__ as backend
from backend_stub.jwks import JwksAuthenticator
from bugzoo._override import Override, apply_all

KILLED_BY = ("wrong-audience-fails-loudly",)


def without_audience(authenticator: type[JwksAuthenticator]) -> Any:
    def build(keys: Any, _audience: str | None = None, issuer: str | None = None) -> JwksAuthenticator:
        return authenticator(keys, None, issuer)

    return build


OVERRIDES = (Override(backend, "JwksAuthenticator", without_audience),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(backend.main())
