"""Small, valid media files made from nothing, for the ``echo`` kind (pure; no fixtures).

- ``png``: an RGB PNG of one colour (zlib-compressed scanlines, CRC-checked chunks);
- ``wav``: 16-bit mono PCM at 8 kHz, a sine tone, with the text it "says" kept in a RIFF
  ``LIST/INFO/ICMT`` chunk after the samples, so echo's transcription can read it back;
- ``mp4``: an ISO-BMFF file (``ftyp``, ``moov``, ``mdat``) holding one 16×16 H.264 Baseline
  frame per second; each frame is an IDR picture whose single macroblock is coded I_PCM (raw
  samples), which needs no transform or entropy coder to produce.
"""

from __future__ import annotations

import math
import struct
import zlib

WAV_RATE = 8000


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * width  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


def png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def wav(seconds: float, text: str = "", tone_hz: float = 440.0) -> bytes:
    count = max(1, int(seconds * WAV_RATE))
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * tone_hz * i / WAV_RATE)))
        for i in range(count)
    )
    fmt = struct.pack("<HHIIHH", 1, 1, WAV_RATE, WAV_RATE * 2, 2, 16)
    comment = text.encode() + b"\x00"
    if len(comment) % 2:
        comment += b"\x00"
    info = b"INFO" + b"ICMT" + struct.pack("<I", len(comment)) + comment
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(samples))
        + samples
        + b"LIST"
        + struct.pack("<I", len(info))
        + info
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def wav_seconds(head: bytes, size: int) -> float | None:
    """A WAV file's duration from its first bytes (and its size, if the data chunk comes
    later than the header's first 64 bytes)."""
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE" or head[12:16] != b"fmt ":
        return None
    byte_rate = int(struct.unpack("<I", head[28:32])[0])
    if not byte_rate:
        return None
    fmt_size = int(struct.unpack("<I", head[16:20])[0])
    at = 20 + fmt_size
    if head[at : at + 4] == b"data" and len(head) >= at + 8:
        return int(struct.unpack("<I", head[at + 4 : at + 8])[0]) / byte_rate
    return float(max(0, size - 44) / byte_rate)


def wav_text(data: bytes) -> str | None:
    """The text an echo WAV carries in its ``ICMT`` chunk."""
    at = data.rfind(b"ICMT")
    if at < 0 or data[:4] != b"RIFF":
        return None
    length = struct.unpack("<I", data[at + 4 : at + 8])[0]
    return data[at + 8 : at + 8 + length].split(b"\x00", 1)[0].decode("utf-8", "replace")


class _Bits:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, value: int, width: int) -> None:
        self.bits += [(value >> (width - 1 - i)) & 1 for i in range(width)]

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(0, code.bit_length() - 1)
        self.u(code, code.bit_length())

    def align(self) -> None:
        while len(self.bits) % 8:
            self.bits.append(0)

    def trailing(self) -> bytes:
        self.bits.append(1)
        self.align()
        return bytes(
            int("".join(map(str, self.bits[i : i + 8])), 2) for i in range(0, len(self.bits), 8)
        )


def _nal(header: int, rbsp: bytes) -> bytes:
    """A NAL unit with emulation prevention bytes inserted."""
    out, zeros = bytearray([header]), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _sps() -> bytes:
    b = _Bits()
    b.u(66, 8)  # Baseline
    b.u(0xC0, 8)  # constraint_set0/1
    b.u(10, 8)  # level 1.0
    for value in (0, 0, 2, 1):  # sps id, log2_max_frame_num-4, poc type, max ref frames
        b.ue(value)
    b.u(0, 1)  # gaps_in_frame_num_allowed
    b.ue(0)  # width in macroblocks - 1
    b.ue(0)  # height in map units - 1
    b.u(0b110, 3)  # frame_mbs_only, direct_8x8_inference, no cropping
    b.u(0, 1)  # no VUI
    return _nal(0x67, b.trailing())


def _pps() -> bytes:
    b = _Bits()
    b.ue(0)
    b.ue(0)
    b.u(0, 2)  # CAVLC, no field order
    for _ in range(3):  # one slice group, one ref each list
        b.ue(0)
    b.u(0, 3)  # no weighted prediction
    for _ in range(3):  # qp, qs, chroma offset: se(0)
        b.ue(0)
    b.u(0, 3)  # no deblocking control, no constrained intra, no redundant pictures
    return _nal(0x68, b.trailing())


