//! How a request reaches the function: the stage URL or Lambda Invoke.

/// How a request reaches the function (`--via` of `lab call` and `lab load`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// POST to the stage URL, as curl and Postman do in the tutorial.
    #[default]
    Http,
    /// Lambda Invoke, bypassing API Gateway.
    Lambda,
}
