"""Rebuild the BPE rank files the gateway ships (``src/patchbay/data/*.tiktoken.gz``).

Nothing is downloaded at run time, and the machine that builds Patchbay reaches only package
registries, so the ranks come from the npm package ``js-tiktoken`` (a port of tiktoken that
ships them): its ``dist/ranks/<name>.js`` holds ``bpe_ranks`` as lines of
``! <first rank> <base64 token> <base64 token> ...``. They are written back in tiktoken's own
file format (``<base64 token> <rank>`` per line) and checked against the SHA-256 that tiktoken
itself expects for the published file, so the result is byte for byte OpenAI's file.

    npm pack js-tiktoken@1.0.21 && tar xzf js-tiktoken-1.0.21.tgz
    python tools/vendor_tokenizer.py package/dist/ranks o200k_base cl100k_base
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path

EXPECTED_SHA256 = {  # tiktoken_ext/openai_public.py
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
DATA = Path(__file__).resolve().parents[1] / "src" / "patchbay" / "data"


def convert(ranks_dir: Path, name: str) -> Path:
    source = (ranks_dir / f"{name}.js").read_text()
    data = json.loads(source[source.index("{") : source.rindex("}") + 1])
    lines: list[tuple[int, str]] = []
    for row in data["bpe_ranks"].split("\n"):
        if not row:
            continue
        _, offset, *tokens = row.split(" ")
        lines += [(int(offset) + i, token) for i, token in enumerate(tokens)]
    text = "".join(f"{token} {rank}\n" for rank, token in sorted(lines)).encode()
    digest = hashlib.sha256(text).hexdigest()
    if digest != EXPECTED_SHA256[name]:
        raise SystemExit(f"{name}: sha256 {digest} is not tiktoken's {EXPECTED_SHA256[name]}")
    DATA.mkdir(parents=True, exist_ok=True)
    target = DATA / f"{name}.tiktoken.gz"
    target.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))
    meta = {"pat_str": data["pat_str"], "special_tokens": data["special_tokens"]}
    (DATA / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    return target


def main() -> None:
    ranks_dir = Path(sys.argv[1])
    for name in sys.argv[2:]:
        print(convert(ranks_dir, name))


if __name__ == "__main__":
    main()
