//! The catalog of primitives and wallets, and the public wallet matrix.

use reqwest::Method;
use uip_types::{CatalogResponse, WalletsResponse};

use crate::client::Client;
use crate::error::Error;
use crate::request::{Call, Payload, RetryClass};

impl Client {
    /// The primitives (with prices and params) and wallets the platform supports
    /// (`GET /catalog`, authenticated, free).
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client) -> Result<(), uip_client::Error> {
    /// for p in client.catalog().await?.primitives {
    ///     println!("{}: {} cents", p.name, p.price_cents);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn catalog(&self) -> Result<CatalogResponse, Error> {
        let call = Call {
            method: Method::GET,
            route: "/catalog",
            segments: &["catalog"],
            auth: true,
            payload: Payload::Empty,
            idempotency_key: None,
            retry: RetryClass::Safe,
        };
        self.execute(&call).await.result
    }

    /// The live wallet × primitive capability matrix (`GET /wallets`). Public: sent without the
    /// API key.
    ///
    /// ```no_run
    /// # async fn run(client: uip_client::Client) -> Result<(), uip_client::Error> {
    /// use uip_client::Primitive;
    /// let wallets = client.wallets().await?;
    /// let can_sign: Vec<_> =
    ///     wallets.wallets.iter().filter(|w| w.primitives.contains(&Primitive::Sign)).collect();
    /// # Ok(()) }
    /// ```
    pub async fn wallets(&self) -> Result<WalletsResponse, Error> {
        let call = Call {
            method: Method::GET,
            route: "/wallets",
            segments: &["wallets"],
            auth: false,
            payload: Payload::Empty,
            idempotency_key: None,
            retry: RetryClass::Safe,
        };
        self.execute(&call).await.result
    }
}
