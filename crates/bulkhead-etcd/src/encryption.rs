//! Values the API server encrypted at rest, decrypted with the keys of its
//! EncryptionConfiguration (`--encryption-provider-config`), as it does:
//!
//! - `k8s:enc:aescbc:v1:NAME:` IV (16 bytes), then AES-CBC with PKCS#7 padding;
//! - `k8s:enc:aesgcm:v1:NAME:` nonce (12 bytes), then AES-GCM, the etcd key
//!   as additional authenticated data;
//! - `k8s:enc:secretbox:v1:NAME:` nonce (24 bytes), then XSalsa20-Poly1305.
//!
//! KMS providers keep their keys in a plugin: their values are reported,
//! never decrypted here.

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine as _;
use serde::Deserialize;

/// One key of the configuration.
enum Cipher {
    AesCbc(Vec<u8>),
    AesGcm(Vec<u8>),
    Secretbox([u8; 32]),
}

/// The keys of an EncryptionConfiguration, by the prefix their values carry.
pub struct Keys {
    keys: Vec<(String, Cipher)>,
}

impl std::fmt::Debug for Keys {
    /// The key names only: never the secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.iter().map(|(p, _)| p)).finish()
    }
}

/// Why a configuration cannot be used, or a value not decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptionError {
    /// The file is not an EncryptionConfiguration Bulkhead can use.
    #[error("the encryption configuration: {0}")]
    Config(String),
    /// No key of the configuration has this value's prefix.
    #[error("encrypted with {0}, a key the encryption configuration does not have")]
    NoKey(String),
    /// The key does not open the value.
    #[error("{0} does not decrypt it: the wrong key, or a damaged value")]
    Failed(String),
}

#[derive(Deserialize)]
struct Config {
    kind: String,
    #[serde(default)]
    resources: Vec<Resources>,
}

#[derive(Deserialize)]
struct Resources {
    #[serde(default)]
    providers: Vec<Provider>,
}

#[derive(Deserialize)]
struct Provider {
    aescbc: Option<KeyList>,
    aesgcm: Option<KeyList>,
    secretbox: Option<KeyList>,
}

#[derive(Deserialize)]
struct KeyList {
    #[serde(default)]
    keys: Vec<NamedKey>,
}

#[derive(Deserialize)]
struct NamedKey {
    name: String,
    secret: String,
}

impl Keys {
    /// Reads an EncryptionConfiguration (YAML or JSON).
    ///
    /// # Errors
    /// Not an EncryptionConfiguration, or a key of the wrong size.
    pub fn from_config(text: &str) -> Result<Self, EncryptionError> {
        let config: Config = serde_saphyr::from_str(text).map_err(|e| EncryptionError::Config(e.to_string()))?;
        if config.kind != "EncryptionConfiguration" {
            return Err(EncryptionError::Config(format!("kind {}, not EncryptionConfiguration", config.kind)));
        }
        let mut keys = Vec::new();
        for provider in config.resources.iter().flat_map(|r| &r.providers) {
            for (name, list) in
                [("aescbc", &provider.aescbc), ("aesgcm", &provider.aesgcm), ("secretbox", &provider.secretbox)]
            {
                for key in list.iter().flat_map(|l| &l.keys) {
                    let secret = base64::engine::general_purpose::STANDARD
                        .decode(key.secret.trim())
                        .map_err(|e| EncryptionError::Config(format!("{name} key `{}`: not base64: {e}", key.name)))?;
                    let cipher = match name {
                        "secretbox" => Cipher::Secretbox(secret.as_slice().try_into().map_err(|_| {
                            EncryptionError::Config(format!("secretbox key `{}` is not 32 bytes", key.name))
                        })?),
                        _ if ![16, 24, 32].contains(&secret.len()) => {
                            return Err(EncryptionError::Config(format!(
                                "{name} key `{}` is {} bytes, not 16, 24 or 32",
                                key.name,
                                secret.len()
                            )));
                        }
                        "aescbc" => Cipher::AesCbc(secret),
                        _ => Cipher::AesGcm(secret),
                    };
                    keys.push((format!("k8s:enc:{name}:v1:{}:", key.name), cipher));
                }
            }
        }
        if keys.is_empty() {
            return Err(EncryptionError::Config("no aescbc, aesgcm or secretbox key in it".into()));
        }
        Ok(Self { keys })
    }

