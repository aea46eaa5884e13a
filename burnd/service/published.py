"""A D-Bus object that publishes only what changed: Drive and Robot objects are refreshed as a
whole (after a media poll, a batch event) but clients hear only the properties that moved."""

from __future__ import annotations

from typing import Any

from dbus_fast.service import ServiceInterface


class PublishedInterface(ServiceInterface):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._shown: dict[str, Any] = {}

    def values(self) -> dict[str, Any]:
        """Every changeable property's current value, as it goes on the wire."""
        raise NotImplementedError

    def publish(self) -> None:
        """Emit PropertiesChanged for whatever differs from what clients last saw."""
        now = self.values()
        changed = {k: v for k, v in now.items() if self._shown.get(k) != v}
        self._shown = now
        if changed:
            self.emit_properties_changed(changed)
