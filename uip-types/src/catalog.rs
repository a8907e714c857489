//! `GET /v1/wallets` and `GET /v1/catalog`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::primitive::{Primitive, WalletId};

/// The answer to `GET /v1/wallets` (public).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct WalletsResponse {
    /// Every supported wallet.
    pub wallets: Vec<WalletInfo>,
}

impl WalletsResponse {
    /// The answer listing these wallets.
    ///
    /// ```
    /// use uip_types::{WalletInfo, WalletsResponse};
    /// let answer = WalletsResponse::new(WalletInfo::all());
    /// assert_eq!(answer.wallets.len(), 2);
    /// ```
    pub fn new(wallets: Vec<WalletInfo>) -> Self {
        WalletsResponse { wallets }
    }
}

/// One wallet and what it supports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct WalletInfo {
    /// Wallet id.
    pub id: WalletId,
    /// Display name.
    pub name: String,
    /// The browser that carries it.
    pub browser: String,
    /// Credential kind (`mdl`).
    pub credential: String,
    /// Issuing countries.
    pub countries: Vec<String>,
    /// Supported primitives.
    pub primitives: Vec<Primitive>,
}

impl WalletInfo {
    /// The wallet `id` named `name`, carried by `browser`, holding a `credential` (e.g. `mdl`)
    /// issued in `countries`, supporting `primitives`.
    ///
    /// ```
    /// use uip_types::{Primitive, WalletId, WalletInfo};
    /// let info = WalletInfo::new(WalletId::AppleWallet, "Apple Wallet", "Safari", "mdl", vec!["US".into()], vec![Primitive::AgeVerify]);
    /// assert_eq!(info.primitives, [Primitive::AgeVerify]);
    /// ```
    pub fn new(
        id: WalletId,
        name: impl Into<String>,
        browser: impl Into<String>,
        credential: impl Into<String>,
        countries: Vec<String>,
        primitives: Vec<Primitive>,
    ) -> Self {
        WalletInfo {
            id,
            name: name.into(),
            browser: browser.into(),
            credential: credential.into(),
            countries,
            primitives,
        }
    }

    /// The entry for a known wallet, from the capability matrix.
    pub fn of(id: WalletId) -> Self {
        WalletInfo {
            name: id.display_name().to_owned(),
            browser: id.browser().to_owned(),
            credential: "mdl".to_owned(),
            countries: vec!["US".to_owned()],
            primitives: id.primitives().to_vec(),
            id,
        }
    }

    /// Every wallet the sandbox knows.
    pub fn all() -> Vec<WalletInfo> {
        vec![WalletInfo::of(WalletId::AppleWallet), WalletInfo::of(WalletId::GoogleWallet)]
    }
}

/// The answer to `GET /v1/catalog` (authenticated).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct CatalogResponse {
    /// Every primitive with its price and params.
    pub primitives: Vec<PrimitiveInfo>,
    /// Same as `GET /v1/wallets`.
    pub wallets: Vec<WalletInfo>,
}

impl CatalogResponse {
    /// The catalog of these primitives and wallets.
    ///
    /// ```
    /// use uip_types::{CatalogResponse, Primitive, PrimitiveInfo, WalletInfo};
    /// let age = PrimitiveInfo::new(Primitive::AgeVerify, 1, serde_json::json!({"min_age": "integer"}));
    /// let catalog = CatalogResponse::new(vec![age], WalletInfo::all());
    /// assert_eq!(catalog.primitives[0].price_cents, 1);
    /// ```
    pub fn new(primitives: Vec<PrimitiveInfo>, wallets: Vec<WalletInfo>) -> Self {
        CatalogResponse { primitives, wallets }
    }
}

/// A primitive in the catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct PrimitiveInfo {
    /// Primitive name.
    pub name: Primitive,
    /// Price in cents, billed when the step verifies.
    pub price_cents: u64,
    /// Param descriptions, keyed by param name.
    pub params: Value,
}

impl PrimitiveInfo {
    /// The primitive `name` at `price_cents`, its params described by `params`.
    ///
    /// ```
    /// use uip_types::{Primitive, PrimitiveInfo};
    /// let info = PrimitiveInfo::new(Primitive::Sign, 50, serde_json::json!({}));
    /// assert_eq!(info.name, Primitive::Sign);
    /// ```
    pub fn new(name: Primitive, price_cents: u64, params: Value) -> Self {
        PrimitiveInfo { name, price_cents, params }
    }
}
