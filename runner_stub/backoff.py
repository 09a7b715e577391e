"""Reconnect delays: exponential, capped, jittered, reset by a good connection.

Why jitter: after a backend restart every runner reconnects at once; spreading
them keeps the backend's token checks (one apiserver call each) from arriving
as a burst.  Why a cap: a rotated token must be tried soon after kubelet
projects it, so the runner never sleeps longer than ``maximum``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    initial: float = 0.2
    maximum: float = 5.0
    factor: float = 2.0
    jitter: float = 0.2  # each delay is scaled by a factor in [1 - jitter, 1]
    rng: random.Random = field(default_factory=random.Random, repr=False)
    _attempt: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum and self.factor >= 1 and 0 <= self.jitter < 1):
            raise ValueError(f"invalid backoff {self!r}")

    def next_delay(self) -> float:
        base = min(self.maximum, self.initial * self.factor ** min(self._attempt, 64))
        self._attempt += 1
        return base * (1 - self.jitter * self.rng.random())

    def reset(self) -> None:
        self._attempt = 0
