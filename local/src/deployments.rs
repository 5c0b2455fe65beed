//! What a stage serves. API Gateway serves a stage's *deployment*: the API definition as it was when
//! the deployment was made, so a change to a method is live only once it is deployed (API Gateway
//! developer guide, "Deploying a REST API"). On the strict stack a stage that moves to a new
//! deployment (CreateDeployment, CreateStage, UpdateStage, DeleteStage) keeps serving the one
//! before it for [`AWS.deployment_propagation`](crate::strict::AWS), as on AWS, where callers meet
//! the old definition, or 403 "Forbidden" from a stage not yet live, for a few seconds
//! (hashicorp/terraform-provider-aws#17604, whose users pause 5 s after each deployment).
//!
//! Definitions are kept in memory: a deployment made before this gateway started is served as its
//! API is defined now (moto keeps no copy of what a deployment captured).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::Method;
use serde_json::Value;

use super::moto::Moto;
use super::strict::Call;

/// A stage on the move: the deployment it served before, until when.
#[derive(Debug, Clone)]
struct Move {
    previous: Option<String>,
    until: Instant,
}

/// Deployments' definitions and stages on the move, keyed by API id (ids are unique per account).
#[derive(Default)]
pub(crate) struct Deployments {
    /// (api, deployment) → the resources with their methods, as `GetResources` gave them then.
    definitions: Mutex<Definitions>,
    /// (api, stage) → the move in progress.
    moving: Mutex<HashMap<(String, String), Move>>,
}

/// The definitions kept, at most [`MAX_DEFINITIONS`], the oldest dropped first (a deployment whose
/// definition was dropped is served as its API is now, as one made before the gateway started).
#[derive(Default)]
struct Definitions {
    by_key: HashMap<(String, String), Arc<Value>>,
    order: VecDeque<(String, String)>,
}

/// The most deployments' definitions kept: every `up` that changes the API makes one.
const MAX_DEFINITIONS: usize = 1024;

impl Definitions {
    fn insert(&mut self, key: (String, String), definition: Arc<Value>) {
        if self.by_key.insert(key.clone(), definition).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > MAX_DEFINITIONS {
            if let Some(oldest) = self.order.pop_front() {
                self.by_key.remove(&oldest);
            }
        }
    }

    fn get(&self, key: &(String, String)) -> Option<&Arc<Value>> {
        self.by_key.get(key)
    }

    fn forget_api(&mut self, api: &str) {
        self.by_key.retain(|(a, _), _| a != api);
        self.order.retain(|(a, _)| a != api);
    }
}

/// Which deployment a stage serves right now.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Serving {
    /// The deployment's id; `None` when the stage is not (yet, or any more) live.
    pub(crate) deployment: Option<String>,
    /// Served from before a move that has not propagated yet.
    pub(crate) stale: bool,
}

/// A call that can move a stage to another deployment, read before it reaches moto.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StageCall {
    /// CreateDeployment: a new definition, and the stage it names (if any) moves to it.
    Deploy { api: String, stage: Option<String> },
    /// CreateStage or UpdateStage.
    Stage { api: String, stage: String },
    /// DeleteStage.
    DeleteStage { api: String, stage: String },
    /// DeleteRestApi: everything about the API goes.
    DeleteApi { api: String },
}

/// A stage call with the deployment its stage served before.
pub(crate) struct Before {
    call: StageCall,
    previous: Option<String>,
    /// For CreateDeployment: the definition it captures, read just before it.
    definition: Option<Arc<Value>>,
    /// The move marked before the call (`Some`), with what it replaced.
    provisional: Option<Option<Move>>,
}

impl StageCall {
    /// What `call` is, when it can move a stage.
    pub(crate) async fn of(call: &Call<'_>) -> Option<Self> {
        let rest = call.path.strip_prefix("/restapis/")?;
        let parts: Vec<&str> = rest.split('/').collect();
        let owned = |s: &str| s.to_string();
        Some(match (call.method, parts.as_slice()) {
            (m, [api]) if m == Method::DELETE => StageCall::DeleteApi { api: owned(api) },
            (m, [api, "deployments"]) if m == Method::POST => {
                let stage = call.json().await["stageName"].as_str().map(owned);
                StageCall::Deploy {
                    api: owned(api),
                    stage,
                }
            }
            (m, [api, "stages"]) if m == Method::POST => StageCall::Stage {
                api: owned(api),
                stage: owned(call.json().await["stageName"].as_str()?),
            },
            (m, [api, "stages", stage]) if m == Method::PATCH => StageCall::Stage {
                api: owned(api),
                stage: owned(stage),
            },
            (m, [api, "stages", stage]) if m == Method::DELETE => StageCall::DeleteStage {
                api: owned(api),
                stage: owned(stage),
            },
            _ => return None,
        })
    }

