//! `GET /v1/wallets` and `GET /v1/catalog`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::primitive::{Primitive, WalletId};

/// The answer to `GET /v1/wallets` (public).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WalletsResponse {
    /// Every supported wallet.
    pub wallets: Vec<WalletInfo>,
}

/// One wallet and what it supports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
pub struct CatalogResponse {
    /// Every primitive with its price and params.
    pub primitives: Vec<PrimitiveInfo>,
    /// Same as `GET /v1/wallets`.
    pub wallets: Vec<WalletInfo>,
}

/// A primitive in the catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrimitiveInfo {
    /// Primitive name.
    pub name: Primitive,
    /// Price in cents, billed when the step verifies.
    pub price_cents: u64,
    /// Param descriptions, keyed by param name.
    pub params: Value,
}
