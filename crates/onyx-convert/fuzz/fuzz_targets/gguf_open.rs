//! Fuzzes the GGUF reader: any byte string must parse or fail with an error, never panic, hang,
//! or allocate beyond what the input can justify; and whatever parses must survive dequantizing
//! every tensor and exporting the tokenizer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onyx_convert::gguf::GgufFile;

fuzz_target!(|data: &[u8]| {
    // `from_bytes` is the same parser `GgufFile::open` runs over the memory map, minus the file.
    if let Ok(gguf) = GgufFile::from_bytes("fuzz-input.gguf", data.to_vec()) {
        for info in gguf.tensors() {
            let _ = gguf.dequantize_tensor(info);
        }
        let _ = onyx_convert::tokenizer::build_tokenizer(&gguf);
    }
});
