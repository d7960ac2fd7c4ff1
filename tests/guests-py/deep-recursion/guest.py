"""Recurses without bound through the interpreter's C code (every level is a
`__getattr__` called from C), with Python's own recursion limit lifted: only
the sandbox's stack limit stops it."""

import sys

from tollgate_plugin import precheck


class Deep:
    def __getattr__(self, name):
        return getattr(self, name + "x")


@precheck
def check(request, context):
    sys.setrecursionlimit(100_000_000)
    return getattr(Deep(), "a")
