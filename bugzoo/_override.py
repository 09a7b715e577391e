"""Override: the one behaviour a bug-zoo variant changes in a reference stub.

Why an object rather than a bare assignment: it names what changed (for the
README table and the tests), and :meth:`apply` fails when the stub no longer
has the attribute, so a refactor of a stub cannot silently turn a variant
back into the reference, which would then "survive" for the wrong reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Override:
    """Replace ``owner.name`` (a module or class attribute) with ``make(original)``."""

    owner: object
    name: str
    make: Callable[[Any], Any]

    @property
    def target(self) -> str:
        owner = getattr(self.owner, "__qualname__", None) or getattr(self.owner, "__name__", "?")
        return f"{owner}.{self.name}"

    def replacement(self) -> Any:
        """What ``owner.name`` becomes; raises AttributeError if the stub has no such attribute."""
        if not hasattr(self.owner, self.name):
            raise AttributeError(f"bug zoo: {self.target} does not exist; the variant is out of date")
        return self.make(getattr(self.owner, self.name))

    def apply(self) -> None:
        setattr(self.owner, self.name, self.replacement())


def apply_all(overrides: tuple[Override, ...]) -> None:
    for override in overrides:
        override.apply()
