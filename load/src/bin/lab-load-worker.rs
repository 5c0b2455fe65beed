//! The bootstrap of `lab load --workers`' generator function (`provided.al2023`): serves the Lambda
//! Runtime API, running one share of a load test per invocation (see `lab_load::worker`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_load::worker::serve::serve().await
}
