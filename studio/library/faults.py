"""Fault injection for the crash-safety tests.

The library calls :func:`crash_point` at the moments where a crash matters most. In normal
use it does nothing; with ``KILN_CRASH_AT=<name>`` in the environment the process dies on
the spot, as if the power went out, so tests can check what a real crash leaves behind.
"""

from __future__ import annotations

import os
import signal

#: After a blob's temp file is written and fsynced, before it is renamed into the store.
BLOB_WRITTEN = "blob-written"
#: After every blob is in the store, before the database row pointing to them is committed.
BLOB_STORED = "blob-stored"
#: Right after the database commit.
ROW_COMMITTED = "row-committed"


def crash_point(name: str) -> None:
    """Kill this process without any cleanup when ``KILN_CRASH_AT`` equals ``name``.

    Parameters
    ----------
    name
        One of :data:`BLOB_WRITTEN`, :data:`BLOB_STORED`, :data:`ROW_COMMITTED`.
    """
    if os.environ.get("KILN_CRASH_AT") != name:
        return
    if os.name == "nt":
        # No SIGKILL on Windows; _exit skips cleanup just the same.
        os._exit(137)
    os.kill(os.getpid(), signal.SIGKILL)
