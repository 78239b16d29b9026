//! Writing a package folder so that a failed conversion leaves nothing half-written, and hashing
//! its source. What the package holds is described by [`crate::manifest`].

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ConvertError;
use crate::manifest::MANIFEST_FILE;

/// Lowercase hex SHA-256 of a file, streamed (model files are large).
pub fn sha256_file(path: &Path) -> Result<String, ConvertError> {
    sha256_file_reporting(path, &mut |_| Ok(()))
}

/// [`sha256_file`], calling `progress` with the share of the file hashed so far (`0..=1`): a
/// source of several gigabytes takes seconds to hash.
pub fn sha256_file_reporting(
    path: &Path,
    progress: &mut dyn FnMut(f32) -> Result<(), ConvertError>,
) -> Result<String, ConvertError> {
    let io_error = |source| ConvertError::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    // Only for the share: a file whose length cannot be read is hashed all the same.
    let total = file.metadata().map(|m| m.len()).unwrap_or(0).max(1);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(io_error)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        done += n as u64;
        progress(done as f32 / total as f32)?;
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A package folder being written: files go into a sibling folder (`<name>.partial-<pid>`),
/// which becomes the package only when [`PartialPackage::commit`] renames it. Dropping it
/// uncommitted (an error, a panic) removes everything written so far.
pub struct PartialPackage {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl PartialPackage {
    /// Starts writing the package that will live at `target`. Refuses up front when `target`
    /// is something other than an older package or an empty folder: `onyx convert x -o ~/Documents`
    /// must never delete a user's files.
    pub fn create(target: &Path) -> Result<Self, ConvertError> {
        check_replaceable(target)?;
        let Some(name) = target.file_name() else {
            return Err(ConvertError::Write {
                path: target.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "the output path has no folder name"),
            });
        };
        let mut partial_name = name.to_os_string();
        partial_name.push(format!(".partial-{}", std::process::id()));
        let temp = target.with_file_name(partial_name);
        // A leftover from a killed run that had the same process id.
        if temp.exists() {
            std::fs::remove_dir_all(&temp).map_err(|source| ConvertError::Write { path: temp.clone(), source })?;
        }
        std::fs::create_dir_all(&temp).map_err(|source| ConvertError::Write { path: temp.clone(), source })?;
        Ok(Self { temp, target: target.to_path_buf(), committed: false })
    }

    /// The folder to write files into.
    pub fn dir(&self) -> &Path {
        &self.temp
    }

    /// Writes one file into the package.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), ConvertError> {
        let path = self.temp.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|source| ConvertError::Write { path: parent.to_path_buf(), source })?;
        }
        std::fs::write(&path, bytes).map_err(|source| ConvertError::Write { path, source })
    }

    /// [`PartialPackage::write`] in 8 MiB pieces, calling `progress` with the share written so
    /// far (`0..=1`): a weight file of gigabytes takes seconds to write.
    pub fn write_reporting(
        &self,
        name: &str,
        bytes: &[u8],
        progress: &mut dyn FnMut(f32) -> Result<(), ConvertError>,
    ) -> Result<(), ConvertError> {
        const PIECE: usize = 8 << 20;
        let path = self.temp.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|source| ConvertError::Write { path: parent.to_path_buf(), source })?;
        }
        let write_error = |source| ConvertError::Write { path: path.clone(), source };
        let mut file = std::fs::File::create(&path).map_err(write_error)?;
        let total = bytes.len().max(1);
        let mut done = 0;
        for piece in bytes.chunks(PIECE) {
            file.write_all(piece).map_err(write_error)?;
            done += piece.len();
            progress(done as f32 / total as f32)?;
        }
        Ok(())
    }

    /// Writes a JSON file into the package.
    pub fn write_json(&self, name: &str, value: &impl Serialize) -> Result<(), ConvertError> {
        let json = serde_json::to_vec_pretty(value)
            .map_err(|e| ConvertError::Write { path: self.temp.join(name), source: std::io::Error::other(e) })?;
        self.write(name, &json)
    }

    /// Moves the finished package into place. An older package there is moved aside first and
    /// put back if the final rename fails, so the user is never left with neither.
    pub fn commit(mut self) -> Result<PathBuf, ConvertError> {
        check_replaceable(&self.target)?;
        let target = self.target.clone();
        let write_error = |source| ConvertError::Write { path: target.clone(), source };
        let old = if target.exists() {
            let mut old_name = self.temp.clone().into_os_string();
            old_name.push(".old");
            let old = PathBuf::from(old_name);
            std::fs::rename(&target, &old).map_err(write_error)?;
            Some(old)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(&self.temp, &target) {
            if let Some(old) = &old {
                let _ = std::fs::rename(old, &target);
            }
            return Err(write_error(e));
        }
        self.committed = true;
        if let Some(old) = old {
            // The new package is in place; a leftover old copy would only waste space.
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(target)
    }
}

impl Drop for PartialPackage {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}

/// A package may replace what is at `target` only if that is nothing, an empty folder, or an
/// older package (a folder with an `onyx-model.json`).
fn check_replaceable(target: &Path) -> Result<(), ConvertError> {
    if !target.exists() {
        return Ok(());
    }
    let refuse = |why: &str| ConvertError::Write {
        path: target.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, why.to_owned()),
    };
    if !target.is_dir() {
        return Err(refuse("exists and is not a folder"));
    }
    if target.join(MANIFEST_FILE).is_file() {
        return Ok(());
    }
    let mut entries =
        std::fs::read_dir(target).map_err(|source| ConvertError::Io { path: target.to_path_buf(), source })?;
    if entries.next().is_some() {
        return Err(refuse(
            "exists, is not empty and is not an Onyx model package (no onyx-model.json); not replacing it",
        ));
    }
    Ok(())
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
        partial.write(MANIFEST_FILE, b"{}").expect("write");
        partial.commit().expect("commit");
        assert_eq!(std::fs::read(target.join("a.txt")).expect("read"), b"second");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);

        // A package replaces a package...
        let partial = PartialPackage::create(&target).expect("create over a package");
        partial.write(MANIFEST_FILE, b"{}").expect("write");
        partial.commit().expect("commit over a package");
        assert!(!target.join("a.txt").exists());
        // ...but never a folder of someone's files.
        let documents = dir.path().join("documents");
        std::fs::create_dir(&documents).expect("mkdir");
        std::fs::write(documents.join("thesis.txt"), b"precious").expect("write");
        let err = PartialPackage::create(&documents).err().expect("must refuse");
        assert!(err.to_string().contains("not an Onyx model package"), "{err}");
        assert!(documents.join("thesis.txt").is_file());
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
