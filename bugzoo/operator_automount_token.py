"""Operator leaves automountServiceAccountToken on for the runner pod.

The regression: someone wanted in-cluster API access from the runner and set
``automountServiceAccountToken: true`` on the Job template.  The pod now
carries a second credential, the kubelet-rotated projected API token, that
nobody manages or audits -- and a runner that picks it up would keep
"working" with a broken refresh, hiding the very bug the Secret volume is for.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bugzoo._override import Override, apply_all
from operator_stub import __main__ as operator
from operator_stub import render
from operator_stub.render import Manifest, RunnerTemplate
from operator_stub.session import Session

KILLED_BY = ("long-session-survives-rotations",)
RenderJob = Callable[[Session, RunnerTemplate], Manifest]


def automount_on(job: RenderJob) -> RenderJob:
    def job_with_api_token(session: Session, template: RunnerTemplate) -> Manifest:
        manifest = job(session, template)
        manifest["spec"]["template"]["spec"]["automountServiceAccountToken"] = True
        return manifest

    return job_with_api_token


OVERRIDES = (Override(render, "job", automount_on),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(operator.main())
