"""Reads the clocks and the random sources (after trying to sleep for 30 s)
and reports what it saw in its rejection message: the host's frozen `now`,
no time passing, and randomness that follows the call's seed."""

import datetime
import os
import random
import time
import uuid

from tollgate_plugin import precheck, reject


@precheck
def check(request, context):
    before = time.monotonic_ns()
    time.sleep(30)
    slept = time.monotonic_ns() - before
    wall = int(time.time() * 1000)
    today = datetime.datetime.now(datetime.timezone.utc).isoformat()
    return reject(
        -150,
        f"wall={wall} now={context.now} date={today} slept={slept} random={random.random():.17f} "
        f"randbits={random.getrandbits(64):016x} urandom={os.urandom(8).hex()} uuid={uuid.uuid4()}",
    )
