"""Logs megabytes (log lines, print to stdout and stderr), then accepts: the
log is truncated with a marker and the call still succeeds."""

import sys

from tollgate_plugin import accept, log, precheck


@precheck
def check(request, context):
    line = "flood " * 170
    # 3 × 1000 × 1 KiB: 3 MiB of output.
    for _ in range(1000):
        log.info(line)
        print(line)
        print(line, file=sys.stderr)
    return accept()
