"""Regression: the token reaches the runner as an environment variable (``BOT_TOKEN`` from the
Secret), with no token volume: it is fixed at container start, so no refresh ever arrives, and the
runner's token file does not exist."""

import sys
from typing import Any

from ambient_operator import resources as r
from ambient_operator.controller import main
from ambient_operator.reconciler import Reconciler

KILLED_BY = ("token-volume-shape",)


class TokenInEnv(Reconciler):
    def pod_body(self, session: dict[str, Any]) -> dict[str, Any]:
        body = super().pod_body(session)
        spec = body["spec"]
        spec["volumes"] = [v for v in spec["volumes"] if v["name"] != r.TOKEN_VOLUME]
        main_container = spec["containers"][0]
        main_container["volumeMounts"] = [
            m for m in main_container["volumeMounts"] if m["name"] != r.TOKEN_VOLUME
        ]
        secret = r.secret_name(session["metadata"]["name"])
        main_container["env"].append(
            {"name": "BOT_TOKEN", "valueFrom": {"secretKeyRef": {"name": secret, "key": r.TOKEN_KEY}}}
        )
        return body


if __name__ == "__main__":
    sys.exit(main(reconciler_cls=TokenInEnv))