    fn stage(&self) -> Option<(&str, &str)> {
        match self {
            StageCall::Deploy {
                api,
                stage: Some(stage),
            }
            | StageCall::Stage { api, stage }
            | StageCall::DeleteStage { api, stage } => Some((api, stage)),
            _ => None,
        }
    }

    /// The deployment the stage points at once moto has accepted the call, from moto's answer
    /// (CreateDeployment's id, the stage's `deploymentId`, none after DeleteStage).
    fn serving_after(&self, answer: &Value) -> Option<String> {
        let id = match self {
            StageCall::Deploy { .. } => answer["id"].as_str(),
            StageCall::Stage { .. } => answer["deploymentId"].as_str(),
            StageCall::DeleteStage { .. } | StageCall::DeleteApi { .. } => None,
        };
        id.map(str::to_string)
    }
}

/// The deployment a stage points at in moto (`None`: no such stage).
async fn deployment_of(moto: &Moto, region: &str, api: &str, stage: &str) -> Option<String> {
    let path = format!("/restapis/{api}/stages/{stage}");
    let doc = moto.get_json("apigateway", region, &path).await.ok()??;
    doc["deploymentId"].as_str().map(str::to_string)
}

impl Deployments {
    /// Before a stage call reaches moto: reads the deployment its stage serves and, for a
    /// CreateDeployment, the definition it will capture; with `propagation`, the stage is marked
    /// as moving from now, so no request sees the new deployment before the move is recorded.
    pub(crate) async fn before(
        &self,
        moto: &Moto,
        call: &Call<'_>,
        propagation: Duration,
    ) -> Option<Before> {
        let stage_call = StageCall::of(call).await?;
        let previous = match stage_call.stage() {
            Some((api, stage)) => deployment_of(moto, call.region, api, stage).await,
            None => None,
        };
        let definition = match &stage_call {
            StageCall::Deploy { api, .. } => {
                let path = format!("/restapis/{api}/resources?limit=500");
                moto.get_json("apigateway", call.region, &path)
                    .await
                    .ok()
                    .flatten()
                    .map(Arc::new)
            }
            _ => None,
        };
        let provisional = match stage_call.stage() {
            Some((api, stage)) if !propagation.is_zero() => {
                self.start_move(api, stage, previous.clone(), propagation)
            }
            _ => None,
        };
        Some(Before {
            call: stage_call,
            previous,
            definition,
            provisional,
        })
    }

    /// Marks `stage` as moving away from `previous` for `propagation`; what was there before (to
    /// put back if the call fails).
    fn start_move(
        &self,
        api: &str,
        stage: &str,
        previous: Option<String>,
        propagation: Duration,
    ) -> Option<Option<Move>> {
        let mut moving = self.moving.lock().expect("moving lock");
        let key = (api.to_string(), stage.to_string());
        let now = Instant::now();
        let existing = moving.get(&key).cloned();
        // A second move inside the window keeps what callers still see: the first one's previous.
        let previous = match &existing {
            Some(m) if m.until > now => m.previous.clone(),
            _ => previous,
        };
        moving.insert(
            key,
            Move {
                previous,
                until: now + propagation,
            },
        );
        Some(existing)
    }

    /// After the stage call: keeps a new deployment's definition; when the call failed or the
    /// stage did not move after all, takes the provisional move back.
    pub(crate) fn after(&self, before: Before, answer: Option<&Value>) {
        let Some(answer) = answer else {
            self.cancel_move(&before);
            return;
        };
        if let StageCall::DeleteApi { api } = &before.call {
            self.forget(api);
            return;
        }
        if let (StageCall::Deploy { api, .. }, Some(id), Some(definition)) =
            (&before.call, answer["id"].as_str(), &before.definition)
        {
            let key = (api.clone(), id.to_string());
            let mut definitions = self.definitions.lock().expect("definitions lock");
            definitions.insert(key, definition.clone());
        }
        if before.call.stage().is_some() && before.call.serving_after(answer) == before.previous {
            self.cancel_move(&before);
        }
    }

