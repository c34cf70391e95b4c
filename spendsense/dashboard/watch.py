"""Learning of other operators' decisions without a reload: a timer in the kernel polls the opstore's marks (the
newest review and consent rowid, one indexed lookup) and bumps the dashboard's `revision` when they moved.

The timer is an asyncio task on the kernel's event loop (ipykernel runs one; Voila keeps the kernel, and so the
task, alive while the page is open), so the check runs between widget messages on the kernel's own thread: no
locking against the session's connections. Outside a running loop (tests, scripts) call `check()` yourself.
"""

from __future__ import annotations

import asyncio
import logging
import os

from traitlets import Float, HasTraits, Int

from spendsense.dashboard.data.roles import query_param

log = logging.getLogger("spendsense.dashboard")
DEFAULT_POLL_S = 3.0


def poll_seconds(default: float = DEFAULT_POLL_S) -> float:
    """The poll interval: ?poll= in the page URL, else env SPENDSENSE_DASHBOARD_POLL_S, else 3 s (0 = off)."""
    for raw in (query_param("poll"), os.environ.get("SPENDSENSE_DASHBOARD_POLL_S")):
        try:
            if raw is not None and raw.strip():
                return max(0.0, float(raw))
        except ValueError:
            log.warning("ignoring poll interval %r: not a number", raw)
    return default


class ReviewWatch(HasTraits):
    """Link `revision` to the app's: any change (own write or seen by the poll) re-reads the marks; a poll that
    finds them moved bumps it, so every panel redraws others' decisions."""

    revision = Int(0)
    interval = Float(DEFAULT_POLL_S)

    def __init__(self, data, interval: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.data = data
        self.interval = poll_seconds() if interval is None else interval
        self.mark = data.review_mark()
        self._task: asyncio.Task | None = None
        self.observe(lambda _: self._remember(), names="revision")

    def _remember(self) -> None:
        self.mark = self.data.review_mark()

    def check(self) -> bool:
        """Bump `revision` if anyone recorded a review or consent event since the last look; True if so."""
        mark = self.data.review_mark()
        if mark == self.mark:
            return False
        self.mark = mark
        self.revision += 1
        return True

    def start(self) -> bool:
        """Start polling on the running event loop (the kernel's); False when there is none or polling is off."""
        if self.interval <= 0 or self._task is not None:
            return False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self._task = loop.create_task(self._poll())
        return True

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.check()
            except Exception:  # a failed look is retried at the next tick, never shown as a traceback
                log.exception("dashboard: polling the operational store failed")
