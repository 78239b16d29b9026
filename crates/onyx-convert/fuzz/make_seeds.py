#!/usr/bin/env python3
"""Writes the seed inputs in seeds/gguf_open/: small valid GGUF files made with the `gguf`
Python package's own writer (so the seeds do not share Onyx's idea of the format).

    pip install gguf==0.19.0 numpy
    python3 crates/onyx-convert/fuzz/make_seeds.py
"""

from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFWriter, TokenType
from gguf.quants import quantize

OUT = Path(__file__).resolve().parent / "seeds" / "gguf_open"


def write(name: str, fill) -> None:
    path = OUT / name
    writer = GGUFWriter(str(path), "llama")
    fill(writer)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"{path.name}: {path.stat().st_size} bytes")


def plain_and_block_tensors(w: GGUFWriter) -> None:
    rng = np.random.default_rng(1)
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_tensor("f32", rng.standard_normal((2, 4)).astype(np.float32))
    w.add_tensor("f16", rng.standard_normal((3,)).astype(np.float16))
    for qtype in (T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1):
        data = rng.standard_normal((2, 32)).astype(np.float32)
        w.add_tensor(qtype.name.lower(), quantize(data, qtype), raw_dtype=qtype)


def k_quant_tensors(w: GGUFWriter) -> None:
    rng = np.random.default_rng(2)
    for qtype, block_bytes in ((T.Q4_K, 144), (T.Q5_K, 176), (T.Q6_K, 210)):
        w.add_tensor(qtype.name.lower(), rng.integers(0, 256, (1, block_bytes), dtype=np.uint8), raw_dtype=qtype)


def sentencepiece_vocab(w: GGUFWriter) -> None:
    tokens = ["<unk>", "<s>", "</s>", "<0x0A>", "\u2581", "a", "b", "ab", "\u2581a"]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0, 0.0, 0.0, 0.0, -9.0, -9.0, -9.0, -1.0, -2.0])
    w.add_token_types([TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL, TokenType.BYTE] + [TokenType.NORMAL] * 5)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_chat_template("{{ messages }}")


def byte_level_vocab(w: GGUFWriter) -> None:
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(["<|endoftext|>", "a", "b", "ab", "\u0120", "\u0120ab"])
    w.add_token_types([TokenType.CONTROL] + [TokenType.NORMAL] * 5)
    w.add_token_merges(["a b", "\u0120 ab"])
    w.add_eos_token_id(0)
    w.add_array("test.nested", [[1, 2], [3]])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    write("plain_and_block.gguf", plain_and_block_tensors)
    write("k_quants.gguf", k_quant_tensors)
    write("sentencepiece.gguf", sentencepiece_vocab)
    write("byte_level.gguf", byte_level_vocab)


if __name__ == "__main__":
    main()
