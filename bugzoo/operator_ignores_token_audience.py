"""Operator ignores its configured token audience and mints for the API server's default one.

The regression: ``--token-audience`` is parsed but the TokenRequest body is
built without ``spec.audiences``, so every token is for the API server.
Invisible wherever the backend accepts the default audience; behind a
backend that requires its own (a JWKS-validating gateway), every handshake
is a 401 "Token expired or invalid" that says nothing about audiences.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from bugzoo._override import Override, apply_all
from operator_stub import __main__ as operator
from operator_stub.kube import KubeApi

KILLED_BY = ("token-audience-honoured",)
Request = Callable[[KubeApi, str, str, int, Sequence[str]], tuple[str, str | None]]


def default_audience(request: Request) -> Request:
    def request_without_audiences(
        self: KubeApi, namespace: str, service_account: str, expiration_seconds: int, audiences: Sequence[str]
    ) -> tuple[str, str | None]:
        return request(self, namespace, service_account, expiration_seconds, ())

    return request_without_audiences


OVERRIDES = (Override(KubeApi, "request_token", default_audience),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(operator.main())
