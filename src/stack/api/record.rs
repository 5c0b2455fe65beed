//! The REST API's id as `up` last made or found it, kept on this machine. GetRestApis is eventually
//! consistent: right after `up` creates an API it may not list it yet, so a `call`, a `status` or a
//! second `up` would find nothing (and that `up` would create a second API), as Terraform meets
//! (terraform-provider-aws#41375). GetRestApi by id answers at once. A record is only a hint, as
//! Terraform's state is not: the API it names is read back by id, and its name and tags decide
//! whether it is this stack's; a record that names nothing is dropped and the listing decides.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::stack::Stack;

/// The record's file: one per partition, account, region, endpoint and stack.
fn path(stack: &Stack) -> Option<PathBuf> {
    let endpoint = stack.clients.endpoint_url.as_deref().unwrap_or("aws");
    let key = format!(
        "{}/{}/{}/{endpoint}/{}",
        stack.partition,
        stack.account,
        stack.region(),
        stack.names.stack
    );
    let digest = Sha256::digest(key.as_bytes());
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Some(stack.records.as_ref()?.join(format!("{}-{short}.api", stack.names.stack)))
}

/// The API id recorded for this stack, if any.
pub(crate) fn read(stack: &Stack) -> Option<String> {
    let text = std::fs::read_to_string(path(stack)?).ok()?;
    let id = text.trim();
    let plausible =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    plausible.then(|| id.to_string())
}

/// Records `api_id` for this stack. A failure to write costs only the hint, so it is not an error.
pub(crate) fn write(stack: &Stack, api_id: &str) {
    let Some(path) = path(stack) else { return };
    if read(stack).as_deref() == Some(api_id) {
        return;
    }
    let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| {
        let tmp = path.with_extension("api.tmp");
        std::fs::write(&tmp, api_id)?;
        std::fs::rename(&tmp, &path)
    });
    if let Err(e) = written {
        eprintln!(
            "lab: could not record the REST API's id in {} ({e}); lab finds it by name instead",
            path.display()
        );
    }
}

/// Drops this stack's record.
pub(crate) fn forget(stack: &Stack) {
    if let Some(path) = path(stack) {
        let _ = std::fs::remove_file(path);
    }
}
