"""Unpack the shared libraries of the ONNX Runtime wheels into runtime/.

Called by scripts/setup.sh after `pip download`. Wheels are zip files; only the native libraries
(and nothing Python) are copied out, one sub-folder per plugin so that each plugin's own
dependencies (OpenVINO, TBB, ...) sit next to it, where its RPATH ($ORIGIN) looks for them.
"""

import pathlib
import sys
import zipfile

# wheel folder -> destination folder under runtime/
LAYOUT = {
    "onnxruntime/capi/": "",
    "onnxruntime_ep_openvino/": "openvino",
    "onnxruntime_ep_webgpu/": "webgpu",
    # Test-only on Linux x86-64: Qualcomm's QNN HTP backend as an offline compiler and emulator
    # (see runtime-requirements.txt). Its plugin finds the bundled libc++ through RPATH
    # $ORIGIN/../onnxruntime_qnn.libs, so the wheel's layout is kept below qnn/.
    "onnxruntime_qnn/": "test-plugins/qnn/onnxruntime_qnn",
    "onnxruntime_qnn.libs/": "test-plugins/qnn/onnxruntime_qnn.libs",
    # Test-only plugin EP (see runtime-requirements.txt). It finds its bundled libgomp through
    # RPATH $ORIGIN/../../onnxruntime_ggml.libs, so the wheel's own layout is kept below ggml/.
    "onnxruntime_ggml/lib/": "test-plugins/ggml/onnxruntime_ggml/lib",
    "onnxruntime_ggml.libs/": "test-plugins/ggml/onnxruntime_ggml.libs",
}
NATIVE_SUFFIXES = (".so", ".dll", ".dylib")


def is_native(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    if "pybind11" in base:  # the Python extension module, not needed by Onyx
        return False
    return base.endswith(NATIVE_SUFFIXES) or ".so." in base


def main(wheel_dir: str, runtime_dir: str) -> None:
    runtime = pathlib.Path(runtime_dir)
    count = 0
    for wheel in sorted(pathlib.Path(wheel_dir).glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                for prefix, dest in LAYOUT.items():
                    if member.startswith(prefix) and "/" not in member[len(prefix):] and is_native(member):
                        target = runtime / dest / member[len(prefix):]
                        target.parent.mkdir(parents=True, exist_ok=True)
                        tmp = target.with_name(target.name + ".part")
                        tmp.write_bytes(archive.read(member))
                        tmp.replace(target)  # atomic: an interrupted setup never leaves half a library
                        count += 1
    if count == 0:
        sys.exit(f"no native libraries found in the wheels under {wheel_dir}")
    # ORT's loader and Onyx both look for the unversioned name too.
    versioned = sorted(runtime.glob("libonnxruntime.so.1.*"))
    if versioned:
        (runtime / "libonnxruntime.so").symlink_to(versioned[0].name)
    print(f"unpacked {count} libraries into {runtime}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
