"""Allocates without bound: stopped by the memory limit."""

from tollgate_plugin import precheck


@precheck
def check(request, context):
    hoard = []
    while True:
        hoard.append(bytearray(1 << 20))
