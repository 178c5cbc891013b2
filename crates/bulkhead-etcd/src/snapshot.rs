//! A full snapshot through etcd's maintenance API. etcd streams its bbolt
//! file and appends the SHA-256 of it as the last 32 bytes; the file is
//! written as it arrives (trailer included, as `etcdctl snapshot save`
//! does, so `etcdutl` verifies it again) under a temporary name, and only
//! renamed into place once the hash matched.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use etcd_client::Client;
use sha2::{Digest, Sha256};

use crate::Error;
use crate::access::Target;

/// The length of etcd's trailer: a SHA-256.
pub const TRAILER: usize = 32;

/// What a snapshot holds, as etcd described it.
#[derive(Debug, Clone, PartialEq)]
pub struct Taken {
    /// The store's revision just before the snapshot began: the snapshot
    /// holds this revision or, when writes came in between, a slightly
    /// later one. (etcd's snapshot stream itself carries no revision.)
    pub revision: i64,
    /// The database's size, the trailer left out.
    pub bytes: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// The etcd that sent it.
    pub etcd_version: String,
    /// Seconds it took.
    pub seconds: f64,
}

/// Checks a stream against the SHA-256 trailer at its end, as it comes:
/// everything but the last 32 bytes seen so far is hashed, those 32 are
/// held back until more arrives or the stream ends.
#[derive(Default)]
pub struct TrailerCheck {
    hasher: Sha256,
    tail: Vec<u8>,
    total: u64,
}

impl TrailerCheck {
    /// Takes the next chunk.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        self.tail.extend_from_slice(chunk);
        if self.tail.len() > TRAILER {
            let spill = self.tail.len() - TRAILER;
            self.hasher.update(&self.tail[..spill]);
            self.tail.drain(..spill);
        }
    }

    /// The hash of the data, once the trailer matched it.
    ///
    /// # Errors
    /// When the stream is shorter than a trailer, or the trailer is not the
    /// data's SHA-256.
    pub fn finish(self) -> Result<(u64, String), Error> {
        if self.tail.len() < TRAILER {
            return Err(Error::Damaged(format!("{} bytes is too short to hold a SHA-256 trailer", self.total)));
        }
        let digest = self.hasher.finalize();
        if digest.as_slice() != self.tail.as_slice() {
            return Err(Error::Damaged(format!(
                "its SHA-256 trailer {} does not match the data's {}",
                hex(&self.tail),
                hex(&digest)
            )));
        }
        Ok((self.total - TRAILER as u64, hex(&digest)))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Streams a full snapshot of `client`'s etcd into `out`; `progress` hears
/// bytes received and the total expected. A stream that breaks off or
/// fails its hash leaves no file behind.
///
/// # Errors
/// When etcd cannot be reached or stops sending, the stream is damaged,
/// or the file cannot be written.
pub async fn save(
    target: &Target,
    client: &mut Client,
    out: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Taken, Error> {
    let partial = partial_path(out);
    let result = stream_into(target, client, &partial, progress).await;
    match result {
        Ok(taken) => {
            std::fs::rename(&partial, out).map_err(|source| Error::Write { path: out.to_path_buf(), source })?;
            Ok(taken)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

async fn stream_into(
    target: &Target,
    client: &mut Client,
    path: &Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Taken, Error> {
    let started = Instant::now();
    let write_error = |source| Error::Write { path: path.to_path_buf(), source };
    // Plain blocking writes: a local file keeps up with the network, and
    // the stream is the only thing this task does.
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).map_err(write_error)?);
    let status = client.status().await.map_err(|e| target.error("read its status", e))?;
    let revision = status.header().map(|h| h.revision());
    let mut stream = client.snapshot().await.map_err(|e| target.error("start a snapshot", e))?;
    let mut check = TrailerCheck::default();
    let (mut version, mut remaining) = (status.version().to_string(), u64::MAX);
    while let Some(response) = stream.message().await.map_err(|e| target.error("receive the snapshot", e))? {
        if version.is_empty() {
            version = response.version().to_string();
        }
        check.feed(response.blob());
        file.write_all(response.blob()).map_err(write_error)?;
        remaining = response.remaining_bytes();
        progress(check.total, check.total + remaining);
    }
    if remaining != 0 {
        let left =
            if remaining == u64::MAX { "before any data".to_string() } else { format!("{remaining} bytes early") };
        return Err(Error::Damaged(format!("etcd's stream ended {left}")));
    }
    let file = file.into_inner().map_err(|e| write_error(e.into_error()))?;
    file.sync_all().map_err(write_error)?;
    let (bytes, sha256) = check.finish()?;
    Ok(Taken {
        revision: revision.unwrap_or(0),
        bytes,
        sha256,
        etcd_version: version,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn with_trailer(data: &[u8]) -> Vec<u8> {
        let mut out = data.to_vec();
        out.extend_from_slice(&Sha256::digest(data));
        out
    }

    fn check(stream: &[u8], cuts: &[usize]) -> Result<(u64, String), Error> {
        let mut c = TrailerCheck::default();
        let mut at = 0;
        for &cut in cuts {
            let cut = cut.min(stream.len()).max(at);
            c.feed(&stream[at..cut]);
            at = cut;
        }
        c.feed(&stream[at..]);
        c.finish()
    }

    #[test]
    fn short_streams_are_damaged() {
        assert!(check(&[0; 31], &[]).unwrap_err().to_string().contains("too short"));
        let (bytes, _) = check(&with_trailer(b""), &[]).unwrap();
        assert_eq!(bytes, 0);
    }

    proptest! {
        /// However the stream is cut into chunks, an intact one passes with
        /// its data's hash and a changed byte anywhere fails.
        #[test]
        fn the_trailer_is_checked_across_any_chunking(
            data in proptest::collection::vec(any::<u8>(), 0..3000),
            mut cuts in proptest::collection::vec(0usize..3100, 0..8),
            flip in any::<prop::sample::Index>(),
        ) {
            cuts.sort_unstable();
            let stream = with_trailer(&data);
            let (bytes, sha) = check(&stream, &cuts).unwrap();
            prop_assert_eq!(bytes, data.len() as u64);
            prop_assert_eq!(sha, hex(&Sha256::digest(&data)));
            let mut bad = stream.clone();
            let i = flip.index(bad.len());
            bad[i] ^= 0x01;
            prop_assert!(check(&bad, &cuts).is_err());
        }
    }
}
