//! Which EP each graph node was assigned to: the measured answer to "where does it run?".
//!
//! ORT ≥ 1.24 records the assignment when a session is created with
//! `session.record_ep_graph_assignment_info=1` and exposes it through
//! `Session_GetEpGraphAssignmentInfo`. `ort` has no safe wrapper for it, so this module is the one
//! place that calls those C functions. Everything returned by ORT here is owned by the session
//! and only borrowed for the duration of [`read`]; it is copied into plain Rust data at once.

use std::collections::BTreeMap;

use ort::AsPointer;
use serde::Serialize;

use crate::ffi::{c_str_lossy, check};

/// The session config key that makes ORT record the assignment.
pub(crate) const RECORD_ASSIGNMENT_KEY: &str = "session.record_ep_graph_assignment_info";

/// One node as placed.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedNode {
    /// Node name.
    pub name: String,
    /// Operator domain (empty for `ai.onnx`).
    pub domain: String,
    /// Operator type.
    pub op_type: String,
}

/// A group of nodes ORT assigned to one EP. On the CPU EP every node is its own subgraph;
/// compiling EPs (OpenVINO, QNN) report fused subgraphs.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedSubgraph {
    /// The EP, e.g. `CPUExecutionProvider`.
    pub ep: String,
    /// The original graph nodes in it.
    pub nodes: Vec<AssignedNode>,
}

/// The whole placement of a session.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// Subgraphs in ORT's order.
    pub subgraphs: Vec<AssignedSubgraph>,
}

impl Placement {
    /// Node count per EP, sorted by EP name.
    pub fn nodes_per_ep(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for subgraph in &self.subgraphs {
            *counts.entry(subgraph.ep.clone()).or_insert(0) += subgraph.nodes.len();
        }
        counts
    }

    /// Nodes assigned to `ep`.
    pub fn nodes_on(&self, ep: &str) -> usize {
        self.subgraphs.iter().filter(|s| s.ep == ep).map(|s| s.nodes.len()).sum()
    }

    /// All nodes placed anywhere.
    pub fn total_nodes(&self) -> usize {
        self.subgraphs.iter().map(|s| s.nodes.len()).sum()
    }
}

/// Reads the placement of `session`. The session must have been created with
/// [`RECORD_ASSIGNMENT_KEY`] set to `1`, otherwise ORT reports an error.
pub(crate) fn read(session: &ort::session::Session) -> Result<Placement, String> {
    let api = ort::api();
    let mut subgraph_ptrs: *const *const ort::sys::OrtEpAssignedSubgraph = std::ptr::null();
    let mut subgraph_count = 0usize;
    // SAFETY: `session.ptr()` is a live session for the whole function; ORT writes an array of
    // `subgraph_count` subgraph pointers it owns (valid while the session lives), and every
    // string or node pointer read below is owned by those subgraphs. Nothing is retained.
    unsafe {
        check((api.Session_GetEpGraphAssignmentInfo)(session.ptr(), &mut subgraph_ptrs, &mut subgraph_count))?;
        let mut subgraphs = Vec::with_capacity(subgraph_count);
        for i in 0..subgraph_count {
            let subgraph = *subgraph_ptrs.add(i);
            let mut ep_name = std::ptr::null();
            check((api.EpAssignedSubgraph_GetEpName)(subgraph, &mut ep_name))?;
            let mut node_ptrs: *const *const ort::sys::OrtEpAssignedNode = std::ptr::null();
            let mut node_count = 0usize;
            check((api.EpAssignedSubgraph_GetNodes)(subgraph, &mut node_ptrs, &mut node_count))?;
            let mut nodes = Vec::with_capacity(node_count);
            for j in 0..node_count {
                let node = *node_ptrs.add(j);
                let (mut name, mut domain, mut op_type) = (std::ptr::null(), std::ptr::null(), std::ptr::null());
                check((api.EpAssignedNode_GetName)(node, &mut name))?;
                check((api.EpAssignedNode_GetDomain)(node, &mut domain))?;
                check((api.EpAssignedNode_GetOperatorType)(node, &mut op_type))?;
                nodes.push(AssignedNode {
                    name: c_str_lossy(name),
                    domain: c_str_lossy(domain),
                    op_type: c_str_lossy(op_type),
                });
            }
            subgraphs.push(AssignedSubgraph { ep: c_str_lossy(ep_name), nodes });
        }
        Ok(Placement { subgraphs })
    }
}
