//! What every model package shares: targets, precisions, the source record, and writing a
//! package folder so that a failed conversion leaves nothing half-written.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ConvertError;

/// Version of the `onyx-model.json` format this crate writes.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's file name inside a package.
pub const MANIFEST_FILE: &str = "onyx-model.json";

/// Lowercase hex SHA-256 of a file, streamed (model files are large).
pub fn sha256_file(path: &Path) -> Result<String, ConvertError> {
    let mut file = std::fs::File::open(path).map_err(|source| ConvertError::Io { path: path.to_path_buf(), source })?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).map_err(|source| ConvertError::Io { path: path.to_path_buf(), source })?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A package folder being written: files go into a hidden sibling folder, which becomes the
/// package only when [`PartialPackage::commit`] renames it. Dropping it uncommitted (an error,
/// a panic) removes everything written so far.
pub struct PartialPackage {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl PartialPackage {
    /// Starts writing the package that will live at `target`. An existing package there is
    /// replaced only at commit time, so a failed re-conversion keeps the old one.
    pub fn create(target: &Path) -> Result<Self, ConvertError> {
        let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("package");
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|source| ConvertError::Write { path: parent.to_path_buf(), source })?;
        let temp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if temp.exists() {
            std::fs::remove_dir_all(&temp).map_err(|source| ConvertError::Write { path: temp.clone(), source })?;
        }
        std::fs::create_dir(&temp).map_err(|source| ConvertError::Write { path: temp.clone(), source })?;
        Ok(Self { temp, target: target.to_path_buf(), committed: false })
    }

    /// The folder to write files into.
    pub fn dir(&self) -> &Path {
        &self.temp
    }

    /// Writes one file into the package.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), ConvertError> {
        let path = self.temp.join(name);
        std::fs::write(&path, bytes).map_err(|source| ConvertError::Write { path, source })
    }

    /// Writes a JSON file into the package.
    pub fn write_json(&self, name: &str, value: &impl Serialize) -> Result<(), ConvertError> {
        let json = serde_json::to_vec_pretty(value)
            .map_err(|e| ConvertError::Write { path: self.temp.join(name), source: std::io::Error::other(e) })?;
        self.write(name, &json)
    }

    /// Moves the finished package into place, replacing an older one.
    pub fn commit(mut self) -> Result<PathBuf, ConvertError> {
        if self.target.exists() {
            std::fs::remove_dir_all(&self.target)
                .map_err(|source| ConvertError::Write { path: self.target.clone(), source })?;
        }
        std::fs::rename(&self.temp, &self.target)
            .map_err(|source| ConvertError::Write { path: self.target.clone(), source })?;
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for PartialPackage {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the folder is hidden and named after this process, so a leftover
            // (from a kill -9) is recognisable and replaced by the next conversion.
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}

/// Where a package's weights came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// The source file's name.
    pub file: String,
    /// Its SHA-256.
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uncommitted_package_leaves_nothing_behind_and_commit_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("model");
        {
            let partial = PartialPackage::create(&target).expect("create");
            partial.write("a.txt", b"first").expect("write");
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0, "nothing left after a failed write");

        let partial = PartialPackage::create(&target).expect("create");
        partial.write("a.txt", b"second").expect("write");
        partial.commit().expect("commit");
        assert_eq!(std::fs::read(target.join("a.txt")).expect("read"), b"second");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn sha256_matches_a_known_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").expect("write");
        assert_eq!(
            sha256_file(&path).expect("hash"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
