//! What the gateway knows of each function: the code it kept as CreateFunction/UpdateFunctionCode
//! passed through (and, per published version, the code `$LATEST` had when it was published), and the
//! configuration read from moto (cached until a change passes the gateway). A qualifier (a version
//! number or an alias) selects a published version's configuration and code, as on Lambda.

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
pub(crate) type FunctionKey = (String, String);

/// The path under which Lambda's REST API names functions.
pub(crate) const LAMBDA_API: &str = "/2015-03-31/functions";

/// The configuration an instance is started with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FunctionConfig {
    /// The function's region.
    pub(crate) region: String,
    /// The function's name.
    pub(crate) name: String,
    /// The function's ARN (unqualified, or qualified by the version that runs).
    pub(crate) arn: String,
    /// Its memory size, which also sets its CPU share.
    pub(crate) memory_mb: u32,
    /// Its timeout in seconds.
    pub(crate) timeout_s: u32,
    /// Its environment variables, sorted.
    pub(crate) env: Vec<(String, String)>,
    /// Its runtime identifier (`provided.al2023`, `python3.13`, `nodejs22.x`).
    pub(crate) runtime: String,
    /// Its handler (`bootstrap`, `lambda_function.lambda_handler`, `index.handler`).
    pub(crate) handler: String,
    /// Its instruction set as Lambda spells it (`x86_64`, `arm64`): a `bootstrap` built for the
    /// other one does not start, as on Lambda.
    pub(crate) architecture: String,
    /// The SHA-256 of its deployment package, base64, as Lambda reports it.
    pub(crate) code_sha256: String,
    /// `$LATEST` or the published version number a qualifier resolved to (an alias names its version).
    pub(crate) version: String,
    /// Instances started from one configuration cannot serve another (memory, env, code differ).
    /// Computed once per configuration read, not per invocation.
    pub(crate) fingerprint: String,
}

impl FunctionConfig {
    fn compute_fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(format!(
            "{}|{}|{}|{:?}|{}|{}|{}",
            self.memory_mb,
            self.timeout_s,
            self.code_sha256,
            self.env,
            self.runtime,
            self.handler,
            self.architecture
        ));
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(&h.finalize()[..9])
    }

    /// Where warm instances of this configuration are kept: `$LATEST` under the function's name, a
    /// version under `name:version`, so versions measured side by side never retire each other's.
    pub(crate) fn pool_key(&self) -> FunctionKey {
        if self.version == LATEST {
            (self.region.clone(), self.name.clone())
        } else {
            (
                self.region.clone(),
                format!("{}:{}", self.name, self.version),
            )
        }
    }
}

/// The unpublished version's name.
pub(crate) const LATEST: &str = "$LATEST";

/// The qualifier of an Invoke or a delete: the `Qualifier` query parameter, else the one in a
/// qualified name or ARN (`f:prod`, `arn:...:function:f:3`). `None` (or `$LATEST`) is `$LATEST`.
pub(crate) fn qualifier(raw_name: &str, query: Option<&str>) -> Option<String> {
    let from_query = query.and_then(|q| {
        q.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == "Qualifier").then(|| urlencoding::decode(v).map(|v| v.into_owned()).ok())?
        })
    });
    let from_name = || {
        let decoded = urlencoding::decode(raw_name).ok()?.into_owned();
        let tail = match decoded.split_once(":function:") {
            Some((_, rest)) => rest.to_string(),
            None => decoded,
        };
        tail.split_once(':').map(|(_, q)| q.to_string())
    };
    from_query.or_else(from_name).filter(|q| !q.is_empty() && q != LATEST)
}

/// Extracts the function name from a name, a partial or a full ARN, dropping a qualifier.
pub(crate) fn function_name(raw: &str) -> String {
    let decoded = urlencoding::decode(raw)
        .map(|s| s.into_owned())
        .unwrap_or_else(|_| raw.to_string());
    let name = match decoded.split_once(":function:") {
        Some((_, rest)) => rest.to_string(),
        None => decoded,
    };
    name.split(':').next().unwrap_or_default().to_string()
}

/// A configuration read from moto, with the generation it was read at.
type Cached = (u64, Arc<FunctionConfig>);

/// A previous configuration and code kept until an update ends.
type Pinned = (std::time::Instant, Arc<FunctionConfig>, Option<PathBuf>);

/// Code and configuration of every function, shared by the gateway's handlers.
pub(crate) struct Registry {
    root: PathBuf,
    code: Mutex<HashMap<FunctionKey, PathBuf>>,
    /// The code of each published version, by (function, version number): `$LATEST`'s at publish time.
    versions: Mutex<HashMap<(FunctionKey, String), PathBuf>>,
    /// Read configurations by (function, qualifier); `$LATEST` has no qualifier.
    configs: Mutex<HashMap<(FunctionKey, Option<String>), Cached>>,
    /// Strict mode: while an update is InProgress, invocations keep the previous configuration and
    /// code, as on Lambda. Until when, and what.
    pinned: Mutex<HashMap<FunctionKey, Pinned>>,
    /// Bumped by every change that passes the gateway: cached definitions older than it are re-read.
    generation: AtomicU64,
}

