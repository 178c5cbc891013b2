//! How one instance sees each app's sites, for whoever watches the fleet
//! (`bulkhead serve`'s API and dashboard): asked over DNS itself, as a
//! CHAOS-class TXT query at the app's hostname, TSIG-signed with a key that
//! may also transfer the zone.
//!
//! DNS rather than an HTTP side door because it is the one port every
//! instance already opens to the watcher, and the CHAOS class is where
//! servers answer about themselves (`version.bind`, `id.server`). Signed,
//! because the answer says more than the zone does: this instance's own
//! probes and their reasons, not only the voted answers.
//!
//! One TXT record per site, one string each, words of `key=value`:
//! `cluster=eu-1 answers=in probes=up down=0 seen=3 of=3 reason=HTTP 200`.
//! `reason` comes last and runs to the end, so it may hold spaces.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Error;

/// One site as one instance sees it (and, in JSON, as `bulkhead serve`'s
/// API shows it).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteSeen {
    /// The site's cluster.
    pub cluster: String,
    /// Whether the instance's answers name the site now (after the vote).
    pub in_answers: bool,
    /// Whether the instance's own probes have the site up (after hysteresis).
    pub probes_up: bool,
    /// Instances whose fresh view has the site down, this one included.
    pub down_votes: u32,
    /// Instances whose view is fresh, this one included.
    pub seen: u32,
    /// Every instance of the zone.
    pub of: u32,
    /// What the instance's last probe of the site saw.
    pub reason: String,
}

/// A TXT string holds at most 255 bytes.
const TXT_LIMIT: usize = 255;

/// The TXT string for one site; a long reason is cut at a character
/// boundary so the string fits.
pub fn encode(site: &SiteSeen) -> String {
    let head = format!(
        "cluster={} answers={} probes={} down={} seen={} of={} reason=",
        site.cluster,
        if site.in_answers { "in" } else { "out" },
        if site.probes_up { "up" } else { "down" },
        site.down_votes,
        site.seen,
        site.of,
    );
    let mut reason = site.reason.as_str();
    let room = TXT_LIMIT.saturating_sub(head.len());
    if reason.len() > room {
        let mut cut = room;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason = &reason[..cut];
    }
    format!("{head}{reason}")
}

/// Why a status string was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a site status `{text}` does not read: {why}")]
pub struct BadStatus {
    /// The string (cut to 80 characters).
    pub text: String,
    /// What is wrong.
    pub why: String,
}

/// Reads one TXT string back. Unknown words are skipped, so a newer
/// instance may say more than an older watcher reads.
pub fn decode(text: &str) -> Result<SiteSeen, BadStatus> {
    let bad = |why: &str| BadStatus { text: text.chars().take(80).collect(), why: why.into() };
    let at = if text.starts_with("reason=") { Some(0) } else { text.find(" reason=").map(|at| at + 1) };
    let (words, reason) = match at {
        Some(at) => (&text[..at], &text[at + "reason=".len()..]),
        None => (text, ""),
    };
    let mut seen = SiteSeen { reason: reason.to_string(), ..SiteSeen::default() };
    let (mut cluster, mut answers, mut probes) = (false, false, false);
    for word in words.split_whitespace() {
        let (key, value) = word.split_once('=').ok_or_else(|| bad("a word without `=`"))?;
        let count = || value.parse::<u32>().map_err(|_| bad(&format!("`{key}` is not a count")));
        match key {
            "cluster" if !value.is_empty() => {
                seen.cluster = value.to_string();
                cluster = true;
            }
            "answers" => {
                seen.in_answers = match value {
                    "in" => true,
                    "out" => false,
                    _ => return Err(bad("`answers` is neither `in` nor `out`")),
                };
                answers = true;
            }
            "probes" => {
                seen.probes_up = match value {
                    "up" => true,
                    "down" => false,
                    _ => return Err(bad("`probes` is neither `up` nor `down`")),
                };
                probes = true;
            }
            "down" => seen.down_votes = count()?,
            "seen" => seen.seen = count()?,
            "of" => seen.of = count()?,
            _ => {}
        }
    }
    match (cluster, answers, probes) {
        (true, true, true) => Ok(seen),
        (false, ..) => Err(bad("no cluster")),
        (_, false, _) => Err(bad("no `answers`")),
        _ => Err(bad("no `probes`")),
    }
}

/// The answer records: one CH-class TXT record per site, at `hostname`.
pub fn records(hostname: &Name, sites: &[SiteSeen]) -> Vec<Record> {
    sites
        .iter()
        .map(|site| {
            let mut record = Record::from_rdata(hostname.clone(), 0, RData::TXT(TXT::new(vec![encode(site)])));
            record.dns_class = DNSClass::CH;
            record
        })
        .collect()
}

/// Queries in flight at once on the connection (their ids are their places).
const IN_FLIGHT: usize = 1000;

/// Asks one instance for the sites of every hostname, over one TCP
/// connection with up to [`IN_FLIGHT`] queries in flight (TCP, because UDP
/// answers are rate-limited per source and a watcher asks for every app at
/// once). The answers come in `hostnames`' order; each is checked against
/// its TSIG before it is read.
///
/// Written on the socket rather than through hickory's client: its
/// multiplexer signs only updates, NOTIFY and transfers, and gives a query
/// its id after it is signed, which a signature covers.
pub async fn ask(
    server: SocketAddr,
    signer: &TSigner,
    hostnames: &[Name],
    timeout: Duration,
) -> Result<Vec<Vec<SiteSeen>>, Error> {
    let unreachable = |reason: String| Error::StatusUnreachable { server, reason };
    let work = async {
        let mut stream = TcpStream::connect(server).await.map_err(|e| unreachable(e.to_string()))?;
        let mut all = Vec::with_capacity(hostnames.len());
        for batch in hostnames.chunks(IN_FLIGHT) {
            all.extend(ask_batch(&mut stream, server, signer, batch).await?);
        }
        Ok(all)
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| unreachable(format!("no answer within {timeout:?}")))?
}

