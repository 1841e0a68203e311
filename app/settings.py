"""What the app remembers between runs: theme, window layout, recent files and sampling choices.

A thin wrapper over QSettings. Where it is stored can be overridden (the constructor's `path`, or the
ATTENTION_LAB_SETTINGS environment variable naming an .ini file) so tests never touch the user's settings.
"""

from __future__ import annotations

from collections.abc import Mapping

import math
import os
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QSettings

from app.state.sampling import SamplingSettings

ORGANISATION = "AttentionLab"
APPLICATION = "attention-lab"
SETTINGS_PATH_VARIABLE = "ATTENTION_LAB_SETTINGS"
MAX_RECENT = 8


@dataclass(frozen=True)
class RecentItem:
    kind: str  # "checkpoint" or "gpt2": which loader opens it
    path: str  # the folder on disk

    def encode(self) -> str:
        return f"{self.kind}|{self.path}"

    @classmethod
    def decode(cls, text: str) -> RecentItem | None:
        kind, _, path = text.partition("|")
        return cls(kind, path) if kind and path else None


class AppSettings:
    def __init__(
        self, path: str | None = None, organisation: str = ORGANISATION, application: str = APPLICATION
    ) -> None:
        path = path or os.environ.get(SETTINGS_PATH_VARIABLE)
        if path:
            self._store = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self._store = QSettings(organisation, application)

    # -- plain values ------------------------------------------------------------------------------
    def value(self, key: str, default, kind: type | None = None, lowest=None, highest=None):
        """A stored value converted to the default's type (QSettings stores ini values as text).

        A hand-edited or damaged file gets the default instead: a value that does not convert, a number
        that is not finite (nan, inf) or one outside [lowest, highest] (what the widget showing it can hold)."""
        kind = kind or type(default)
        raw = self._store.value(key, default)
        if raw is None:
            return default
        try:
            if kind is bool:
                return raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1", "yes")
            value = kind(raw)
        except (TypeError, ValueError, OverflowError):
            return default
        if kind in (int, float) and not (
            math.isfinite(value) and (lowest is None or value >= lowest) and (highest is None or value <= highest)
        ):
            return default
        return value

    def set_value(self, key: str, value) -> None:
        self._store.setValue(key, value)

    def sync(self) -> None:
        self._store.sync()

    # -- named preferences -------------------------------------------------------------------------
    @property
    def dark_theme(self) -> bool:
        return self.value("view/dark_theme", False, bool)

    @dark_theme.setter
    def dark_theme(self, dark: bool) -> None:
        self.set_value("view/dark_theme", bool(dark))

    def window_layout(self) -> tuple[QByteArray | None, QByteArray | None]:
        """(geometry, dock state) saved by the last run, or None each."""
        geometry = self._store.value("window/geometry")
        state = self._store.value("window/state")
        return (
            geometry if isinstance(geometry, QByteArray) else None,
            state if isinstance(state, QByteArray) else None,
        )

    def save_window_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self._store.setValue("window/geometry", geometry)
        self._store.setValue("window/state", state)

    def forget_window_layout(self) -> None:
        self._store.remove("window/geometry")
        self._store.remove("window/state")

    # -- recent files ------------------------------------------------------------------------------
    def recent_items(self) -> list[RecentItem]:
        raw = self._store.value("files/recent", [])
        if isinstance(raw, str):  # QSettings hands back a lone string for a one-item list
            raw = [raw]
        if not isinstance(raw, (list, tuple)):  # a damaged file: a number, say, where the list belongs
            raw = []
        items = [RecentItem.decode(str(text)) for text in raw]
        return [item for item in items if item is not None]

    def add_recent(self, item: RecentItem) -> None:
        items = [item] + [old for old in self.recent_items() if old != item]
        self._store.setValue("files/recent", [i.encode() for i in items[:MAX_RECENT]])

    def clear_recent(self) -> None:
        self._store.remove("files/recent")

    # -- the Next token panel's sampling knobs ---------------------------------------------------
    def sampling(self, ranges: Mapping[str, tuple[float, float]] | None = None) -> SamplingSettings:
        """The sampling knobs as the user left them last time (the defaults the first time).

        ranges: {knob: (lowest, highest)} the widgets can show; a stored value outside it is the default."""
        defaults, ranges = SamplingSettings(), ranges or {}
        return SamplingSettings(
            **{
                key: self.value(f"sampling/{key}", default, None, *ranges.get(key, (None, None)))
                for key, default in vars(defaults).items()
            }
        )

    def set_sampling(self, sampling: SamplingSettings) -> None:
        for key, value in vars(sampling).items():
            self.set_value(f"sampling/{key}", value)
