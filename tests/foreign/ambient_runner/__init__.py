"""ambient_runner: a stand-in for the upstream ambient-code runner, written from its observed shape.

Run as ``python3 -m ambient_runner``; see :mod:`ambient_runner.app` for the interface.  It imports
only the standard library, ``websockets`` and ``tenacity`` (``requirements.txt``).
"""