async fn ask_batch(
    stream: &mut TcpStream,
    server: SocketAddr,
    signer: &TSigner,
    hostnames: &[Name],
) -> Result<Vec<Vec<SiteSeen>>, Error> {
    let unreachable = |reason: String| Error::StatusUnreachable { server, reason };
    let refused = |id: usize, code| Error::StatusRefused { server, hostname: hostnames[id].to_string(), code };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut verifiers = Vec::with_capacity(hostnames.len());
    let mut out = Vec::new();
    for (id, hostname) in hostnames.iter().enumerate() {
        let mut message = Message::query();
        message.metadata.id = u16::try_from(id).expect("a batch fits the id space");
        message.metadata.recursion_desired = false;
        let mut query = Query::new();
        query.set_name(hostname.clone()).set_query_class(DNSClass::CH).set_query_type(RecordType::TXT);
        message.add_query(query);
        let verifier = message.finalize(signer, now).map_err(|e| unreachable(format!("cannot sign: {e}")))?;
        verifiers.push(verifier);
        let bytes = message.to_vec().map_err(|e| unreachable(e.to_string()))?;
        out.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    stream.write_all(&out).await.map_err(|e| unreachable(e.to_string()))?;
    let mut answers: Vec<Option<Vec<SiteSeen>>> = vec![None; hostnames.len()];
    for _ in 0..hostnames.len() {
        let mut length = [0u8; 2];
        stream.read_exact(&mut length).await.map_err(|e| unreachable(format!("the connection broke: {e}")))?;
        let mut bytes = vec![0u8; usize::from(u16::from_be_bytes(length))];
        stream.read_exact(&mut bytes).await.map_err(|e| unreachable(format!("the connection broke: {e}")))?;
        let id =
            usize::from(u16::from_be_bytes([bytes.first().copied().unwrap_or(0), bytes.get(1).copied().unwrap_or(0)]));
        let Some(Some(verifier)) = verifiers.get_mut(id) else {
            return Err(unreachable(format!("an answer to no query asked (id {id}), or unsigned")));
        };
        let response = match verifier.verify(&bytes) {
            Ok(response) => response,
            // An instance that does not hold the key answers unsigned.
            Err(error) => {
                return Err(match Message::from_vec(&bytes) {
                    Ok(m) if m.response_code != ResponseCode::NoError => refused(id, m.response_code),
                    _ => unreachable(format!("the answer's TSIG: {error}")),
                });
            }
        };
        if response.response_code != ResponseCode::NoError {
            return Err(refused(id, response.response_code));
        }
        let sites = response
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::TXT(txt) => Some(txt.to_string()),
                _ => None,
            })
            .map(|text| decode(&text).map_err(|source| Error::StatusUnreadable { server, source }))
            .collect::<Result<Vec<_>, _>>()?;
        answers[id] = Some(sites);
    }
    Ok(answers.into_iter().map(Option::unwrap_or_default).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn site() -> SiteSeen {
        SiteSeen {
            cluster: "eu-1".into(),
            in_answers: false,
            probes_up: false,
            down_votes: 2,
            seen: 3,
            of: 3,
            reason: "connect to 10.0.0.1:8080: timed out after 300ms".into(),
        }
    }

    #[test]
    fn a_site_reads_back_with_its_reason_spaces_and_all() {
        let text = encode(&site());
        assert_eq!(
            text,
            "cluster=eu-1 answers=out probes=down down=2 seen=3 of=3 reason=connect to 10.0.0.1:8080: timed out after 300ms"
        );
        assert_eq!(decode(&text).unwrap(), site());
    }

    #[test]
    fn a_long_reason_is_cut_to_fit_a_txt_string() {
        let long = SiteSeen { reason: "é".repeat(300), ..site() };
        let text = encode(&long);
        assert!(text.len() <= TXT_LIMIT, "{}", text.len());
        assert!(decode(&text).unwrap().reason.starts_with("éé"));
    }

    #[test]
    fn what_does_not_read_says_why() {
        assert_eq!(decode("answers=in probes=up").unwrap_err().why, "no cluster");
        assert_eq!(decode("cluster=a answers=maybe probes=up").unwrap_err().why, "`answers` is neither `in` nor `out`");
        assert_eq!(decode("cluster=a answers=in probes=up down=-1").unwrap_err().why, "`down` is not a count");
        assert_eq!(decode("cluster=a answers=in").unwrap_err().why, "no `probes`");
        let newer = decode("cluster=a answers=in probes=up weight=3 reason=ok").unwrap();
        assert_eq!((newer.cluster.as_str(), newer.reason.as_str()), ("a", "ok"), "unknown words are skipped");
        assert_eq!(decode("cluster=a answers=in probes=up xreason=ok").unwrap().reason, "", "only a whole word");
    }

    proptest! {
        #[test]
        fn any_site_round_trips(cluster in "[a-z0-9][a-z0-9-]{0,40}", in_answers in any::<bool>(), probes_up in any::<bool>(),
                                down_votes in 0u32..9, seen in 0u32..9, of in 0u32..9, reason in "[ -~]{0,150}") {
            let site = SiteSeen { cluster, in_answers, probes_up, down_votes, seen, of, reason };
            prop_assert_eq!(decode(&encode(&site)).unwrap(), site);
        }

        #[test]
        fn any_text_is_read_or_refused_without_panic(text in "\\PC{0,300}") {
            let _ = decode(&text);
        }
    }
}
