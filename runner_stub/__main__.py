"""Entry point: ``python -m runner_stub [flags]``; exit codes are ``longhaul.contract.RunnerExit``.

asyncio and websockets (most of a start-up's import time) are imported only
once the token source is known to be usable: the contract's fail-fast path
(exit 66 within 1 s of starting) must not wait for them on a loaded node.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from longhaul.contract import RunnerExit
from longhaul.logfmt import log_event
from runner_stub.config import parse_config
from runner_stub.token_source import RunnerConfigError, resolve_token_source

if TYPE_CHECKING:
    from runner_stub.session import RunnerSession


async def _run_until_signal(session: RunnerSession) -> RunnerExit:
    """Run the session; SIGTERM/SIGINT (pod deletion) end it cleanly with INTERRUPTED (143).

    Not OK: the session did not finish, and a Job must replace the pod.
    """
    import asyncio

    task = asyncio.create_task(session.run())
    loop = asyncio.get_running_loop()
    stopped_by: list[str] = []

    def stop(sig: signal.Signals) -> None:
        stopped_by.append(sig.name)
        task.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig)
    try:
        return await task
    except asyncio.CancelledError:
        if not stopped_by:
            raise
        log_event(
            "stopped", signal=stopped_by[0], last_seq=session.outbox.last_seq, pending=len(session.outbox)
        )
        return RunnerExit.INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_config(sys.argv[1:] if argv is None else argv)
    try:
        source = resolve_token_source(config.contract, os.environ, config.upstream_token_path)
        log_event(
            "starting",
            contract=config.contract.value,
            token_source=f"{source.kind}:{source.where}",
            runner_id=config.runner_id,
            messages=config.messages,
            session=config.session or None,
        )
        import asyncio

        from runner_stub.session import RunnerSession

        return int(asyncio.run(_run_until_signal(RunnerSession(config, source))))
    except RunnerConfigError as exc:
        log_event("fatal", exit_code=int(exc.exit_code), error=str(exc))
        return int(exc.exit_code)


if __name__ == "__main__":
    sys.exit(main())
