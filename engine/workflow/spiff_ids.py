"""Task ids for the simulator: a counter instead of ``uuid4``.

SpiffWorkflow gives every task it creates a fresh ``uuid4()``, one ``os.urandom`` system call
each; a simulated case creates some 150 tasks, and the calls were a fifteenth of its time. While
:func:`counted_task_ids` is active, ids are a random 64-bit prefix (drawn once, so they never
meet a random uuid4 from elsewhere in the process) followed by a counter. They are still UUIDs,
unique in the process, and a seeded simulation now names its tasks the same way on every run.
The service never enters it: its task ids stay random.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
from uuid import UUID, SafeUUID

from SpiffWorkflow import task as spiff_task

_lock = threading.RLock()
_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown


@contextlib.contextmanager
def counted_task_ids(rng: random.Random | None = None):
    prefix = (rng or random.SystemRandom()).getrandbits(64) << 64
    counter = itertools.count(1)

    def next_id() -> UUID:
        # UUID(int=…) checks its argument and version on every call; these are in range by
        # construction, so the two slots are set directly
        u = _new(UUID)
        _set(u, "int", prefix | next(counter))
        _set(u, "is_safe", _UNKNOWN)
        return u

    with _lock:  # one simulation at a time per process swaps the id source
        plain = spiff_task.uuid4
        spiff_task.uuid4 = next_id
        try:
            yield
        finally:
            spiff_task.uuid4 = plain
