"""ambient_operator: a stand-in for the upstream ambient-code (vTeam) operator.

Written from the upstream operator's observed shape, by an outsider.

Run as ``python -m ambient_operator`` with ``tests/foreign`` on ``PYTHONPATH``.  It imports only the
standard library and ``kubernetes`` (``requirements.txt``).  See ``tests/foreign/README.md``.
"""
