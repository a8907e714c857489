//! `uip-sandbox healthcheck`: asks a running sandbox's `GET /healthz` and exits 0 on a 200,
//! 1 otherwise — the container image's `HEALTHCHECK` (slim images have no curl).
//!
//! It reads the same `--listen` / `UIP_SANDBOX_LISTEN` as `serve`, so inside a container it finds
//! the server with no extra setting. A listener on an unspecified address (`0.0.0.0`, `[::]`) is
//! asked on the loopback address of the same family.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The `healthcheck` subcommand's arguments.
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
#[derive(clap::Args, Debug, Clone)]
pub struct HealthcheckArgs {
    /// The sandbox's listen address (the same setting as `serve --listen`).
    #[arg(long, env = "UIP_SANDBOX_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// Give up after this many milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
}

/// Why a health check failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HealthError {
    /// No answer within the time limit.
    #[error("no answer from {0} within {1:?}")]
    Timeout(SocketAddr, Duration),
    /// Connecting, writing or reading failed.
    #[error("{0}: {1}")]
    Io(SocketAddr, std::io::Error),
    /// An answer whose status line is not `HTTP/1.x 200`.
    #[error("{0} answered {1:?}")]
    Unhealthy(SocketAddr, String),
}

/// The address to ask for a server listening on `listen`: loopback instead of an unspecified IP.
pub fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// `GET /healthz` on the server listening on `listen`; `Ok` when it answers 200 within `timeout`.
pub async fn check(listen: SocketAddr, timeout: Duration) -> Result<(), HealthError> {
    let addr = probe_address(listen);
    match tokio::time::timeout(timeout, ask(addr)).await {
        Ok(result) => result,
        Err(_) => Err(HealthError::Timeout(addr, timeout)),
    }
}

/// Runs the subcommand: prints the outcome and returns the process's exit status.
#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub async fn run(args: &HealthcheckArgs) -> std::process::ExitCode {
    match check(args.listen, Duration::from_millis(args.timeout_ms)).await {
        Ok(()) => {
            println!("healthy: {} answered 200", probe_address(args.listen));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn ask(addr: SocketAddr) -> Result<(), HealthError> {
    let io = |e| HealthError::Io(addr, e);
    let mut stream = TcpStream::connect(addr).await.map_err(io)?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    // The status line is all that matters; it is far shorter than this.
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let status_line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned();
    let mut parts = status_line.split(' ');
    match (parts.next(), parts.next()) {
        (Some(version), Some("200")) if version.starts_with("HTTP/1.") => Ok(()),
        _ => Err(HealthError::Unhealthy(addr, status_line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_asked_on_loopback() {
        assert_eq!(probe_address("0.0.0.0:8787".parse().unwrap()), "127.0.0.1:8787".parse().unwrap());
        assert_eq!(probe_address("[::]:9000".parse().unwrap()), "[::1]:9000".parse().unwrap());
        assert_eq!(probe_address("10.1.2.3:80".parse().unwrap()), "10.1.2.3:80".parse().unwrap());
    }

    #[tokio::test]
    async fn a_running_sandbox_is_healthy() {
        let sandbox = crate::Sandbox::start().await;
        check(sandbox.address(), Duration::from_secs(10)).await.unwrap();
    }

    #[tokio::test]
    async fn a_non_200_answer_is_unhealthy() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n").await;
        });
        let err = check(addr, Duration::from_secs(10)).await.unwrap_err();
        assert!(
            matches!(err, HealthError::Unhealthy(_, ref line) if line.starts_with("HTTP/1.1 503")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_unhealthy() {
        // Bind then drop: the port is (very likely) free, and a connect is refused.
        let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let err = check(addr, Duration::from_secs(10)).await.unwrap_err();
        assert!(matches!(err, HealthError::Io(..) | HealthError::Timeout(..)), "{err}");
    }
}
