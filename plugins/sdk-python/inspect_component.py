#!/usr/bin/env python3
"""What a component asks of the host: its imported interfaces, the core
modules it instantiates, and the memories and tables those define (what the
instance pool must hold per plugin). Reads the binary format directly.

    python3 tollgate-sdk/inspect_component.py FILE.wasm [--json]

build.py uses it to refuse a component that imports wasi:http.
"""

import json
import sys


def _leb(data: bytes, i: int):
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def _name(data: bytes, i: int):
    n, i = _leb(data, i)
    return data[i:i + n].decode(), i + n


def _sections(data: bytes):
    i = 8  # magic and version/layer
    while i < len(data):
        size, body = _leb(data, i + 1)
        yield data[i], data[body:body + size]
        i = body + size


def _module(data: bytes) -> dict:
    defined = {"memories": 0, "tables": 0}
    for sid, body in _sections(data):
        if sid in (4, 5):  # table, memory
            defined["tables" if sid == 4 else "memories"] += _leb(body, 0)[0]
    return defined


def inspect(data: bytes) -> dict:
    report = {"size": len(data), "imports": [], "modules": 0, "core_instances": 0, "memories": 0, "tables": 0}
    modules = []

    def component(data: bytes, top: bool):
        for sid, body in _sections(data):
            if sid == 1:  # core module
                modules.append(_module(body))
            elif sid == 2:  # core instances: 0x00 instantiates a module, 0x01 only bundles exports
                count, i = _leb(body, 0)
                for _ in range(count):
                    kind = body[i]
                    if kind == 0x00:
                        module, i = _leb(body, i + 1)
                        report["core_instances"] += 1
                        report["memories"] += modules[module]["memories"]
                        report["tables"] += modules[module]["tables"]
                        n, i = _leb(body, i)
                        for _ in range(n):
                            _, i = _name(body, i)
                            _, i = _leb(body, i + 1)
                    else:
                        n, i = _leb(body, i + 1)
                        for _ in range(n):
                            _, i = _name(body, i)
                            _, i = _leb(body, i + 1)
            elif sid == 4:  # nested component
                component(body, False)
            elif sid == 10 and top:  # imports: instances (0x05) are interfaces
                count, i = _leb(body, 0)
                for _ in range(count):
                    name, i = _name(body, i + 1)
                    sort = body[i]
                    i += 2 if sort == 0x00 else 1
                    if sort in (0x02, 0x03):
                        i += 1
                    _, i = _leb(body, i)
                    if sort == 0x05:
                        report["imports"].append(name)

    component(data, True)
    report["modules"] = len(modules)
    return report


if __name__ == "__main__":
    found = inspect(open(sys.argv[1], "rb").read())
    if "--json" in sys.argv:
        print(json.dumps(found))
    else:
        for key, value in found.items():
            print(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
