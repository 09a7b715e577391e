"""``python -m operator_stub``: reconcile every check period until SIGTERM/SIGINT (or once, with --once).

Exit codes: 0 clean stop (or a clean ``--once`` pass), 1 a ``--once`` pass with
failures, 2 unusable settings or kubeconfig (one ``operator error:`` line says why).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from collections.abc import Mapping, Sequence
from types import FrameType

import urllib3

from operator_stub import kube
from operator_stub.eventlog import EventLog
from operator_stub.reconcile import Reconciler
from operator_stub.settings import SettingsError, parse_settings

EXIT_OK, EXIT_FAILURES, EXIT_CONFIG = 0, 1, 2


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    try:
        args = sys.argv[1:] if argv is None else argv
        settings = parse_settings(args, os.environ if environ is None else environ)
    except SettingsError as exc:
        print(f"operator error: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    try:
        api_client = kube.connect(settings.kubeconfig, settings.context)
    except Exception as exc:  # kubeconfig loaders raise many types; all mean "cannot start"
        print(f"operator error: cannot load cluster credentials: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    log = EventLog()
    if kube.tls_verification_disabled(api_client):
        # One line instead of urllib3's warning on every single request.
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
        log.emit("warning", message="TLS verification disabled by the kubeconfig")
    reconciler = Reconciler(kube.KubeApi(api_client), settings, log)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()  # only this: printing from a signal handler can hit a reentrant write

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    log.emit("started", **settings.describe())
    while True:
        failures = reconciler.reconcile_all()
        if settings.once:
            return EXIT_OK if failures == 0 else EXIT_FAILURES
        if stop.wait(settings.check_period.total_seconds()):
            log.emit("stopped")
            return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
