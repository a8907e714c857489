//! A UIP webhook receiver: verifies each delivery, skips retries it already handled, prints the
//! typed event, and answers 2xx only for verified deliveries.
//!
//! ```sh
//! UIP_WEBHOOK_SECRET=uip_whsec_sandbox PORT=4000 cargo run -p uip-examples --example webhook_receiver
//! ```
//!
//! Point the sandbox business's `webhook_url` at `http://127.0.0.1:4000/uip-webhook`.

use std::sync::Arc;

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use uip_webhook_verify::{Deduper, Verifier, WebhookEvent};

struct Receiver {
    verifier: Verifier,
    seen: Deduper,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("UIP_WEBHOOK_SECRET").unwrap_or_else(|_| "uip_whsec_sandbox".to_owned());
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(|e| format!("PORT={port:?}: {e}"))?,
        Err(_) => 4000,
    };
    let receiver = Arc::new(Receiver { verifier: Verifier::new(secret)?, seen: Deduper::default() });

    let app = Router::new().route("/uip-webhook", post(receive)).with_state(receiver);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}/uip-webhook", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// `Bytes` is the raw body exactly as received: the signature covers those bytes.
async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let delivery = match receiver.verifier.verify(&headers, &body) {
        Ok(delivery) => delivery,
        Err(err) => {
            // 401 for a bad signature or a stale timestamp, 400 for a malformed or incomplete delivery.
            eprintln!("refused: {err}");
            let status = StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            return (status, format!("{}\n", err.kind()));
        }
    };
    if !receiver.seen.insert(&delivery.delivery_id) {
        println!("duplicate {} (already handled)", delivery.delivery_id);
        return (StatusCode::OK, "duplicate\n".to_owned());
    }
    match &delivery.event {
        WebhookEvent::StepCompleted(step) => {
            println!(
                "{}: step {} ({}) verified: {:?}",
                step.context.session_id,
                step.stage,
                step.primitive.as_str(),
                step.result
            )
        }
        WebhookEvent::Unknown { event, .. } => println!("unknown event {event}, acknowledged"),
        event => println!("{}: {} {:?}", event.session_id(), event.name(), event),
    }
    (StatusCode::OK, "ok\n".to_owned())
}