    /// The plaintext of `value` stored under `etcd_key`; `None` when the
    /// value is not encrypted.
    ///
    /// # Errors
    /// Encrypted with a key the configuration lacks, or the key fails.
    pub fn decrypt(&self, etcd_key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, EncryptionError> {
        if !value.starts_with(b"k8s:enc:") {
            return Ok(None);
        }
        let Some((prefix, cipher)) = self.keys.iter().find(|(p, _)| value.starts_with(p.as_bytes())) else {
            let shown: String =
                String::from_utf8_lossy(&value[..value.len().min(60)]).split(':').take(5).collect::<Vec<_>>().join(":");
            return Err(EncryptionError::NoKey(shown));
        };
        let data = &value[prefix.len()..];
        let failed = || EncryptionError::Failed(prefix.trim_end_matches(':').to_string());
        let plain = match cipher {
            Cipher::AesCbc(key) => {
                if data.len() < 32 || !data.len().is_multiple_of(16) {
                    return Err(failed());
                }
                let (iv, body) = data.split_at(16);
                match key.len() {
                    16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
                        .map_err(|_| failed())?
                        .decrypt_padded_vec_mut::<Pkcs7>(body),
                    24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
                        .map_err(|_| failed())?
                        .decrypt_padded_vec_mut::<Pkcs7>(body),
                    _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
                        .map_err(|_| failed())?
                        .decrypt_padded_vec_mut::<Pkcs7>(body),
                }
                .map_err(|_| failed())?
            }
            Cipher::AesGcm(key) => {
                if data.len() < 12 {
                    return Err(failed());
                }
                let (nonce, body) = data.split_at(12);
                let payload = Payload { msg: body, aad: etcd_key };
                let nonce = aes_gcm::Nonce::from_slice(nonce);
                match key.len() {
                    16 => aes_gcm::Aes128Gcm::new_from_slice(key).map_err(|_| failed())?.decrypt(nonce, payload),
                    24 => aes_gcm::AesGcm::<aes::Aes192, aes_gcm::aead::consts::U12>::new_from_slice(key)
                        .map_err(|_| failed())?
                        .decrypt(nonce, payload),
                    _ => aes_gcm::Aes256Gcm::new_from_slice(key).map_err(|_| failed())?.decrypt(nonce, payload),
                }
                .map_err(|_| failed())?
            }
            Cipher::Secretbox(key) => {
                use crypto_secretbox::{XSalsa20Poly1305, aead::Aead as _, aead::KeyInit as _};
                if data.len() < 24 + 16 {
                    return Err(failed());
                }
                let (nonce, body) = data.split_at(24);
                XSalsa20Poly1305::new(key.into())
                    .decrypt(crypto_secretbox::Nonce::from_slice(nonce), body)
                    .map_err(|_| failed())?
            }
        };
        Ok(Some(plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // "0123456789abcdef0123456789abcdef"
    const PLAIN: &[u8] = b"k8s\x00plaintext value of a secret";
    const ETCD_KEY: &[u8] = b"/registry/secrets/default/db";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn keys() -> Keys {
        let config = format!(
            "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n      - aescbc: {{keys: [{{name: k1, secret: {KEY}}}]}}\n      - aesgcm: {{keys: [{{name: k2, secret: {KEY}}}]}}\n      - secretbox: {{keys: [{{name: k3, secret: {KEY}}}]}}\n      - identity: {{}}\n"
        );
        Keys::from_config(&config).unwrap()
    }

    fn stored(prefix: &str, hex_data: &str) -> Vec<u8> {
        let mut v = prefix.as_bytes().to_vec();
        v.extend(hex(hex_data));
        v
    }

    /// Values the API server's own transformers wrote (k8s.io/apiserver
    /// v0.36.3, `TransformToStorage` with the key above): Bulkhead reads
    /// them back exactly.
    #[test]
    fn values_the_api_server_encrypted_decrypt() {
        let keys = keys();
        let cbc = stored(
            "k8s:enc:aescbc:v1:k1:",
            "63bab3d2838ce52919a7c506fd3783f8a58bdeae2959d33eb68ab9c9cbac34a57e171dc5d67963d724f5ef309c478d05",
        );
        let gcm = stored(
            "k8s:enc:aesgcm:v1:k2:",
            "2309f7b09938e894477138b355cb7c94fbaab55dbc60fdac23cea52ccb1dc6d68a06785a1c8ce11eabe42821430d58a43b0b1c85cd18d44196aa7d",
        );
        let sbox = stored(
            "k8s:enc:secretbox:v1:k3:",
            "d59f9ba2a239398ed00f057d7f1c8fb23aaacb2bc40ffb57947de4fc79c66b37275e426651410198e159dd2b8e1fadfa278ddc04e811d41b405792b72aac0475bb53daebc85a1d",
        );
        for value in [&cbc, &gcm, &sbox] {
            assert_eq!(keys.decrypt(ETCD_KEY, value).unwrap().as_deref(), Some(PLAIN));
        }
        // AES-GCM binds the value to its key: moved elsewhere, it fails.
        assert!(matches!(keys.decrypt(b"/registry/secrets/other/db", &gcm), Err(EncryptionError::Failed(_))));
        // A flipped byte fails the authenticated ciphers.
        let mut damaged = sbox.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert!(keys.decrypt(ETCD_KEY, &damaged).is_err());
        assert_eq!(keys.decrypt(ETCD_KEY, b"k8s\x00plain").unwrap(), None);
        let err = keys.decrypt(ETCD_KEY, b"k8s:enc:aescbc:v1:other:xxxxxxxxxxxxxxxx").unwrap_err();
        assert!(err.to_string().contains("k8s:enc:aescbc:v1:other"), "{err}");
    }

    #[test]
    fn bad_configurations_are_refused() {
        assert!(Keys::from_config("kind: Pod").is_err());
        let short = "kind: EncryptionConfiguration\nresources: [{providers: [{aescbc: {keys: [{name: a, secret: c2hvcnQ=}]}}]}]";
        assert!(Keys::from_config(short).unwrap_err().to_string().contains("not 16, 24 or 32"));
        assert!(Keys::from_config("kind: EncryptionConfiguration\nresources: []").is_err());
    }
}
