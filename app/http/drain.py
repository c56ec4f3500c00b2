"""A graceful stop: an instance that is told to stop (SIGTERM) leaves the balancer first.

For ``CATALOGUE_DRAIN_SECONDS`` after SIGTERM the instance keeps serving, answers
``/readyz`` with 503 ``draining`` (a readiness-gated balancer takes it out), and closes
every connection after its answer (``Connection: close``), so a proxy holds no idle
keep-alive connection to it when it stops listening: a request sent on such a connection
as it closes is lost with a 502 for a write (nginx does not resend a non-idempotent
request), while a new connection refused is resent to the other instance. Then uvicorn's
own stop runs: no new connections, the requests in flight finish. A second SIGTERM stops
at once; SIGINT (Ctrl-C) is not delayed.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

log = logging.getLogger("app.http.drain")

#: set from the first SIGTERM until the process ends
DRAINING = threading.Event()


def install(seconds: float) -> None:
    """Delay the server's own SIGTERM handler by ``seconds`` of draining. Only in the
    main thread of a served process (where uvicorn installed it); nothing otherwise."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return

    def on_term(sig: int, frame: Any) -> None:
        if DRAINING.is_set():  # told twice: stop now
            previous(sig, frame)
            return
        DRAINING.set()
        log.info("draining for %.1f s before stopping (SIGTERM)", seconds)
        timer = threading.Timer(seconds, previous, args=(sig, None))
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_term)
