//! The peers' messages: each instance's view (the sites it sees down), sent
//! over UDP and authenticated with an HMAC under the shared key, so nobody
//! who lacks the key can fail a site over or hold one in.
//!
//! `BHV1` · HMAC-SHA256 (32 bytes) of everything after it · JSON body.

use std::collections::BTreeSet;

use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::votes::SiteKey;

const MAGIC: &[u8; 4] = b"BHV1";
const TAG_LEN: usize = 32;
/// The largest message taken: a view of thousands of sites fits.
pub const MAX_MESSAGE: usize = 60_000;

/// One instance's view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// The sender's nameserver name.
    pub from: String,
    /// The zone, so two fleets sharing a key cannot mix views.
    pub zone: String,
    /// When it was sent, in milliseconds since the epoch: newer views
    /// replace older ones, and an old one replayed is refused.
    pub sent_ms: u64,
    /// The sites the sender's probes have down.
    pub down: BTreeSet<SiteKey>,
}

/// The key both ends hold.
pub struct PeerKey(hmac::Key);

impl PeerKey {
    /// A key from a shared secret.
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }
}

/// Signs and encodes a view.
pub fn encode(view: &View, key: &PeerKey) -> Vec<u8> {
    let body = serde_json::to_vec(view).expect("a view always serializes");
    let tag = hmac::sign(&key.0, &body);
    let mut out = Vec::with_capacity(MAGIC.len() + TAG_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(tag.as_ref());
    out.extend_from_slice(&body);
    out
}

/// Checks and decodes a message; nothing of it is read before the HMAC
/// holds.
pub fn decode(bytes: &[u8], key: &PeerKey) -> Result<View, Error> {
    if bytes.len() < MAGIC.len() + TAG_LEN || bytes.len() > MAX_MESSAGE || !bytes.starts_with(MAGIC) {
        return Err(Error::NotAView);
    }
    let (tag, body) = bytes[MAGIC.len()..].split_at(TAG_LEN);
    hmac::verify(&key.0, body, tag).map_err(|_| Error::BadSignature)?;
    serde_json::from_slice(body).map_err(|e| Error::ViewBody(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn view() -> View {
        View {
            from: "ns2".into(),
            zone: "gslb.test.".into(),
            sent_ms: 1_700_000_000_000,
            down: [SiteKey { app: "web".into(), cluster: "b".into() }].into(),
        }
    }

    #[test]
    fn round_trips_and_refuses_another_key_or_a_change() {
        let key = PeerKey::new(b"0123456789abcdef0123456789abcdef");
        let bytes = encode(&view(), &key);
        assert_eq!(decode(&bytes, &key).unwrap(), view());
        assert!(matches!(decode(&bytes, &PeerKey::new(b"another key, same length, 32 b!")), Err(Error::BadSignature)));
        let mut altered = bytes.clone();
        let last = altered.len() - 3;
        altered[last] ^= 1;
        assert!(matches!(decode(&altered, &key), Err(Error::BadSignature)));
        assert!(matches!(decode(b"hello", &key), Err(Error::NotAView)));
    }

    proptest! {
        #[test]
        fn any_bytes_are_refused_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let key = PeerKey::new(b"k");
            let mut framed = MAGIC.to_vec();
            framed.extend_from_slice(&bytes);
            prop_assert!(decode(&bytes, &key).is_err());
            prop_assert!(decode(&framed, &key).is_err());
        }
    }
}
