//! Spares: when an in-memory sandbox on a random port is dropped, a fresh one with the same
//! settings is made ready — a new listening socket on a new port, new state — and the next
//! `start()` with those settings takes it instead of binding and building while the test waits.
//!
//! This is what wiremock's pool gives `MockServer::start()`, without its one difference from a
//! fresh server: a pooled wiremock server is reset and handed to the next test on the same port,
//! so a client still holding the last test's URL reaches the next test. A spare is new: its port
//! was never handed out, and it is used once. Isolation between sandboxes is exactly what fresh
//! ones give.
//!
//! A spare holds a bound socket, not yet accepting (connections wait in the kernel's queue, and
//! nobody knows its port), and its state: no task runs for it until it is taken. At most
//! [`MOST_SPARES`] are kept in a process, the most recent ones; a sandbox stored in a database
//! file or on a fixed port has none.

use std::net::SocketAddr;

use parking_lot::Mutex;

use crate::app::App;
use crate::config::Settings;

/// Most spares kept at once (tests run in parallel, each leaving one behind).
const MOST_SPARES: usize = 4;
/// The listen queue's length, as tokio's `TcpListener::bind` sets it.
const BACKLOG: i32 = 1024;

/// A sandbox bound and built, not yet started.
pub(crate) struct Spare {
    pub listener: std::net::TcpListener,
    pub addr: SocketAddr,
    pub app: App,
}

/// The spares of a process.
pub(crate) static SPARES: Spares = Spares::new();

/// Spares, each taken once.
pub(crate) struct Spares(Mutex<Vec<Spare>>);

impl Spares {
    const fn new() -> Spares {
        Spares(Mutex::new(Vec::new()))
    }

    /// A spare made with exactly these settings, if one is ready.
    pub fn take(&self, settings: &Settings) -> Option<Spare> {
        if !sparable(settings) {
            return None;
        }
        let mut spares = self.0.lock();
        let i = spares.iter().position(|s| s.app.shared.settings == *settings)?;
        Some(spares.remove(i))
    }

    /// Makes a spare with `settings` ready, unless they cannot have one; when [`MOST_SPARES`]
    /// are kept, the oldest goes (its socket closed). Anything that fails (no port left, no file
    /// descriptor) leaves no spare: `start()` then binds as usual.
    pub fn prepare(&self, settings: &Settings) {
        if !sparable(settings) {
            return;
        }
        let Some((listener, addr)) = listen(settings.listen) else { return };
        let Ok(app) = App::build(settings.clone(), addr) else { return };
        let evicted = {
            let mut spares = self.0.lock();
            let evicted = (spares.len() >= MOST_SPARES).then(|| spares.remove(0));
            spares.push(Spare { listener, addr, app });
            evicted
        };
        drop(evicted);
    }

    /// How many are ready.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.lock().len()
    }
}

/// Whether a sandbox with these settings can have a spare: in memory, on a random port.
fn sparable(settings: &Settings) -> bool {
    settings.db.is_none() && settings.listen.port() == 0
}

/// A non-blocking listening socket on `addr`, set up as tokio's `TcpListener::bind` sets one up.
fn listen(addr: SocketAddr) -> Option<(std::net::TcpListener, SocketAddr)> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).ok()?;
    socket.set_reuse_address(true).ok()?;
    socket.set_nonblocking(true).ok()?;
    socket.bind(&addr.into()).ok()?;
    socket.listen(BACKLOG).ok()?;
    let listener = std::net::TcpListener::from(socket);
    let addr = listener.local_addr().ok()?;
    Some((listener, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings { listen: SocketAddr::from(([127, 0, 0, 1], 0)), ..Settings::default() }
    }

    #[test]
    fn only_an_in_memory_sandbox_on_a_random_port_has_spares() {
        assert!(sparable(&settings()));
        assert!(!sparable(&Settings { listen: SocketAddr::from(([127, 0, 0, 1], 8787)), ..settings() }));
        assert!(!sparable(&Settings { db: Some("x.db".into()), ..settings() }));
    }

    #[test]
    fn a_spare_is_taken_only_with_the_same_settings_and_only_once() {
        let spares = Spares::new();
        let other = Settings { api_key: "uip_test_other".into(), ..settings() };
        spares.prepare(&settings());
        assert!(spares.take(&other).is_none());
        let spare = spares.take(&settings()).expect("a spare");
        assert!(spare.app.shared.settings == settings());
        assert_eq!(spare.listener.local_addr().unwrap(), spare.addr);
        assert_ne!(spare.addr.port(), 0);
        assert!(spares.take(&settings()).is_none(), "used once");
    }

    #[test]
    fn at_most_a_few_spares_are_kept_the_most_recent_ones() {
        let spares = Spares::new();
        let first = Settings { api_key: "uip_test_first".into(), ..settings() };
        spares.prepare(&first);
        for _ in 0..MOST_SPARES {
            spares.prepare(&settings());
        }
        assert_eq!(spares.len(), MOST_SPARES);
        assert!(spares.take(&first).is_none(), "the oldest went");
        let ports: std::collections::HashSet<u16> =
            std::iter::from_fn(|| spares.take(&settings())).map(|s| s.addr.port()).collect();
        assert_eq!(ports.len(), MOST_SPARES, "each on a port of its own");
    }

    #[tokio::test]
    async fn a_sandbox_started_from_a_spare_serves_on_its_port_from_fresh_state() {
        // Arrange: a spare of the default settings.
        let spares = Spares::new();
        spares.prepare(&settings());
        let port = spares.0.lock()[0].addr.port();

        // Act
        let sandbox = crate::Sandbox::launch(settings(), &spares).await.unwrap();

        // Assert: the spare was taken, and the sandbox serves the default business from it.
        assert_eq!(spares.len(), 0);
        assert_eq!(sandbox.address().port(), port);
        let resp = reqwest::Client::new()
            .get(format!("{}/sessions/sess_none", sandbox.api_url()))
            .bearer_auth(sandbox.api_key().expose())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "resource/not-found");
    }
}
