//! For people who keep their own DNS: RFC 2136 dynamic updates of each
//! hostname's addresses into an external primary (BIND), TSIG-signed, and
//! NOTIFY to secondaries that transfer the zone (the transfers themselves
//! are served by [`crate::server`]).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::StreamExt;
use hickory_net::client::Client;
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::xfer::{DnsHandle, DnsMultiplexer};
use hickory_proto::op::{DnsRequest, Message, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigner};

use crate::Error;

/// One hostname's records as the primary should hold them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The hostname.
    pub name: Name,
    /// Its TTL.
    pub ttl: u32,
    /// Its addresses (A and AAAA).
    pub addresses: Vec<IpAddr>,
}

/// The update message that makes the primary hold exactly `published`:
/// for each name, its A and AAAA sets deleted and the new records added,
/// all in one message, which RFC 2136 applies atomically.
pub fn update_message(zone: &Name, published: &[Published]) -> Message {
    let mut message = Message::query();
    message.metadata.op_code = OpCode::Update;
    message.metadata.recursion_desired = false;
    let mut soa = Query::new();
    soa.set_name(zone.clone()).set_query_class(DNSClass::IN).set_query_type(RecordType::SOA);
    message.add_zone(soa);
    for p in published {
        for rtype in [RecordType::A, RecordType::AAAA] {
            // RFC 2136 2.5.2: class ANY, TTL 0, no data deletes the RRset.
            let mut delete = Record::update0(p.name.clone(), 0, rtype);
            delete.dns_class = DNSClass::ANY;
            message.add_update(delete);
        }
        for ip in &p.addresses {
            let data = match ip {
                IpAddr::V4(v4) => RData::A(A(*v4)),
                IpAddr::V6(v6) => RData::AAAA(AAAA(*v6)),
            };
            message.add_update(Record::from_rdata(p.name.clone(), p.ttl, data));
        }
    }
    message
}

/// Sends one update to the primary over TCP, signed with `signer`; the
/// response's signature is checked by the same multiplexer.
pub async fn push(
    primary: SocketAddr,
    signer: &TSigner,
    zone: &Name,
    published: &[Published],
    timeout: Duration,
) -> Result<(), Error> {
    exchange(primary, Some(signer), update_message(zone, published), timeout).await
}

/// Tells a secondary the zone changed (RFC 1996 NOTIFY), so it transfers it
/// now rather than at the SOA's next refresh.
pub async fn notify(secondary: SocketAddr, zone: &Name, timeout: Duration) -> Result<(), Error> {
    let mut message = Message::query();
    message.metadata.op_code = OpCode::Notify;
    message.metadata.authoritative = true;
    message.metadata.recursion_desired = false;
    let mut soa = Query::new();
    soa.set_name(zone.clone()).set_query_class(DNSClass::IN).set_query_type(RecordType::SOA);
    message.add_query(soa);
    exchange(secondary, None, message, timeout).await
}

/// One request and its response, over a TCP connection of its own.
async fn exchange(
    server: SocketAddr,
    signer: Option<&TSigner>,
    message: Message,
    timeout: Duration,
) -> Result<(), Error> {
    let fail = |reason: String| Error::Update { primary: server, reason };
    let (connect, handle) = TcpClientStream::new(server, None, Some(timeout), TokioRuntimeProvider::new());
    let stream = connect.await.map_err(|e| fail(e.to_string()))?;
    let mut multiplexer = DnsMultiplexer::new(stream, handle).with_timeout(timeout);
    if let Some(signer) = signer {
        multiplexer = multiplexer.with_signer(signer.clone());
    }
    let (client, background) = Client::<TokioRuntimeProvider>::from_sender(multiplexer);
    let background = tokio::spawn(background);
    let response = client.send(DnsRequest::from(message)).next().await;
    background.abort();
    let response = response
        .ok_or_else(|| fail("the connection closed without a response".into()))?
        .map_err(|e| fail(e.to_string()))?;
    match response.response_code {
        ResponseCode::NoError => Ok(()),
        code => Err(fail(format!("it answered {code}"))),
    }
}