def _idr(idr_id: int, luma: int, cb: int, cr: int) -> bytes:
    b = _Bits()
    b.ue(0)  # first macroblock
    b.ue(7)  # I slice
    b.ue(0)  # pps id
    b.u(0, 4)  # frame_num
    b.ue(idr_id)
    b.u(0, 2)  # no_output_of_prior_pics, long_term_reference
    b.ue(0)  # slice_qp_delta se(0)
    b.ue(25)  # mb_type I_PCM
    b.align()
    for value, count in ((luma, 256), (cb, 64), (cr, 64)):
        b.bits += [(value >> (7 - i)) & 1 for _ in range(count) for i in range(8)]
    return _nal(0x65, b.trailing())


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _moov(frames: list[bytes], offset: int, sps: bytes, pps: bytes) -> bytes:
    duration = 1000 * len(frames)
    avcc = _box(
        b"avcC",
        bytes([1, 66, 0xC0, 10, 0xFF, 0xE1]),
        struct.pack(">H", len(sps)) + sps,
        b"\x01" + struct.pack(">H", len(pps)) + pps,
    )
    avc1 = _box(
        b"avc1",
        b"\x00" * 6 + struct.pack(">H", 1) + b"\x00" * 16,
        struct.pack(">HHIIIH", 16, 16, 0x480000, 0x480000, 0, 1),
        b"\x00" * 32 + struct.pack(">Hh", 0x18, -1),
        avcc,
    )
    stbl = _box(
        b"stbl",
        _full(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
        _full(b"stts", 0, 0, struct.pack(">III", 1, len(frames), 1000)),
        _full(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, len(frames), 1)),
        _full(
            b"stsz",
            0,
            0,
            struct.pack(">II", 0, len(frames)),
            *(struct.pack(">I", len(f)) for f in frames),
        ),
        _full(b"stco", 0, 0, struct.pack(">II", 1, offset)),
    )
    minf = _box(
        b"minf",
        _full(b"vmhd", 0, 1, b"\x00" * 8),
        _box(b"dinf", _full(b"dref", 0, 0, struct.pack(">I", 1), _full(b"url ", 0, 1))),
        stbl,
    )
    mdia = _box(
        b"mdia",
        _full(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, 1000, duration, 0x55C4, 0)),
        _full(b"hdlr", 0, 0, b"\x00" * 4 + b"vide" + b"\x00" * 12 + b"VideoHandler\x00"),
        minf,
    )
    tkhd = _full(
        b"tkhd", 0, 3,
        struct.pack(">IIIII", 0, 0, 1, 0, duration), b"\x00" * 8,
        struct.pack(">hhhH", 0, 0, 0, 0), MATRIX, struct.pack(">II", 16 << 16, 16 << 16),
    )  # fmt: skip
    mvhd = _full(
        b"mvhd", 0, 0,
        struct.pack(">IIIIIH", 0, 0, 1000, duration, 0x10000, 0x100), b"\x00" * 10,
        MATRIX, b"\x00" * 24, struct.pack(">I", 2),
    )  # fmt: skip
    return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))


def mp4(seconds: int, rgb: tuple[int, int, int]) -> bytes:
    """``seconds`` one-second frames of a 16×16 picture of one colour."""
    r, g, bl = rgb
    luma = 16 + (66 * r + 129 * g + 25 * bl) // 256  # BT.601, all in 16..240: no zero bytes
    cb = 128 + (-38 * r - 74 * g + 112 * bl) // 256
    cr = 128 + (112 * r - 94 * g - 18 * bl) // 256
    sps, pps = _sps(), _pps()
    frames = [
        struct.pack(">I", len(n)) + n for n in (_idr(i % 2, luma, cb, cr) for i in range(seconds))
    ]
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
    size = len(_moov(frames, 0, sps, pps))
    moov = _moov(frames, len(ftyp) + size + 8, sps, pps)
    return ftyp + moov + _box(b"mdat", *frames)


def boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """The top-level boxes of an ISO-BMFF file (for checks)."""
    out, at = [], 0
    while at + 8 <= len(data):
        size = struct.unpack(">I", data[at : at + 4])[0]
        if size < 8 or at + size > len(data):
            raise ValueError("truncated box")
        out.append((data[at + 4 : at + 8], data[at + 8 : at + size]))
        at += size
    return out
