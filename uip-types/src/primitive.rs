//! Primitives, identify blocks and wallet ids.

use crate::macros::open_string_enum;

open_string_enum! {
    /// One verified action a step performs.
    ///
    /// ```
    /// use uip_types::Primitive;
    /// assert_eq!(Primitive::parse("age_verify"), Primitive::AgeVerify);
    /// assert_eq!(Primitive::AgeVerify.price_cents(), Some(1));
    /// ```
    pub enum Primitive {
        /// Selected issuer-signed attributes.
        Identify => "identify",
        /// Age at least a threshold, no date of birth disclosed.
        AgeVerify => "age_verify",
        /// Device signature over the hash of uploaded documents.
        Sign => "sign",
        /// Device signature over short inline terms.
        LightSign => "light_sign",
    }
}

impl Primitive {
    /// Price in US cents, billed only when the step verifies; `None` for an unknown primitive.
    ///
    /// ```
    /// assert_eq!(uip_types::Primitive::Sign.price_cents(), Some(3));
    /// ```
    pub fn price_cents(&self) -> Option<u64> {
        match self {
            Primitive::Identify | Primitive::AgeVerify => Some(1),
            Primitive::LightSign => Some(2),
            Primitive::Sign => Some(3),
            Primitive::Other(_) => None,
        }
    }
}

open_string_enum! {
    /// An identify block: one attribute of the credential.
    ///
    /// Unknown names are kept (the service answers them with `"unavailable"`).
    ///
    /// ```
    /// use uip_types::Block;
    /// assert_eq!(Block::parse("dob"), Block::Dob);
    /// assert_eq!(Block::parse("full_name"), Block::Other("full_name".into()));
    /// ```
    pub enum Block {
        /// Given name.
        FirstName => "first_name",
        /// Family name.
        LastName => "last_name",
        /// Date of birth, `YYYY-MM-DD`.
        Dob => "dob",
        /// Issuing country.
        Country => "country",
        /// Document number.
        DocumentNumber => "document_number",
        /// Portrait image (data URL), when the wallet exposes it.
        Portrait => "portrait",
    }
}

impl Block {
    /// The blocks requested when `identify.params.blocks` is omitted.
    pub const DEFAULT: [Block; 3] = [Block::FirstName, Block::LastName, Block::Dob];
}

/// The value returned for a block the credential does not carry, or an unknown block name.
pub const UNAVAILABLE: &str = "unavailable";

open_string_enum! {
    /// The wallet that fulfilled a step.
    ///
    /// ```
    /// assert_eq!(uip_types::WalletId::AppleWallet.as_str(), "apple-wallet");
    /// ```
    pub enum WalletId {
        /// Apple Wallet (Safari).
        AppleWallet => "apple-wallet",
        /// Google Wallet (Chrome).
        GoogleWallet => "google-wallet",
    }
}

impl WalletId {
    /// The primitives this wallet supports (the capability matrix of the sandbox).
    ///
    /// ```
    /// use uip_types::{Primitive, WalletId};
    /// assert!(!WalletId::GoogleWallet.supports(&Primitive::Sign));
    /// ```
    pub fn primitives(&self) -> &'static [Primitive] {
        match self {
            WalletId::AppleWallet => {
                &[Primitive::Identify, Primitive::AgeVerify, Primitive::Sign, Primitive::LightSign]
            }
            WalletId::GoogleWallet => &[Primitive::Identify, Primitive::AgeVerify, Primitive::LightSign],
            WalletId::Other(_) => &[],
        }
    }

    /// Whether this wallet supports a primitive.
    pub fn supports(&self, primitive: &Primitive) -> bool {
        self.primitives().contains(primitive)
    }

    /// Human-readable wallet name.
    pub fn display_name(&self) -> &str {
        match self {
            WalletId::AppleWallet => "Apple Wallet",
            WalletId::GoogleWallet => "Google Wallet",
            WalletId::Other(s) => s,
        }
    }

    /// The browser that carries this wallet.
    pub fn browser(&self) -> &str {
        match self {
            WalletId::AppleWallet => "Safari",
            WalletId::GoogleWallet => "Chrome",
            WalletId::Other(_) => "unknown",
        }
    }
}
