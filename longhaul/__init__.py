"""longhaul: end-to-end proof that long agent sessions survive token rotation.

This package holds only what every part of longhaul shares and what an
implementation under test must agree on: the contract (names, paths, exit
codes) and token fingerprints.  It has no third-party dependencies so it can
be copied into the runner image unchanged.
"""
