//! Onyx's model builder: it turns models users already have into ONNX graphs made for each target.
//!
//! This crate is pure Rust and never links ONNX Runtime, so it can run anywhere (including build
//! scripts and tests) and its output can be checked by any ONNX consumer. What flows in: model
//! files and graph descriptions. What flows out: serialized ONNX `ModelProto` bytes.
//!
//! - [`onnx`] is a small, dependency-free writer for the subset of the ONNX protobuf schema that
//!   Onyx emits (models, graphs, nodes, attributes, tensors, value infos).
//! - [`progress`] is how conversions report their steps and one overall fraction done.
//! - [`manifest`] is the package manifest (`onyx-model.json`) and its migration; [`folder`] says
//!   what any model folder or import source holds, for every part of Onyx that needs to know.
//! - [`probe`] builds the tiny model `onyx doctor` uses to prove a provider really runs a graph.

pub mod bert;
pub mod blockwise;
pub mod chat;
pub mod convert;
pub mod error;
pub mod folder;
pub mod ggml_type;
pub mod gguf;
pub mod gguf_llama;
pub mod graph;
pub mod hf;
pub mod hf_llama;
pub mod llama;
pub mod manifest;
pub mod onnx;
pub mod package;
pub mod probe;
pub mod progress;
pub mod qdq;
pub mod quant;
pub mod safetensors;
pub mod tiny;
pub mod tokenizer;

pub use error::ConvertError;
