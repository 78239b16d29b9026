//! Where the app keeps its files.

use std::path::{Path, PathBuf};

/// Where the app keeps its files: all of them in the platform's app data folder
/// (`~/.local/share/dev.onyx.desktop` on Linux), the folder the CLI also looks in.
#[derive(Clone, Debug)]
pub struct AppPaths {
    /// Conversations and their messages (SQLite).
    pub conversations_db: PathBuf,
    /// The document index (SQLite), shared with `onyx index` by default.
    pub documents_db: PathBuf,
    /// Models the user imported, one folder each.
    pub imported_models: PathBuf,
}

impl AppPaths {
    /// The layout inside `data_dir`.
    pub fn in_dir(data_dir: &Path) -> Self {
        AppPaths {
            conversations_db: data_dir.join("conversations.sqlite"),
            documents_db: data_dir.join(onyx_docs::DATABASE_FILE),
            imported_models: data_dir.join("models"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_lives_in_the_data_folder() {
        let paths = AppPaths::in_dir(Path::new("/data/onyx"));
        assert_eq!(paths.conversations_db, Path::new("/data/onyx/conversations.sqlite"));
        assert_eq!(paths.documents_db, Path::new("/data/onyx/documents.sqlite"));
        assert_eq!(paths.imported_models, Path::new("/data/onyx/models"));
    }
}
