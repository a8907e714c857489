//! The domain: sessions and their state machine, the simulated wallet, audits and billing.
//! No HTTP, no database, no clock reads: every function takes `now`.

pub(crate) mod audit;
pub(crate) mod session;
pub(crate) mod wallet;

use rand::RngCore;

/// A URL-safe unpadded base64 of `n` random bytes from the OS CSPRNG.
pub(crate) fn random_b64(n: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
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
