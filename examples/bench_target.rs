//! A loopback HTTP target for `scripts/bench-load.sh`: answers every POST (any path) with a small
//! fixed JSON body, as fast as hyper can, so that the load generators, not the target, set the pace.
//!
//!     bench_target [PORT] [THREADS]      (PORT 0 picks a free one; prints `listening on 127.0.0.1:N`)
//!
//! The worker count is a knob because on a 2-core machine the target and the generator compete for
//! the same cores: the script pins it so every generator meets the same target.

use std::net::SocketAddr;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::serve::ListenerExt;
use axum::Router;

// The shape of the handler's `ping` answer in a list-sized envelope, small enough that the body
// itself costs nothing measurable; no `errorType`, so lab counts it as a success.
const BODY: &str = r#"{"Items":[],"Count":0,"ScannedCount":0}"#;

async fn answer(body: axum::body::Bytes) -> impl IntoResponse {
    // Reading the request body is part of the contract (a real endpoint must consume it before the
    // connection can be reused); dropping it unread would flatter clients that send large bodies.
    drop(body);
    ([(CONTENT_TYPE, "application/json")], BODY)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let threads: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);

    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?
        .block_on(async move {
            let app = Router::new().fallback(answer);
            let listener =
                tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
            println!("listening on {}", listener.local_addr()?);
            // Without TCP_NODELAY a response could wait on a delayed ACK and every tool would
            // measure the kernel's 40 ms timer instead of itself.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app).await
        })
}
