//! The domain: sessions and their state machine, the simulated wallet, audits and billing.
//! No HTTP, no database, no clock reads, no hidden randomness: every transition takes `now`, and
//! the ones that start a step take the random source of its nonce.

pub(crate) mod audit;
pub(crate) mod session;
pub(crate) mod wallet;

use rand::RngCore;

/// A URL-safe unpadded base64 of `n` random bytes from the OS CSPRNG.
pub(crate) fn random_b64(n: usize) -> String {
    b64_from(&mut rand::thread_rng(), n)
}

/// A URL-safe unpadded base64 of `n` bytes drawn from `rng`.
fn b64_from<R: RngCore + ?Sized>(rng: &mut R, n: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; n];
    rng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// A step nonce: base64url of 16 bytes drawn from `rng` (docs/DECISIONS.md §7). The sandbox
/// passes its CSPRNG; the engine's tests pass a seeded generator.
pub(crate) fn nonce<R: RngCore + ?Sized>(rng: &mut R) -> String {
    b64_from(rng, 16)
}

/// `prefix` + `len` base62 characters from the OS CSPRNG.
pub(crate) fn random_base62(prefix: &str, len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    // ThreadRng is a CSPRNG (ChaCha, reseeded from the OS): ids and secrets stay unguessable
    // without a system call per character.
    let mut rng = rand::thread_rng();
    let mut s = String::with_capacity(prefix.len() + len);
    s.push_str(prefix);
    for _ in 0..len {
        s.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
    }
    s
}
