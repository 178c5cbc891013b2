//! The DNS side: hickory's server reads packets off UDP and TCP and hands
//! each parsed request here; the answer comes from [`crate::answer`].

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hickory_net::runtime::Time;
use hickory_net::xfer::Protocol;
use hickory_proto::op::{Edns, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::tsig::TsigError;
use hickory_proto::rr::{DNSClass, Record, RecordType, TSigResponseContext, TSigner};
use hickory_proto::serialize::binary::BinEncoder;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tracing::{debug, warn};

use crate::answer::{Answer, answer, zone_records};
use crate::rrl::{Limiter, Limits, Verdict};
use crate::state::Live;

/// EDNS payload we answer with: the DNS flag day 2020 size, which avoids
/// fragmented UDP.
const EDNS_PAYLOAD: u16 = 1232;

/// Answers queries from the live state.
pub struct Handler {
    live: Arc<Live>,
    keys: Vec<TSigner>,
    /// `None` when rate limiting is off: no lock on the hot path then.
    limiter: Option<Mutex<Limiter>>,
}

impl Handler {
    /// A handler over `live`; `keys` may sign queries and must sign zone
    /// transfers (none: transfers are refused).
    pub fn new(live: Arc<Live>, keys: Vec<TSigner>, limits: Limits) -> Self {
        let limiter = (limits.per_second > 0).then(|| Mutex::new(Limiter::new(limits)));
        Self { live, keys, limiter }
    }
}

/// What the request's TSIG said.
enum Signed {
    /// No TSIG record.
    No,
    /// Verified: sign the response with this context.
    Yes(TSigResponseContext),
    /// Present but not valid: answer NOTAUTH with this context.
    Bad(TSigResponseContext),
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Handler {
    fn verify(&self, request: &Request) -> Signed {
        let Some(tsig) = &request.signature else { return Signed::No };
        let id = request.metadata.id;
        let now = now_secs();
        let Some(signer) = self.keys.iter().find(|k| k.signer_name() == &tsig.name) else {
            return Signed::Bad(TSigResponseContext::unknown_key(id, now, tsig.name.clone()));
        };
        let Ok((_, _, range)) = signer.verify_message_byte(request.as_slice(), None, true) else {
            return Signed::Bad(TSigResponseContext::bad_signature(id, now, signer.clone()));
        };
        if !range.contains(&now) {
            return Signed::Bad(TSigResponseContext::new(
                id,
                now,
                signer.clone(),
                tsig.data.mac.clone(),
                Some(TsigError::BadTime),
            ));
        }
        Signed::Yes(TSigResponseContext::new(id, now, signer.clone(), tsig.data.mac.clone(), None))
    }
}

/// Where a response goes, and what it answers.
struct Reply<'a, R> {
    handle: R,
    request: &'a Request,
    meta: Metadata,
    edns: Option<Edns>,
    live: &'a Live,
}

impl<R: ResponseHandler> Reply<'_, R> {
    /// An answer without records, counted.
    async fn empty(self, code: ResponseCode, context: Option<TSigResponseContext>) -> ResponseInfo {
        self.records(code, &Answer::default(), context).await
    }

    /// An answer, counted.
    async fn records(self, code: ResponseCode, out: &Answer, context: Option<TSigResponseContext>) -> ResponseInfo {
        self.live.metrics.answered(code, self.request.protocol());
        send(self.handle, self.request, self.meta, code, self.edns.as_ref(), out, context).await
    }
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(&self, request: &Request, response_handle: R) -> ResponseInfo {
        let edns = request.edns.as_ref().map(|_| {
            let mut e = Edns::new();
            e.set_max_payload(EDNS_PAYLOAD);
            e
        });
        let mut meta = Metadata::response_from_request(&request.metadata);
        meta.message_type = MessageType::Response;
        meta.recursion_available = false;
        let mut reply = Reply { handle: response_handle, request, meta, edns, live: &self.live };

        if request.metadata.message_type != MessageType::Query {
            return reply.empty(ResponseCode::FormErr, None).await;
        }
        if request.metadata.op_code != OpCode::Query {
            // NOTIFY, UPDATE and the rest: this zone changes only with health.
            let code =
                if request.metadata.op_code == OpCode::Update { ResponseCode::Refused } else { ResponseCode::NotImp };
            return reply.empty(code, None).await;
        }
        let [query] = request.queries.queries() else {
            return reply.empty(ResponseCode::FormErr, None).await;
        };
        let context = match self.verify(request) {
            Signed::Bad(context) => {
                warn!(source = %request.src(), "a query's TSIG did not verify");
                return reply.empty(ResponseCode::NotAuth, Some(context)).await;
            }
            Signed::Yes(context) => Some(context),
            Signed::No => None,
        };

        if query.query_class() == DNSClass::CH && query.query_type() == RecordType::TXT {
            // How this instance sees an app's sites: for a watcher holding
            // a transfer key only (see `crate::status`).
            let service = self.live.zone.service_at(query.name());
            let (Some(service), Some(_)) = (service, &context) else {
                debug!(source = %request.src(), "a status query refused");
                return reply.empty(ResponseCode::Refused, context).await;
            };
            let hostname = &self.live.zone.services[service].hostname;
            let out = Answer {
                answers: crate::status::records(hostname, &self.live.seen(service)),
                authoritative: true,
                ..Answer::default()
            };
            reply.meta.authoritative = true;
            return reply.records(ResponseCode::NoError, &out, context).await;
        }

        if query.query_type() == RecordType::AXFR {
            // A transfer: over TCP, signed by a key we hold, for our zone.
            let allowed = request.protocol() == Protocol::Tcp
                && context.is_some()
                && *query.name() == hickory_proto::rr::LowerName::new(&self.live.zone.origin);
            if !allowed {
                debug!(source = %request.src(), "zone transfer refused");
                return reply.empty(ResponseCode::Refused, context).await;
            }
            let mut records = zone_records(&self.live.zone, &self.live.snapshot());
            // A transfer ends with the SOA it began with.
            records.push(records[0].clone());
            self.live.metrics.transfer();
            reply.meta.authoritative = true;
            let out = Answer { answers: records, authoritative: true, ..Answer::default() };
            return reply.records(ResponseCode::NoError, &out, context).await;
        }

        if let Some(limiter) = &self.limiter
            && request.protocol() == Protocol::Udp
        {
            let verdict = limiter
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .check(request.src().ip(), Instant::now());
            match verdict {
                Verdict::Send => {}
                Verdict::Drop => {
                    self.live.metrics.rate_limited(false);
                    return ResponseInfo::from(hickory_proto::op::Header {
                        metadata: reply.meta,
                        counts: Default::default(),
                    });
                }
                Verdict::Slip => {
                    self.live.metrics.rate_limited(true);
                    reply.meta.truncation = true;
                    return reply.empty(ResponseCode::NoError, None).await;
                }
            }
        }

        let out = {
            let snapshot = self.live.snapshot();
            answer(
                &self.live.zone,
                &snapshot,
                query.name(),
                query.query_type(),
                query.query_class(),
                self.live.next_pick(),
            )
        };
        if let Some((service, all_down)) = out.service {
            self.live.metrics.served(service, all_down);
        }
        reply.meta.authoritative = out.authoritative;
        reply.records(out.code, &out, context).await
    }
}

