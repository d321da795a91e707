//! A real DNS server on `127.0.0.1` for the DNS discovery tests.
//!
//! [`DnsServer::start`] runs hickory-server (UDP and TCP on the same port)
//! on its own thread with a request handler that serves the TXT records the
//! test put in, answers NXDOMAIN for every other name, and keeps a log of
//! every query it received, so a test can prove from the server's side that
//! a warm run asked nothing. [`DnsServer::set_silent`] makes it swallow
//! queries without answering, as a dead resolver would, and
//! [`DnsServer::set_delay`] makes it slow.
//!
//! The shim finds it through `UV_SHIM_DNS_SERVER` ([`DnsServer::addr_string`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::TXT;
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;

use super::env::TestEnv;

/// TTL of the records served, unless a test sets another.
pub const DEFAULT_TTL: u32 = 300;

/// The domain most DNS stories pin.
pub const DOMAIN: &str = "corp.example";

/// The name the shim asks about for [`DOMAIN`].
pub const NAME: &str = "_uv-mirror.corp.example";

/// The system config line that makes the shim ask about the resolver's
/// search list when no domain is pinned.
pub const TRUST_SEARCH_LIST: &str = "dns-search = true\n";

/// The system config that lets a record name the plain-http test server on
/// 127.0.0.1: exactly the loosening an administrator would have to make.
pub const TRUST_TEST_SERVER: &str = "allow-http = true\ndns-allowed-hosts = [\"127.0.0.1\"]\n";

/// How a story tells the shim which domains to ask about.
pub enum Domains {
    /// Pinned by `UV_SHIM_DNS_DOMAINS`; the resolv.conf has no search list.
    Pinned(Vec<String>),
    /// Only the resolv.conf's search list, which the shim asks about only
    /// when the system config says `dns-search = true` ([`TRUST_SEARCH_LIST`]).
    SearchList(Vec<String>),
}

impl Domains {
    /// Starts a server, points the shim at it (`UV_SHIM_DNS_SERVER`), and
    /// tells it the domains: pinned, or as the test resolv.conf's search list.
    pub fn serve(self, env: &mut TestEnv) -> DnsServer {
        let server = DnsServer::start();
        env.set_env("UV_SHIM_DNS_SERVER", server.addr_string());
        let search = match self {
            Domains::Pinned(pinned) => {
                env.set_env("UV_SHIM_DNS_DOMAINS", pinned.join(","));
                String::new()
            }
            Domains::SearchList(search) if search.is_empty() => String::new(),
            Domains::SearchList(search) => format!("search {}\n", search.join(" ")),
        };
        env.write_resolv_conf(&format!("# test resolver\n{search}nameserver 127.0.0.1\n"));
        server
    }
}

/// One query the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The name asked for, lower case, without the final dot.
    pub name: String,
    /// The record type asked for (`TXT`, …).
    pub record_type: String,
    /// `udp` or `tcp`.
    pub protocol: String,
}

#[derive(Debug, Default)]
struct State {
    /// Name (lower case, no final dot) -> records, each a list of character-strings.
    records: BTreeMap<String, Vec<Vec<Vec<u8>>>>,
    ttl: u32,
    silent: bool,
    delay: Duration,
    log: Vec<Query>,
}

