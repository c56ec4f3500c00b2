"""A delivery's deadline: the whole exchange with a receiver (resolving its host,
connecting, sending the batch, reading the status line and headers) within one budget.

httpx's timeouts are per operation: a receiver that answers a byte at a time, each one
within the read timeout, would hold a worker for as long as it likes. The deadline watches
the connection its delivery opens (httpx's ``trace`` extension hands it over) and, when
the time is up, shuts that socket down: the read or write blocked on it ends at once and
the delivery fails with the deadline as its reason.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Any

#: the rule a delivery that ran out of time is logged under (``deadline: …``)
RULE = "deadline"
#: the httpcore event that hands over a delivery's connection
_CONNECTED = "connection.connect_tcp.complete"


def missed(error: str | None) -> bool:
    """Whether a delivery logged with ``error`` ran out of time."""
    return error is not None and error.startswith(f"{RULE}:")


class Deadline:
    """``with Deadline(seconds) as deadline:`` around one delivery, whose request carries
    ``extensions={"trace": deadline.trace}`` and opens a connection of its own (a reused
    one would not be handed over)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.passed = False
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._started = time.monotonic()
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None

    def left(self) -> float:
        """Seconds left (0 when the time is up)."""
        return max(0.0, self.seconds - (time.monotonic() - self._started))

    @property
    def over(self) -> bool:
        """The time is up (the socket may not have been cut yet)."""
        return self.passed or self.left() == 0

    @property
    def reason(self) -> str:
        return (
            f"{RULE}: no answer within {self.seconds:g} s of the delivery's start "
            "(CATALOGUE_WEBHOOK_DEADLINE)"
        )

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpx's ``trace`` extension: keep the socket the delivery connected, as a
        descriptor of its own (TLS takes the first one over; a shutdown through either
        ends the connection)."""
        if event == _CONNECTED:
            sock = info["return_value"].get_extra_info("socket").dup()
            with self._lock:
                self._socket = sock
                if self.passed:  # connected after the time was up
                    self._shutdown()

    def _cut(self) -> None:
        with self._lock:
            self.passed = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._socket is not None:
            # shutdown, not close: it wakes a thread blocked on the socket at once
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