impl Default for Answer {
    fn default() -> Self {
        Self {
            code: ResponseCode::NoError,
            authoritative: false,
            answers: vec![],
            authorities: vec![],
            additionals: vec![],
            service: None,
        }
    }
}

/// Encodes and sends a response, TSIG-signed when the request was.
async fn send<R: ResponseHandler>(
    mut handle: R,
    request: &Request,
    mut meta: Metadata,
    code: ResponseCode,
    edns: Option<&Edns>,
    out: &Answer,
    context: Option<TSigResponseContext>,
) -> ResponseInfo {
    meta.response_code = code;
    let build = || {
        MessageResponseBuilder::new(&request.queries, edns).build(
            meta,
            out.answers.iter(),
            out.authorities.iter(),
            std::iter::empty::<&Record>(),
            out.additionals.iter(),
        )
    };
    let mut response = build();
    if let Some(context) = context {
        // The MAC covers the response as sent without its TSIG record.
        let mut unsigned = Vec::with_capacity(512);
        let mut encoder = BinEncoder::new(&mut unsigned);
        if build().destructive_emit(&mut encoder).is_ok() {
            match context.sign(&unsigned) {
                Ok(signature) => response.set_signature(signature),
                Err(error) => warn!(%error, "could not sign a response"),
            }
        }
    }
    match handle.send_response(response).await {
        Ok(info) => info,
        Err(error) => {
            debug!(%error, "could not send a response");
            let mut failed = Metadata::response_from_request(&request.metadata);
            failed.response_code = ResponseCode::ServFail;
            ResponseInfo::from(hickory_proto::op::Header { metadata: failed, counts: Default::default() })
        }
    }
}