impl Registry {
    /// A registry that unpacks code under `root`.
    pub(crate) fn new(root: PathBuf) -> Self {
        Self {
            root,
            code: Mutex::new(HashMap::new()),
            versions: Mutex::new(HashMap::new()),
            configs: Mutex::new(HashMap::new()),
            pinned: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// The current generation.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Marks every cached definition stale.
    pub(crate) fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Keeps a function's deployment zip, base64 at `pointer` in the request's JSON: decoded,
    /// hashed and unpacked on a blocking thread (a 50 MB package takes a while), never on an
    /// async worker.
    pub(crate) async fn store_code(
        &self,
        key: FunctionKey,
        doc: Arc<serde_json::Value>,
        pointer: &'static str,
    ) -> anyhow::Result<()> {
        let folder = self.root.join(&key.0).join(&key.1);
        let dir = tokio::task::spawn_blocking(move || {
            let zip_b64 = doc
                .pointer(pointer)
                .and_then(serde_json::Value::as_str)
                .with_context(|| format!("the request has no {pointer}"))?;
            unpack_code(&folder, zip_b64)
        })
        .await
        .context("unpacking the code stopped")??;
        self.code.lock().expect("code lock").insert(key, dir);
        self.bump();
        Ok(())
    }

    /// Forgets a deleted function, its versions included.
    pub(crate) fn remove(&self, key: &FunctionKey) {
        self.code.lock().expect("code lock").remove(key);
        self.versions.lock().expect("versions lock").retain(|(k, _), _| k != key);
        self.configs.lock().expect("config lock").retain(|(k, _), _| k != key);
        self.pinned.lock().expect("pin lock").remove(key);
        self.bump();
    }

    /// PublishVersion passed: the version runs the code `$LATEST` has now. Lambda answers a publish
    /// with nothing changed with the existing version, whose code is already kept and stays.
    pub(crate) fn record_version(&self, key: &FunctionKey, version: &str) {
        let Some(dir) = self.code.lock().expect("code lock").get(key).cloned() else {
            return;
        };
        self.versions
            .lock()
            .expect("versions lock")
            .entry((key.clone(), version.to_string()))
            .or_insert(dir);
        self.bump();
    }

    /// Forgets one deleted version.
    pub(crate) fn remove_version(&self, key: &FunctionKey, version: &str) {
        self.versions
            .lock()
            .expect("versions lock")
            .remove(&(key.clone(), version.to_string()));
        self.bump();
    }

    /// The functions (region, name) whose `$LATEST` is an unoptimised Rust build ([`unoptimised_rust`]).
    pub(crate) fn unoptimised(&self) -> Vec<(String, String)> {
        let code = self.code.lock().expect("code lock");
        let mut out: Vec<(String, String)> = code
            .iter()
            .filter(|(_, dir)| unoptimised_marker(dir).is_file())
            .map(|(key, _)| key.clone())
            .collect();
        out.sort();
        out
    }

    /// The code a configuration runs: `$LATEST`'s (see [`code_dir`](Self::code_dir)) or its version's.
    pub(crate) fn code_dir_for(
        &self,
        key: &FunctionKey,
        config: &FunctionConfig,
    ) -> Option<PathBuf> {
        let kept = if config.version == LATEST {
            self.code_dir(key)
        } else {
            let versions = self.versions.lock().expect("versions lock");
            versions.get(&(key.clone(), config.version.clone())).cloned()
        };
        kept.or_else(|| self.code_on_disk(key, config))
    }

    /// The code a configuration names, unpacked under `root` by an earlier gateway: after a
    /// restart the maps are empty but the folders (named by the zip's SHA-256) are still there.
    fn code_on_disk(&self, key: &FunctionKey, config: &FunctionConfig) -> Option<PathBuf> {
        let sha = base64::engine::general_purpose::STANDARD.decode(&config.code_sha256).ok()?;
        let dir = self.root.join(&key.0).join(&key.1).join(&hex(&sha)[..16]);
        dir.join("bootstrap").is_file().then_some(dir)
    }

    /// Forgets every function and deletes the kept code (`lab local reset`), the deleting on a
    /// blocking thread.
    pub(crate) async fn clear(&self) {
        self.code.lock().expect("code lock").clear();
        self.versions.lock().expect("versions lock").clear();
        self.configs.lock().expect("config lock").clear();
        self.pinned.lock().expect("pin lock").clear();
        let root = self.root.clone();
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(root)).await;
        self.bump();
    }

    /// The deployment zip whose SHA-256 (hex) starts with `sha16`, as the gateway kept it for
    /// `region`'s function `name`; `None` for a name that is not a plain path component.
    pub(crate) fn kept_zip(&self, region: &str, name: &str, sha16: &str) -> Option<PathBuf> {
        let plain = |s: &str| {
            !s.is_empty()
                && s != ".."
                && s != "."
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        let hex16 = sha16.len() == 16 && sha16.bytes().all(|b| b.is_ascii_hexdigit());
        (plain(region) && plain(name) && hex16)
            .then(|| self.root.join(region).join(name).join(format!("{sha16}.zip")))
    }

    /// Where the function's code was unpacked, if the gateway saw it.
    pub(crate) fn code_dir(&self, key: &FunctionKey) -> Option<PathBuf> {
        if let Some((_, _, code)) = self.pin(key) {
            return code;
        }
        self.code.lock().expect("code lock").get(key).cloned()
    }

    /// Keeps serving `previous` (configuration and code) until `until`: an update is in progress.
    pub(crate) fn pin_until(
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
        pinned.get(key).filter(|(t, _, _)| *t > std::time::Instant::now()).cloned()
    }

    /// `$LATEST`'s configuration: cached, or read from moto. `None` when moto does not know it.
    pub(crate) async fn config(
        &self,
        moto: &Moto,
        key: &FunctionKey,
    ) -> anyhow::Result<Option<Arc<FunctionConfig>>> {
        self.config_at(moto, key, None).await
    }

    /// The configuration a qualifier (version number or alias; `None` for `$LATEST`) resolves to:
    /// cached, or read from moto. `None` when moto knows no such function, version or alias.
    pub(crate) async fn config_at(
        &self,
        moto: &Moto,
        key: &FunctionKey,
        qualifier: Option<&str>,
    ) -> anyhow::Result<Option<Arc<FunctionConfig>>> {
        // Only $LATEST changes under an update; a published version never does.
        if qualifier.is_none() {
            if let Some((_, config, _)) = self.pin(key) {
                return Ok(Some(config));
            }
        }
        let cache_key = (key.clone(), qualifier.map(str::to_string));
        let generation = self.generation();
        if let Some((g, c)) = self.configs.lock().expect("config lock").get(&cache_key) {
            if *g == generation {
                return Ok(Some(c.clone()));
            }
        }
        let mut path = format!("/2015-03-31/functions/{}", key.1);
        if let Some(q) = qualifier {
            path.push_str(&format!("?Qualifier={}", urlencoding::encode(q)));
        }
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
            runtime: c["Runtime"].as_str().unwrap_or_default().to_string(),
            handler: c["Handler"].as_str().unwrap_or("bootstrap").to_string(),
            // Lambda leaves the list empty for functions made before it had a choice: x86_64.
            architecture: c["Architectures"][0].as_str().unwrap_or("x86_64").to_string(),
            code_sha256: c["CodeSha256"].as_str().unwrap_or_default().to_string(),
            version: c["Version"].as_str().unwrap_or(LATEST).to_string(),
            fingerprint: String::new(),
        };
        config.fingerprint = config.compute_fingerprint();
        let config = Arc::new(config);
        self.configs
            .lock()
            .expect("config lock")
            .insert(cache_key, (generation, config.clone()));
        Ok(Some(config))
    }
}

/// Decodes a base64 zip and unpacks it under `folder`, in a folder named by its SHA-256 (kept
/// when already there). Blocking: call it off the async threads.
fn unpack_code(folder: &Path, zip_b64: &str) -> anyhow::Result<PathBuf> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(zip_b64.trim())
        .context("ZipFile is not base64")?;
    let sha = hex(&Sha256::digest(&bytes));
    let dir = folder.join(&sha[..16]);
    if !dir.join("bootstrap").is_file() {
        unpack(&bytes, &dir)?;
    }
    let marker = unoptimised_marker(&dir);
    if !marker.is_file() && unoptimised_rust(&dir.join("bootstrap")) {
        std::fs::write(&marker, b"")?;
    }
    // The zip as given, beside its unpacked tree: GetFunction's Code.Location serves it
    // (`lab_api`), byte for byte, so a copy made from it has the same CodeSha256.
    let zip = dir.with_extension("zip");
    if !zip.is_file() {
        let tmp = zip.with_extension(format!("zip.tmp{}", std::process::id()));
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &zip)?;
    }
    Ok(dir)
}

/// Beside a code folder (not in it: the function sees its folder as `/var/task`), the mark of an
/// unoptimised Rust build.
fn unoptimised_marker(dir: &Path) -> PathBuf {
    dir.with_extension("unoptimised")
}

/// Whether `bootstrap` is a Rust build with overflow checks, i.e. cargo's dev profile: its
/// arithmetic panics carry "attempt to add with overflow", which a release build (the `lambda`
/// profile `lab up` ships) leaves out. Such a build runs several times slower than what ships
/// (bench local-handler), so its Duration and Init do not forecast AWS's.
pub(crate) fn unoptimised_rust(bootstrap: &Path) -> bool {
    const NEEDLE: &[u8] = b"attempt to add with overflow";
    std::fs::read(bootstrap).is_ok_and(|bytes| bytes.windows(NEEDLE.len()).any(|w| w == NEEDLE))
}

/// The first 16 hex digits of a package's SHA-256 given as Lambda reports it (base64), which
/// name its folder and its kept zip.
pub(crate) fn sha16(code_sha256: &str) -> Option<String> {
    let sha = base64::engine::general_purpose::STANDARD.decode(code_sha256).ok()?;
    (sha.len() == 32).then(|| hex(&sha)[..16].to_string())
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
mod tests;