    fn cancel_move(&self, before: &Before) {
        let (Some((api, stage)), Some(existing)) = (before.call.stage(), &before.provisional)
        else {
            return;
        };
        let mut moving = self.moving.lock().expect("moving lock");
        let key = (api.to_string(), stage.to_string());
        match existing {
            Some(m) => moving.insert(key, m.clone()),
            None => moving.remove(&key),
        };
    }

    /// The deployment `stage` serves, given the one moto says it points at.
    pub(crate) fn serving(&self, api: &str, stage: &str, current: Option<&str>) -> Serving {
        let key = (api.to_string(), stage.to_string());
        let mut moving = self.moving.lock().expect("moving lock");
        match moving.get(&key) {
            Some(m) if m.until > Instant::now() => Serving {
                deployment: m.previous.clone(),
                stale: m.previous.as_deref() != current,
            },
            Some(_) => {
                moving.remove(&key);
                Serving {
                    deployment: current.map(str::to_string),
                    stale: false,
                }
            }
            None => Serving {
                deployment: current.map(str::to_string),
                stale: false,
            },
        }
    }

    /// Is `stage` moving to another deployment right now?
    pub(crate) fn is_moving(&self, api: &str, stage: &str) -> bool {
        let key = (api.to_string(), stage.to_string());
        let moving = self.moving.lock().expect("moving lock");
        moving.get(&key).is_some_and(|m| m.until > Instant::now())
    }

    /// The resources a deployment captured, when this gateway saw it made.
    pub(crate) fn definition(&self, api: &str, deployment: &str) -> Option<Arc<Value>> {
        let key = (api.to_string(), deployment.to_string());
        self.definitions.lock().expect("definitions lock").get(&key).cloned()
    }

    fn forget(&self, api: &str) {
        self.definitions.lock().expect("definitions lock").forget_api(api);
        self.moving.lock().expect("moving lock").retain(|(a, _), _| a != api);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(d: &Deployments, previous: Option<&str>, for_: Duration) {
        d.moving.lock().unwrap().insert(
            ("api".into(), "prod".into()),
            Move {
                previous: previous.map(str::to_string),
                until: Instant::now() + for_,
            },
        );
    }

    #[test]
    fn a_stage_serves_its_previous_deployment_until_the_move_propagates() {
        let d = Deployments::default();
        moved(&d, Some("d1"), Duration::from_secs(60));
        let s = d.serving("api", "prod", Some("d2"));
        assert_eq!(s.deployment.as_deref(), Some("d1"));
        assert!(s.stale);
        // A new stage is not live until its first deployment propagates.
        moved(&d, None, Duration::from_secs(60));
        assert_eq!(d.serving("api", "prod", Some("d2")).deployment, None);
        moved(&d, Some("d1"), Duration::ZERO);
        let s = d.serving("api", "prod", Some("d2"));
        assert_eq!(s.deployment.as_deref(), Some("d2"));
        assert!(!s.stale);
        assert!(
            d.moving.lock().unwrap().is_empty(),
            "a move that has passed is dropped"
        );
    }

    #[test]
    fn deleting_the_api_forgets_its_deployments() {
        let d = Deployments::default();
        d.definitions
            .lock()
            .unwrap()
            .insert(("api".into(), "d1".into()), Arc::new(Value::Null));
        d.definitions
            .lock()
            .unwrap()
            .insert(("other".into(), "d1".into()), Arc::new(Value::Null));
        moved(&d, Some("d1"), Duration::from_secs(60));
        d.forget("api");
        assert!(d.definition("api", "d1").is_none());
        assert!(d.definition("other", "d1").is_some());
        assert!(d.moving.lock().unwrap().is_empty());
    }

    #[test]
    fn definitions_are_bounded_the_oldest_dropped_first() {
        let mut defs = Definitions::default();
        for i in 0..MAX_DEFINITIONS + 2 {
            defs.insert(("api".into(), format!("d{i}")), Arc::new(Value::Null));
        }
        assert_eq!(defs.by_key.len(), MAX_DEFINITIONS);
        assert!(defs.get(&("api".into(), "d0".into())).is_none());
        assert!(defs.get(&("api".into(), "d1".into())).is_none());
        assert!(defs.get(&("api".into(), format!("d{}", MAX_DEFINITIONS + 1))).is_some());
    }
}
