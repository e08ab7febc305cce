"""One registry type for every kind of plug-in: baselines, face backbones, audio extractors.

Modelled on lm-evaluation-harness's generic ``Registry``: a name maps to an entry, a second
registration of a name from another module is refused (the same module may re-register: it was
reloaded), and an unknown name is refused with the known ones and the closest match, so a typo
costs one read of the error message.

>>> colours = Registry("colour")
>>> colours.add("red", 1, owner="doc")
>>> colours.get("red")
1
>>> colours.get("rde")
Traceback (most recent call last):
...
harness.registry.UnknownEntryError: unknown colour 'rde' (did you mean 'red'?); known colours: red
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterator
from typing import Generic, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")


class UnknownEntryError(HarnessError, KeyError):
    """No entry has this name. Also a ``KeyError``, so ``except KeyError`` keeps working."""

    def __str__(self) -> str:  # KeyError would repr() the message, quotes and all
        return str(self.args[0]) if self.args else ""


class DuplicateEntryError(HarnessError, ValueError):
    """Two different modules tried to register the same name."""


class Registry(Generic[T]):
    """Entries by name, in registration order, each remembering the module that added it."""

    def __init__(self, kind: str, *, unknown: type[UnknownEntryError] = UnknownEntryError,
                 duplicate: type[DuplicateEntryError] = DuplicateEntryError):
        self.kind = kind
        self._unknown, self._duplicate = unknown, duplicate
        self._entries: dict[str, T] = {}
        self._owners: dict[str, str] = {}

    def add(self, name: str, entry: T, *, owner: str) -> None:
        """Register ``entry``; ``owner`` (a module name) may replace its own earlier entry."""
        if name in self._entries and self._owners[name] != owner:
            raise self._duplicate(
                f"{self.kind} {name!r} is already registered by module {self._owners[name]!r}; "
                f"{owner!r} cannot register it again (choose another name)")
        self._entries[name] = entry
        self._owners[name] = owner

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise self._unknown(self._unknown_message(name)) from None

    def remove(self, name: str) -> T:
        entry = self.get(name)
        del self._entries[name], self._owners[name]
        return entry

    def owner(self, name: str) -> str:
        self.get(name)
        return self._owners[name]

    def names(self, pattern: str = "*") -> list[str]:
        """Names matching the shell-style ``pattern``, in registration order."""
        return [n for n in self._entries if fnmatch.fnmatchcase(n, pattern)]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def _unknown_message(self, name: object) -> str:
        close = difflib.get_close_matches(str(name), list(self._entries), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(self._entries) or "(none)"
        return f"unknown {self.kind} {name!r}{hint}; known {self.kind}s: {known}"
