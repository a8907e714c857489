//! Gated onboarding: identify the applicant first, look at the verified claims, then either
//! continue to the account terms (`light_sign`) or stop.
//!
//! ```sh
//! cargo run -p uip-sandbox                                  # terminal 1
//! cargo run -p uip-examples --example gated_onboarding      # terminal 2
//! ```
//!
//! `UIP_SANDBOX_URL` (default `http://127.0.0.1:8787`) and `UIP_API_KEY` (default
//! `uip_test_sandbox`) point it elsewhere.
//!
//! Two applicants go through the same flow: `jane-doe` (an adult: continue, she signs the
//! terms, the session completes) and `minor` (born 2012: the business stops at the gate). The
//! decision is taken on the claims of the identify step's `step.completed` webhook, received
//! by a verifying receiver on `127.0.0.1:<random port>` that the business's webhook URL points
//! to for the duration of the run (the previous URL is put back at the end).

use std::process::ExitCode;

use chrono::NaiveDate;
use uip_client::{Block, Client};
use uip_examples::{next_event, BoxError, Events, Sandbox};
use uip_sandbox::Simulate;
use uip_types::StepResult;
use uip_webhook_verify::WebhookEvent;

const TERMS: &str = "I open an account with Example Bank and accept its terms of 1 June 2026.";

#[tokio::main]
async fn main() -> ExitCode {
    uip_examples::run(|client, sandbox, mut events| async move {
        for applicant in ["jane-doe", "minor"] {
            onboard(&client, &sandbox, &mut events, applicant).await?;
        }
        Ok(())
    })
    .await
}
async fn onboard(
    client: &Client,
    sandbox: &Sandbox,
    events: &mut Events,
    applicant: &str,
) -> Result<(), BoxError> {
    println!("── applicant: {applicant}");
    let session = client
        .session()
        .identify([Block::FirstName, Block::LastName, Block::Dob])
        .gate() // pause after identify: the business decides
        .light_sign(TERMS)
        .title("Account terms")
        .client_reference_id(format!("onboarding-{applicant}"))
        .send()
        .await?;
    let id = session.id.as_str();
    println!("created session {id} (identify, gate, then light_sign)");

    // The applicant opens the page and shares their ID; the session pauses at the gate.
    let view = sandbox.simulate(id, &Simulate::share_as(applicant)).await?;
    println!("the applicant shared their ID: session is {}", view.status);

    // Decide on the verified claims of the gate step.
    let WebhookEvent::StepCompleted(step) = next_event(events).await? else {
        return Err("expected step.completed first".into());
    };
    let StepResult::Identify { claims } = &step.result else { return Err("expected identify claims".into()) };
    let name = format!(
        "{} {}",
        claims["first_name"].as_str().unwrap_or("?"),
        claims["last_name"].as_str().unwrap_or("?")
    );
    let dob = claims["dob"].as_str().unwrap_or_default();
    let age = NaiveDate::parse_from_str(dob, "%Y-%m-%d")
        .ok()
        .and_then(|dob| chrono::Utc::now().date_naive().years_since(dob));
    println!("webhook step.completed: stage 0 identify → {name}, born {dob}");

    match age {
        Some(age) if age >= 18 => {
            println!("decision: {name} is {age}, an adult → continue");
            let decision = client.continue_session(&session.id).await?;
            println!("continued: session is {} at step {}", decision.status, decision.current_step);
            let view = sandbox.simulate(id, &Simulate::share_as(applicant)).await?;
            println!("the applicant signed the terms: session is {}", view.status);
        }
        _ => {
            println!(
                "decision: {name} is {} → stop",
                age.map_or("of unknown age".into(), |a| format!("{a}, under 18"))
            );
            let decision = client.stop_session(&session.id).await?;
            println!("stopped: session is {}", decision.status);
        }
    }

    // The rest of the events, up to the terminal one.
    loop {
        let event = next_event(events).await?;
        match &event {
            WebhookEvent::StepCompleted(step) => match &step.result {
                StepResult::Signature { document_hash, .. } => println!(
                    "webhook step.completed: stage {} {} → signed {document_hash}",
                    step.stage,
                    step.primitive.as_str()
                ),
                other => println!("webhook step.completed: stage {} {other:?}", step.stage),
            },
            other => println!("webhook {}", other.name()),
        }
        if event.is_terminal() {
            println!();
            return Ok(());
        }
    }
}