/// A DNS server on `127.0.0.1`, stopped on drop.
pub struct DnsServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl DnsServer {
    /// Starts a server on a free port of `127.0.0.1` (UDP and TCP), serving nothing yet.
    pub fn start() -> DnsServer {
        let state = Arc::new(Mutex::new(State {
            ttl: DEFAULT_TTL,
            ..State::default()
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, bound) = std::sync::mpsc::channel::<SocketAddr>();
        let handler = Handler {
            state: Arc::clone(&state),
        };
        let thread = thread::Builder::new()
            .name("dns-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime for the DNS server");
                runtime.block_on(async move {
                    let (udp, tcp, addr) = bind_pair().await;
                    let mut server = Server::new(handler);
                    server.register_socket(udp);
                    server.register_listener(tcp, Duration::from_secs(5), 64 * 1024);
                    ready.send(addr).expect("report the DNS address");
                    let _ = stopped.await;
                    // Dropping the runtime ends the server's tasks.
                    drop(server);
                });
            })
            .expect("start the DNS server thread");
        let addr = bound
            .recv_timeout(Duration::from_secs(10))
            .expect("the DNS server did not start");
        DnsServer {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The address the server listens on (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:<port>`, the value for `UV_SHIM_DNS_SERVER`.
    pub fn addr_string(&self) -> String {
        self.addr.to_string()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a TXT record of one character-string under `name`.
    pub fn txt(&self, name: &str, text: &str) -> &Self {
        self.txt_strings(name, &[text])
    }

    /// Adds a TXT record made of several character-strings under `name`.
    pub fn txt_strings(&self, name: &str, strings: &[&str]) -> &Self {
        self.txt_bytes(
            name,
            &strings.iter().map(|s| s.as_bytes()).collect::<Vec<_>>(),
        )
    }

    /// Adds a TXT record of arbitrary bytes (each at most 255) under `name`.
    pub fn txt_bytes(&self, name: &str, strings: &[&[u8]]) -> &Self {
        assert!(
            strings.iter().all(|s| s.len() <= 255),
            "a character-string holds at most 255 bytes"
        );
        self.state()
            .records
            .entry(key(name))
            .or_default()
            .push(strings.iter().map(|s| s.to_vec()).collect());
        self
    }

    /// Removes every record under `name` (it becomes NXDOMAIN).
    pub fn remove(&self, name: &str) -> &Self {
        self.state().records.remove(&key(name));
        self
    }

    /// The TTL of every record served from now on.
    pub fn set_ttl(&self, ttl: u32) -> &Self {
        self.state().ttl = ttl;
        self
    }

    /// When `true`, queries are logged but never answered.
    pub fn set_silent(&self, silent: bool) -> &Self {
        self.state().silent = silent;
        self
    }

    /// How long the server waits before each answer (a slow resolver).
    pub fn set_delay(&self, delay: Duration) -> &Self {
        self.state().delay = delay;
        self
    }

    /// Every query received so far, in order.
    pub fn queries(&self) -> Vec<Query> {
        self.state().log.clone()
    }

    /// How many queries for `name` arrived (any type, any protocol).
    pub fn count(&self, name: &str) -> usize {
        let name = key(name);
        self.state().log.iter().filter(|q| q.name == name).count()
    }

    /// How many queries arrived in all.
    pub fn total(&self) -> usize {
        self.state().log.len()
    }

    /// Forgets the query log.
    pub fn clear_log(&self) {
        self.state().log.clear();
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A UDP socket and a TCP listener on the same free port of `127.0.0.1`
/// (TCP carries answers too large for UDP). The free UDP port may be taken
/// for TCP, so a few ports are tried.
async fn bind_pair() -> (tokio::net::UdpSocket, tokio::net::TcpListener, SocketAddr) {
    let mut last = None;
    for _ in 0..20 {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind DNS UDP");
        let addr = udp.local_addr().expect("DNS UDP address");
        match tokio::net::TcpListener::bind(addr).await {
            Ok(tcp) => return (udp, tcp, addr),
            Err(err) => last = Some(err),
        }
    }
    panic!("no port of 127.0.0.1 was free for both UDP and TCP: {last:?}");
}

/// A name as the server keys it: lower case, no final dot.
fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

struct Handler {
    state: Arc<Mutex<State>>,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.recursion_available = true;
        let Some(query) = request.queries.queries().first() else {
            metadata.response_code = ResponseCode::FormErr;
            return send(&mut response_handle, request, metadata, &[]).await;
        };
        let name = key(&query.name().to_string());
        let record_type = query.query_type();
        let (silent, delay, answers) = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.log.push(Query {
                name: name.clone(),
                record_type: record_type.to_string(),
                protocol: request.protocol().to_string().to_ascii_lowercase(),
            });
            let answers = state.records.get(&name).map(|records| {
                let owner = Name::from_ascii(format!("{name}.")).expect("a served name is valid");
                records
                    .iter()
                    .filter(|_| record_type == RecordType::TXT)
                    .map(|strings| {
                        let strings: Vec<&[u8]> = strings.iter().map(Vec::as_slice).collect();
                        Record::from_rdata(
                            owner.clone(),
                            state.ttl,
                            RData::TXT(TXT::from_bytes(strings)),
                        )
                    })
                    .collect::<Vec<_>>()
            });
            (state.silent, state.delay, answers)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if silent {
            // Nothing goes back: the client must give up on its own.
            return ResponseInfo::from(Header {
                metadata,
                counts: HeaderCounts::default(),
            });
        }
        match answers {
            Some(answers) => send(&mut response_handle, request, metadata, &answers).await,
            None => {
                metadata.response_code = ResponseCode::NXDomain;
                send(&mut response_handle, request, metadata, &[]).await
            }
        }
    }
}

async fn send<R: ResponseHandler>(
    response_handle: &mut R,
    request: &Request,
    metadata: Metadata,
    answers: &[Record],
) -> ResponseInfo {
    let response = MessageResponseBuilder::from_message_request(request).build(
        metadata,
        answers.iter(),
        std::iter::empty(),
        std::iter::empty(),
        std::iter::empty(),
    );
    match response_handle.send_response(response).await {
        Ok(info) => info,
        Err(err) => panic!("the test DNS server could not send its answer: {err}"),
    }
}
