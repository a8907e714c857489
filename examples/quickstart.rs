//! Quickstart: create an age check, play the user, and receive the verified webhook.
//!
//! ```sh
//! cargo run -p uip-sandbox                              # terminal 1
//! cargo run -p uip-examples --example quickstart        # terminal 2
//! ```
//!
//! `UIP_SANDBOX_URL` (default `http://127.0.0.1:8787`) and `UIP_API_KEY` (default
//! `uip_test_sandbox`) point it elsewhere.
//!
//! What it does:
//! 1. starts the kit's webhook receiver (`uip_sandbox::TestReceiver`) on `127.0.0.1:<random
//!    port>`, which verifies every delivery with `uip-webhook-verify`, and points the sandbox
//!    business's webhook URL at it
//!    (`PATCH /_sandbox/business`; the previous URL is put back at the end, also on Ctrl-C);
//! 2. creates a session with one `age_verify` step (`uip-client`);
//! 3. plays the user with `POST /_sandbox/sessions/{id}/simulate` (the `jane-doe` persona shares
//!    from Apple Wallet) — in real life the user opens the session URL in a browser;
//! 4. prints the typed webhook events as they arrive, until the session ends.

use std::process::ExitCode;

use uip_client::Client;
use uip_examples::{next_event, BoxError, Events, Sandbox};
use uip_sandbox::Simulate;
use uip_types::StepResult;
use uip_webhook_verify::WebhookEvent;

#[tokio::main]
async fn main() -> ExitCode {
    uip_examples::run(|client, sandbox, mut events| async move { run(&client, &sandbox, &mut events).await })
        .await
}
async fn run(client: &Client, sandbox: &Sandbox, events: &mut Events) -> Result<(), BoxError> {
    // 2. Create the session.
    let session = client.session().age_verify(21).client_reference_id("quickstart").send().await?;
    let id = session.id.as_str();
    println!("created session {id}: {}, expires {}", session.status, session.expires);
    println!("  the user would open {}", session.url.expose());

    // 3. The user opens the page and shares their ID.
    let view = sandbox.simulate(id, &Simulate::share()).await?;
    println!("simulated the user (jane-doe, Apple Wallet): session is now {}", view.status);

    // 4. The results arrive by webhook, verified and typed.
    loop {
        let event = next_event(events).await?;
        match &event {
            WebhookEvent::StepCompleted(step) => match &step.result {
                StepResult::AgeVerify { satisfied, min_age } => println!(
                    "webhook step.completed: stage {} age_verify — {} (min_age {}), audit {}",
                    step.stage,
                    if *satisfied { "old enough" } else { "NOT old enough" },
                    min_age.map_or("not sent".to_owned(), |m| m.to_string()),
                    step.audit_id
                ),
                other => println!("webhook step.completed: stage {} {other:?}", step.stage),
            },
            WebhookEvent::SessionCompleted(end)
            | WebhookEvent::SessionStopped(end)
            | WebhookEvent::SessionFailed(end)
            | WebhookEvent::SessionExpired(end) => println!(
                "webhook {}: status {}{}",
                event.name(),
                end.status,
                end.reason.as_deref().map(|r| format!(", reason {r}")).unwrap_or_default()
            ),
            other => println!("webhook {} (not handled here)", other.name()),
        }
        if event.is_terminal() {
            break;
        }
    }

    let view = client.get_session(&session.id).await?;
    println!(
        "GET /v1/sessions/{id}: {} ({} of {} steps)",
        view.status,
        view.current_step + 1,
        view.step_count
    );
    Ok(())
}
