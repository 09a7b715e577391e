"""Reference runner: holds a WebSocket to the backend and re-reads its token on every connect.

A standalone program (``python -m runner_stub``) configured by the same env
vars the operator gives a real runner, so a real runner image can replace it
in any scenario.  It knows nothing of pytest.
"""
