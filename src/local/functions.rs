//! What the gateway knows of each function: the code it kept as CreateFunction/UpdateFunctionCode
//! passed through, and the configuration read from moto (cached until a change passes the gateway).

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::moto::Moto;

/// A function's identity: region and name.
pub type FunctionKey = (String, String);

/// The configuration an instance is started with.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionConfig {
    pub region: String,
    pub name: String,
    pub arn: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub env: Vec<(String, String)>,
    pub code_sha256: String,
    /// Instances started from one configuration cannot serve another (memory, env, code differ).
    /// Computed once per configuration read, not per invocation.
    pub fingerprint: String,
}

impl FunctionConfig {
    fn compute_fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(format!(
            "{}|{}|{}|{:?}",
            self.memory_mb, self.timeout_s, self.code_sha256, self.env
        ));
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&h.finalize()[..9])
    }
}

/// Extracts the function name from a name, a partial or a full ARN, dropping a qualifier.
pub fn function_name(raw: &str) -> String {
    let decoded = urlencoding::decode(raw)
        .map(|s| s.into_owned())
        .unwrap_or_else(|_| raw.to_string());
    let name = match decoded.split_once(":function:") {
        Some((_, rest)) => rest.to_string(),
        None => decoded,
    };
    name.split(':').next().unwrap_or_default().to_string()
}

/// A previous configuration and code kept until an update ends.
type Pinned = (std::time::Instant, Arc<FunctionConfig>, Option<PathBuf>);

/// Code and configuration of every function, shared by the gateway's handlers.
pub struct Registry {
    root: PathBuf,
    code: Mutex<HashMap<FunctionKey, PathBuf>>,
    configs: Mutex<HashMap<FunctionKey, (u64, Arc<FunctionConfig>)>>,
    /// Strict mode: while an update is InProgress, invocations keep the previous configuration and
    /// code, as on Lambda. Until when, and what.
    pinned: Mutex<HashMap<FunctionKey, Pinned>>,
    /// Bumped by every change that passes the gateway: cached definitions older than it are re-read.
    generation: AtomicU64,
}

impl Registry {
    /// A registry that unpacks code under `root`.
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            code: Mutex::new(HashMap::new()),
            configs: Mutex::new(HashMap::new()),
            pinned: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Marks every cached definition stale.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Unpacks a deployment zip (base64, as in the API request) for a function.
    pub fn store_code(&self, key: FunctionKey, zip_b64: &str) -> anyhow::Result<()> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(zip_b64.trim())
            .context("ZipFile is not base64")?;
        let sha = hex(&Sha256::digest(&bytes));
        let dir = self.root.join(&key.0).join(&key.1).join(&sha[..16]);
        if !dir.join("bootstrap").is_file() {
            unpack(&bytes, &dir)?;
        }
        self.code.lock().expect("code lock").insert(key, dir);
        self.bump();
        Ok(())
    }

    /// Forgets a deleted function.
    pub fn remove(&self, key: &FunctionKey) {
        self.code.lock().expect("code lock").remove(key);
        self.configs.lock().expect("config lock").remove(key);
        self.pinned.lock().expect("pin lock").remove(key);
        self.bump();
    }

    /// Where the function's code was unpacked, if the gateway saw it.
    pub fn code_dir(&self, key: &FunctionKey) -> Option<PathBuf> {
        if let Some((_, _, code)) = self.pin(key) {
            return code;
        }
        self.code.lock().expect("code lock").get(key).cloned()
    }

    /// Keeps serving `previous` (configuration and code) until `until`: an update is in progress.
    pub fn pin_until(
        &self,
        key: FunctionKey,
        until: std::time::Instant,
        previous: (Arc<FunctionConfig>, Option<PathBuf>),
    ) {
        let mut pinned = self.pinned.lock().expect("pin lock");
        let now = std::time::Instant::now();
        pinned.retain(|_, (t, _, _)| *t > now);
        pinned.insert(key, (until, previous.0, previous.1));
    }

    fn pin(&self, key: &FunctionKey) -> Option<Pinned> {
        let pinned = self.pinned.lock().expect("pin lock");
        pinned
            .get(key)
            .filter(|(t, _, _)| *t > std::time::Instant::now())
            .cloned()
    }

    /// The function's configuration: cached, or read from moto. `None` when moto does not know it.
    pub async fn config(
        &self,
        moto: &Moto,
        key: &FunctionKey,
    ) -> anyhow::Result<Option<Arc<FunctionConfig>>> {
        if let Some((_, config, _)) = self.pin(key) {
            return Ok(Some(config));
        }
        let generation = self.generation();
        if let Some((g, c)) = self.configs.lock().expect("config lock").get(key) {
            if *g == generation {
                return Ok(Some(c.clone()));
            }
        }
        let path = format!("/2015-03-31/functions/{}", key.1);
        let Some(doc) = moto.get_json("lambda", &key.0, &path).await? else {
            return Ok(None);
        };
        let c = &doc["Configuration"];
        let env = c["Environment"]["Variables"]
            .as_object()
            .map(|m| {
                let mut v: Vec<(String, String)> = m
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                v.sort();
                v
            })
            .unwrap_or_default();
        let mut config = FunctionConfig {
            region: key.0.clone(),
            name: key.1.clone(),
            arn: c["FunctionArn"].as_str().unwrap_or_default().to_string(),
            memory_mb: c["MemorySize"].as_u64().unwrap_or(128) as u32,
            timeout_s: c["Timeout"].as_u64().unwrap_or(3) as u32,
            env,
            code_sha256: c["CodeSha256"].as_str().unwrap_or_default().to_string(),
            fingerprint: String::new(),
        };
        config.fingerprint = config.compute_fingerprint();
        let config = Arc::new(config);
        self.configs
            .lock()
            .expect("config lock")
            .insert(key.clone(), (generation, config.clone()));
        Ok(Some(config))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Unpacks into a fresh folder, then renames it into place, so a half-written tree is never used.
fn unpack(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    let tmp = dir.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .context("the deployment package is not a zip")?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let Some(rel) = entry.enclosed_name() else {
            continue;
        };
        let is_bootstrap = rel == Path::new("bootstrap");
        let out = tmp.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&out)?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        std::fs::write(&out, data)?;
        let mode = entry.unix_mode().unwrap_or(0o644) & 0o777;
        let mode = if is_bootstrap { mode | 0o755 } else { mode };
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(mode))?;
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_arns_and_qualifiers() {
        assert_eq!(
            function_name("LambdaFunctionOverHttps"),
            "LambdaFunctionOverHttps"
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:f"),
            "f"
        );
        assert_eq!(
            function_name("arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af%3A%24LATEST"),
            "f"
        );
        assert_eq!(function_name("f:prod"), "f");
    }
}
