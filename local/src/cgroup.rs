//! What the cpu and memory cgroups of instances share: finding the controller (v1 or v2), making
//! the stack's parent cgroup with it delegated, removing an instance's cgroup once its process has
//! left, and removing the parent on shutdown.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which cgroup interface is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// One hierarchy per controller (`/sys/fs/cgroup/<controller>`).
    V1,
    /// The unified hierarchy (`/sys/fs/cgroup`).
    V2,
}

/// Makes the stack's parent cgroup `name` for `controller` (`cpu`, `memory`), with the controller
/// delegated to its children; `None` where the machine has no such controller or it is not writable.
pub(crate) fn parent(controller: &str, name: &str) -> Option<(PathBuf, Flavor)> {
    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers");
    let (base, flavor) = if v2.is_file() {
        let controllers = std::fs::read_to_string(v2).unwrap_or_default();
        if !controllers.split_whitespace().any(|c| c == controller) {
            return None;
        }
        (PathBuf::from("/sys/fs/cgroup"), Flavor::V2)
    } else {
        (Path::new("/sys/fs/cgroup").join(controller), Flavor::V1)
    };
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).ok()?;
    if flavor == Flavor::V2 {
        // Children only get the controller when the parent delegates it.
        let _ = std::fs::write(dir.join("cgroup.subtree_control"), format!("+{controller}"));
    }
    Some((dir, flavor))
}

/// Removes an instance's cgroup once its process has left it: a killed process may take a moment,
/// so this retries for a few seconds, off the caller's thread.
pub(crate) fn remove_when_empty(dir: PathBuf) {
    std::thread::spawn(move || {
        for _ in 0..50 {
            if std::fs::remove_dir(&dir).is_ok() || !dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}

/// Removes the stack's parent cgroup and what is left under it (on shutdown).
pub(crate) fn teardown(root: &Path) {
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                let _ = std::fs::remove_dir(e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(root);
}
