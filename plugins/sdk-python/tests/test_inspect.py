"""inspect_component reads imports and pool needs from the binary format."""

from inspect_component import inspect


def leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def name(text: str) -> bytes:
    return leb(len(text)) + text.encode()


def section(sid: int, body: bytes) -> bytes:
    return bytes([sid]) + leb(len(body)) + body


MODULE = b"\0asm\1\0\0\0" + section(5, leb(1) + b"\0\1") + section(4, leb(2) + b"\x70\0\0\x70\0\0")
COMPONENT = b"\0asm\x0d\0\1\0" + section(
    10, leb(2) + b"\0" + name("wasi:http/types@0.2.0") + b"\x05" + leb(0) + b"\0" + name("request") + b"\x03\0" + leb(1)
) + section(1, MODULE) + section(
    2, leb(2) + b"\0" + leb(0) + leb(0) + b"\x01" + leb(1) + name("memory") + b"\x02" + leb(0)
)


def test_instance_imports_instantiations_memories_and_tables():
    found = inspect(COMPONENT)
    assert found["imports"] == ["wasi:http/types@0.2.0"]  # the type import is not an interface
    assert (found["modules"], found["core_instances"], found["memories"], found["tables"]) == (1, 1, 1, 2)
