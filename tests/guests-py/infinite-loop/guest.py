"""Spins forever: stopped by the fuel limit (or the deadline)."""

from tollgate_plugin import precheck


@precheck
def check(request, context):
    n = 0
    while True:
        n += 1
