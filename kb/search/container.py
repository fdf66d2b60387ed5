"""The binary container every .bin file of the index uses (docs/search-index.md).

    magic   4 bytes   b"KBSI"
    version u32 LE    FORMAT_VERSION
    hlen    u32 LE    length of the JSON header; 12 + hlen is a multiple of 8
    header  JSON      {"kind": str, ..., "sections": [{"name", "dtype", "shape", "offset"}]}
    payload           each section little-endian, starting at 12 + hlen + offset (8-aligned)
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

MAGIC = b"KBSI"
FORMAT_VERSION = 1
DTYPES = {"u8": np.uint8, "i8": np.int8, "u16": np.uint16, "u32": np.uint32, "i32": np.int32, "f16": np.float16,
          "f32": np.float32}
_NAMES = {np.dtype(v).str.lstrip("<|="): k for k, v in DTYPES.items()}


class FormatError(ValueError):
    """A file of the search index is missing, truncated or of another version."""


def pack(kind: str, arrays: dict[str, np.ndarray], **header: Any) -> bytes:
    sections, blobs, offset = [], [], 0
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        dt = _NAMES[arr.dtype.newbyteorder("<").str.lstrip("<|=")]
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        sections.append({"name": name, "dtype": dt, "shape": list(arr.shape), "offset": offset})
        pad = (-len(raw)) % 8
        blobs.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    head = json.dumps({"kind": kind, **header, "sections": sections}, separators=(",", ":"), sort_keys=True).encode()
    head += b" " * ((-(12 + len(head))) % 8)
    return MAGIC + struct.pack("<II", FORMAT_VERSION, len(head)) + head + b"".join(blobs)


def unpack(data: bytes, kind: str, where: str = "") -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if len(data) < 12 or data[:4] != MAGIC:
        raise FormatError(f"{where}: not a kb search index file (bad magic)")
    version, hlen = struct.unpack_from("<II", data, 4)
    if version != FORMAT_VERSION:
        raise FormatError(f"{where}: index format version {version}, this kb reads {FORMAT_VERSION}: rebuild the site")
    if 12 + hlen > len(data):
        raise FormatError(f"{where}: truncated header")
    try:
        header = json.loads(data[12 : 12 + hlen])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{where}: unreadable header: {exc}") from exc
    if header.get("kind") != kind:
        raise FormatError(f"{where}: expected a '{kind}' file, found '{header.get('kind')}'")
    arrays: dict[str, np.ndarray] = {}
    base = 12 + hlen
    for s in header.get("sections", []):
        dt = np.dtype(DTYPES[s["dtype"]]).newbyteorder("<")
        count = int(np.prod(s["shape"])) if s["shape"] else 1
        start = base + s["offset"]
        if start + count * dt.itemsize > len(data):
            raise FormatError(f"{where}: section '{s['name']}' is truncated")
        arrays[s["name"]] = np.frombuffer(data, dt, count, start).reshape(s["shape"])
    return header, arrays
