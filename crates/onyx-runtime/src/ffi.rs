//! The few raw ORT C-API helpers Onyx needs where `ort` has no safe wrapper: copying C strings
//! and key/value pairs out of ORT-owned memory, and turning an `OrtStatus` into a `Result`.
//! Every `unsafe` block that reads ORT memory outside a session call goes through here.

use std::collections::BTreeMap;
use std::ffi::CStr;

/// Reads a C string owned by ORT, tolerating null and invalid UTF-8 (device vendors are free
/// text coming from drivers).
pub(crate) fn c_str_lossy(ptr: *const std::ffi::c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: ORT returns NUL-terminated strings that live as long as the object they describe,
    // and we copy them out immediately.
    unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
}

/// Turns an ORT status into a `Result`, releasing the status.
///
/// # Safety
/// `status` must be a status pointer just returned by an ORT API call.
pub(crate) unsafe fn check(status: ort::sys::OrtStatusPtr) -> Result<(), String> {
    if status.0.is_null() {
        return Ok(());
    }
    let api = ort::api();
    // SAFETY: non-null status from ORT; the message is copied before the status is released.
    unsafe {
        let message = c_str_lossy((api.GetErrorMessage)(status.0));
        (api.ReleaseStatus)(status.0);
        Err(message)
    }
}

/// Copies an `OrtKeyValuePairs` into a map.
///
/// # Safety
/// `pairs` must be null or a valid `OrtKeyValuePairs` that stays alive during the call.
pub(crate) unsafe fn key_value_pairs(pairs: *const ort::sys::OrtKeyValuePairs) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    if pairs.is_null() {
        return map;
    }
    let mut keys = std::ptr::null();
    let mut values = std::ptr::null();
    let mut count = 0usize;
    // SAFETY: guaranteed by the caller; ORT fills two arrays of `count` C strings it owns.
    unsafe {
        (ort::api().GetKeyValuePairs)(pairs, &mut keys, &mut values, &mut count);
        if keys.is_null() || values.is_null() {
            return map;
        }
        for i in 0..count {
            map.insert(c_str_lossy(*keys.add(i)), c_str_lossy(*values.add(i)));
        }
    }
    map
}
