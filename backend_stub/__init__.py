"""Reference backend: the session WebSocket endpoint that authenticates runners by token.

A standalone program (``python -m backend_stub``) that answers like the real
backend (path, token sources, 401/403) and keeps a ledger of every handshake
and delivered event as evidence.  It knows nothing of pytest.
"""
