"""The bug zoo: deliberately broken variants of the reference runner, operator and backend.

A suite that passes against the reference stubs proves little until it fails
against broken ones.  Each module here is one realistic regression: it takes
the reference stub, replaces exactly one behaviour (an :class:`Override`),
and runs the stub's own ``main``.  ``python -m bugzoo`` runs the fast tier
against every variant and fails if any of them survives.

Runner variants run inside the runner image (``python3 -m bugzoo.<variant>``),
so this package and the variant modules stay stdlib + ``runner_stub`` +
``longhaul``; the driver (``__main__``) and the catalog import the harness.
"""

from bugzoo._override import Override

__all__ = ["Override"]
