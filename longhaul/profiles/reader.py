"""Typed reads of one TOML table, each error naming the file and the dotted key.

A profile is written by a person testing their own platform; "KeyError: 'plural'"
from deep inside the harness helps nobody.  Every read here says which key of
which file is missing, of the wrong type, or unknown (a typo such as
``servce_account`` must not be silently ignored), and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from longhaul.profiles.templates import TemplateError, check

T = TypeVar("T")


class ProfileError(ValueError):
    """A profile file that cannot be used, with the file and key that make it so."""


class Table:
    """One table of a profile; remembers which keys were read so the rest can be reported unknown."""

    def __init__(self, file: Path, where: str, data: Mapping[str, Any]) -> None:
        self.file, self.where, self.data = file, where, data
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def fail(self, name: str, message: str) -> ProfileError:
        return ProfileError(f"{self.file}: {self.key(name)}: {message}")

    def has(self, name: str) -> bool:
        return name in self.data

    def _get(
        self, name: str, kind: type[T] | tuple[type, ...], what: str, default: Any, required: bool
    ) -> Any:
        self._read.add(name)
        if name not in self.data:
            if required:
                raise self.fail(name, f"missing (required: {what})")
            return default
        value = self.data[name]
        # TOML booleans are not integers here, whatever Python's bool subclassing says.
        if (
            isinstance(value, bool)
            and kind is not bool
            and bool not in (kind if isinstance(kind, tuple) else ())
        ):
            raise self.fail(name, f"must be {what}, not the boolean {value!r}")
        if not isinstance(value, kind):
            raise self.fail(name, f"must be {what}, not {type(value).__name__} {value!r}")
        return value

    def text(self, name: str, default: str | None = None, *, choices: Iterable[str] = ()) -> str:
        value: str = self._get(name, str, "a string", default, default is None)
        options = list(choices)
        if options and value not in options:
            raise self.fail(name, f"is {value!r}; one of {', '.join(repr(o) for o in options)}")
        return value

    def template(self, name: str, allowed: Iterable[str], default: str | None = None) -> str:
        value = self.text(name, default)
        self.check_template(name, value, allowed)
        return value

    def check_template(self, name: str, value: str, allowed: Iterable[str]) -> None:
        try:
            check(value, allowed)
        except TemplateError as exc:
            raise self.fail(name, str(exc)) from None

    def integer(self, name: str, default: int | None = None, *, optional: bool = False) -> int | None:
        return self._get(name, int, "an integer", default, default is None and not optional)  # type: ignore[no-any-return]

    def number(self, name: str, default: float | None = None) -> float:
        return float(self._get(name, (int, float), "a number", default, default is None))

    def flag(self, name: str, default: bool) -> bool:
        return bool(self._get(name, bool, "true or false", default, False))

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self._get(name, list, "a list of strings", list(default), False)
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{name}[{i}]", f"must be a string, not {type(item).__name__} {item!r}")
        return tuple(value)

    def table(self, name: str, *, required: bool = False) -> Table:
        value = self._get(name, dict, "a table", {}, required)
        return Table(self.file, self.key(name), value)

    def string_map(self, name: str) -> dict[str, str]:
        value = self._get(name, dict, "a table of strings", {}, False)
        for key, item in value.items():
            if not isinstance(item, str):
                raise self.fail(f"{name}.{key}", f"must be a string, not {type(item).__name__} {item!r}")
        return dict(value)

    def done(self) -> None:
        """Every key was read: anything left is unknown (a typo, or a key of another schema version)."""
        unknown = sorted(set(self.data) - self._read)
        if unknown:
            raise ProfileError(
                f"{self.file}: {self.where or 'top level'}: unknown key(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(self._read))}"
            )
