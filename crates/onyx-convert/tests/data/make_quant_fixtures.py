#!/usr/bin/env python3
"""Writes the dequantization fixtures that tests/gguf.rs checks `onyx_convert::quant` against.

For each ggml type, `quant/<type>.raw` holds a few random blocks and `quant/<type>.f32` the
little-endian f32 values that the `gguf` Python package's numpy dequantizers (an implementation
independent of Onyx's) compute for them. Run from anywhere:

    pip install gguf==0.19.0 numpy
    python3 crates/onyx-convert/tests/data/make_quant_fixtures.py

The output is deterministic (fixed seed), so re-running it must leave git clean.
"""

from pathlib import Path

import numpy as np
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize

OUT = Path(__file__).resolve().parent / "quant"

# type -> (number of blocks, byte offsets of the f16 scale fields inside one block)
CASES = {
    T.F32: (64, []),
    T.F16: (64, []),
    T.BF16: (64, []),
    T.Q8_0: (4, [0]),
    T.Q4_0: (4, [0]),
    T.Q4_1: (4, [0, 2]),
    T.Q5_0: (4, [0]),
    T.Q5_1: (4, [0, 2]),
    T.Q4_K: (2, [0, 2]),
    T.Q5_K: (2, [0, 2]),
    T.Q6_K: (2, [208]),
}


def finite_f16(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random f16 scales spanning normal and subnormal magnitudes, both signs, never inf/nan."""
    mags = 2.0 ** rng.uniform(-26, 4, n)
    return (mags * rng.choice([-1.0, 1.0], n)).astype(np.float16)


def make_blocks(rng: np.random.Generator, qtype: T, n_blocks: int, scale_offsets: list[int]) -> np.ndarray:
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    if qtype == T.F32:
        return (rng.standard_normal(n_blocks) * 10.0 ** rng.uniform(-40, 30, n_blocks)).astype("<f4").view(np.uint8)
    if qtype == T.F16:
        return finite_f16(rng, n_blocks).view(np.uint8)
    if qtype == T.BF16:
        bits = rng.integers(0, 1 << 16, n_blocks, dtype=np.uint16)
        bits &= np.uint16(0xFF7F) | np.uint16(0x8000)  # clear one exponent bit: never inf/nan
        return bits.astype("<u2").view(np.uint8)
    blocks = rng.integers(0, 256, (n_blocks, type_size), dtype=np.uint8)
    for offset in scale_offsets:
        blocks[:, offset : offset + 2] = finite_f16(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    return blocks.reshape(-1)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240607)
    for qtype, (n_blocks, scale_offsets) in CASES.items():
        raw = make_blocks(rng, qtype, n_blocks, scale_offsets)
        values = dequantize(raw, qtype).astype("<f4").reshape(-1)
        assert np.isfinite(values).all(), qtype.name
        (OUT / f"{qtype.name.lower()}.raw").write_bytes(raw.tobytes())
        (OUT / f"{qtype.name.lower()}.f32").write_bytes(values.tobytes())
        print(f"{qtype.name}: {raw.size} bytes -> {values.size} values")


if __name__ == "__main__":
    main()
