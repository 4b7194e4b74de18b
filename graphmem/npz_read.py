"""The large array members of an ``.npz`` (the index cache's vectors and graph), read in place by a few threads.

Through zipfile the same read goes in small chunks, one at a time, then through a checksum pass; at 100k passages,
with 1.7 GB of fact vectors then, that was most of the index load. A short member is still caught.
"""

from __future__ import annotations

import math
import os
import struct
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

LARGE_MEMBER_BYTES = 32 * 2**20
_READ_CHUNK = 64 * 2**20
_READERS = 4  # first reads of 2.4 GB files on this project's 2-core VM: 267 MB/s one read at a time, 598 MB/s 4 at once


@dataclass(frozen=True)
class _Layout:
    name: str
    start: int  # where the array's bytes begin in the file
    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype


def _layouts(path: Path, min_bytes: int) -> list[_Layout]:
    """Where the uncompressed members of at least ``min_bytes`` keep their array bytes, from their local and
    .npy headers; ValueError when a header does not fit the archive (a short member among them)."""
    out: list[_Layout] = []
    with zipfile.ZipFile(path) as archive, open(path, "rb") as raw:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED or info.file_size < min_bytes:
                continue
            if info.header_offset < 0:  # zipfile's guess when bytes before the directory are missing
                raise ValueError(f"member {info.filename} starts before the file does")
            raw.seek(info.header_offset)
            local = raw.read(30)
            if len(local) != 30 or local[:4] != b"PK\x03\x04":
                raise ValueError(f"member {info.filename} has no local header")
            name_length, extra_length = struct.unpack("<HH", local[26:30])
            start = info.header_offset + 30 + name_length + extra_length
            raw.seek(start)
            version = npy_format.read_magic(raw)
            read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
            shape, fortran_order, dtype = read_header(raw)
            if dtype.hasobject:
                raise ValueError(f"member {info.filename} holds Python objects")
            if raw.tell() + math.prod(shape) * dtype.itemsize > start + info.file_size:
                raise ValueError(f"member {info.filename} is shorter than its header says")
            out.append(_Layout(info.filename.removesuffix(".npy"), raw.tell(), shape, fortran_order, dtype))
    return out


def _widened(layout: _Layout) -> bool:
    return layout.dtype == np.dtype(np.float16)


class LargeMembers:
    """The uncompressed array members of an ``.npz`` of at least ``min_bytes``, read straight into their arrays
    by a few threads, in the background: ``result()`` waits for them. Through zipfile the same read goes in small
    chunks, one at a time, then through a checksum pass; at 100k passages, with 1.7 GB of fact vectors, that was
    most of the load. Reads release the GIL, so the caller decodes the small members meanwhile. float16 members
    come back as float32, widened chunk by chunk by the same threads (in one pass after the read, that took 1.8 s
    at 100k passages). ValueError (now or from ``result()``) when a member does not fit the archive or the file
    ends inside one."""

    def __init__(self, path: Path, min_bytes: int = LARGE_MEMBER_BYTES) -> None:
        self.path = path
        layouts = _layouts(path, min_bytes)
        self._flat = {lay.name: np.empty(math.prod(lay.shape), dtype=np.float32 if _widened(lay) else lay.dtype)
                      for lay in layouts}  # fmt: skip
        self._layouts = layouts
        self._fd = os.open(path, os.O_RDONLY)
        self._pool = ThreadPoolExecutor(_READERS, thread_name_prefix="graphmem-read")
        self._reads: list[Future[None]] = []
        for lay in layouts:
            flat = self._flat[lay.name]
            if _widened(lay):
                step = _READ_CHUNK // 2
                for first in range(0, len(flat), step):
                    part = flat[first : first + step]
                    self._reads.append(self._pool.submit(self._read_half, lay.name, part, lay.start + 2 * first))
                continue
            buffer = memoryview(flat.view(np.uint8))
            for offset in range(0, len(buffer), _READ_CHUNK):
                part = buffer[offset : offset + _READ_CHUNK]
                self._reads.append(self._pool.submit(self._read, lay.name, part, lay.start + offset))

    def _read(self, name: str, into: memoryview, at: int) -> None:
        done = 0
        while done < len(into):  # a read may return less than asked without being at the end
            got = os.preadv(self._fd, [into[done:]], at + done)
            if got == 0:
                raise ValueError(f"member {name} is cut short")
            done += got

    def _read_half(self, name: str, into: np.ndarray, at: int) -> None:
        halves = np.empty(len(into), dtype=np.float16)
        self._read(name, memoryview(halves.view(np.uint8)), at)
        np.copyto(into, halves)

    def result(self) -> dict[str, np.ndarray]:
        try:
            for read in self._reads:
                read.result()
        finally:
            self.close()
        order = {lay.name: "F" if lay.fortran_order else "C" for lay in self._layouts}
        return {lay.name: self._flat[lay.name].reshape(lay.shape, order=order[lay.name]) for lay in self._layouts}

    def close(self) -> None:
        """Stop reading (reads under way finish first) and close the file; safe to call twice."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> LargeMembers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def large_members(path: Path, min_bytes: int = LARGE_MEMBER_BYTES) -> dict[str, np.ndarray]:
    """LargeMembers' arrays, waited for."""
    return LargeMembers(path, min_bytes).result()
