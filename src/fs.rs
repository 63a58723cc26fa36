//! The one rule for directories that hold secrets (SPEC §10): the data dir is created with
//! mode 0700, and an existing one is narrowed to it. The store and the master-key file both
//! create the data dir, whichever comes first; both go through here so they cannot drift.

use std::io;
use std::path::Path;

/// Creates `dir` and its parents if missing, and leaves `dir` readable by its owner only.
#[cfg(unix)]
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // An existing directory keeps whatever mode it had; tighten it.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Creates `dir` and its parents if missing (no POSIX modes here).
#[cfg(not(unix))]
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Every file and directory under `dir`, recursively, sorted: for tests that check what an
/// operation wrote.
#[cfg(test)]
pub(crate) fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path.clone());
            }
            found.push(path);
        }
    }
    found.sort();
    found
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_dir_and_an_existing_wide_one_end_up_0700() {
        let tmp = tempfile::tempdir().unwrap();
        let new = tmp.path().join("a").join("data");
        create_private_dir(&new).unwrap();
        assert_eq!(mode(&new), 0o700);

        let wide = tmp.path().join("wide");
        std::fs::create_dir(&wide).unwrap();
        std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&wide).unwrap();
        assert_eq!(mode(&wide), 0o700);
    }
}
