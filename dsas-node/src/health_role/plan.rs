//! From `[health]` to a [`healthcheck::Config`] and, for every engine
//! checker, the [`ProbeSpec`] the driver runs for it.
//!
//! Each `url` of an HTTP_GET / SSL_GET becomes its own engine checker, so
//! every URL must pass (keepalived); an `agent` becomes an
//! [`ProbeKind::Agent`] checker.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use healthcheck::dns::{DnsConfig, QType};
use healthcheck::http::{Expect, HttpConfig, HttpSpec};
use healthcheck::smtp::SmtpConfig;
use healthcheck::udp::{UdpConfig, UdpExpect};
use healthcheck::{
    CheckerConfig, ProbeKind, Schedule, ServiceConfig, TargetConfig, TargetId, Thresholds,
};

use crate::config::health::{
    Agent, CheckKind, Checker, DnsType, HealthConfig, RealServer, VirtualServer, decode_hex,
};

use super::tls;

/// keepalived `connect_timeout` default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// TLS parameters of an SSL_GET.
#[derive(Debug, Clone)]
pub struct TlsSpec {
    /// Client configuration (shared).
    pub config: Arc<rustls::ClientConfig>,
    /// Name sent as SNI and checked when verifying.
    pub server_name: rustls::pki_types::ServerName<'static>,
}

/// What the driver runs for one engine checker.
#[derive(Debug, Clone)]
pub enum ProbeSpec {
    /// TCP connect.
    Tcp {
        /// Destination.
        addr: SocketAddr,
        /// Source.
        bind: Option<SocketAddr>,
    },
    /// HTTP(S) GET.
    Http {
        /// Destination.
        addr: SocketAddr,
        /// Source.
        bind: Option<SocketAddr>,
        /// The compiled request and pass criteria.
        spec: Arc<HttpSpec>,
        /// TLS for SSL_GET.
        tls: Option<TlsSpec>,
    },
    /// SMTP greeting / HELO / QUIT.
    Smtp {
        /// Destination.
        addr: SocketAddr,
        /// Source.
        bind: Option<SocketAddr>,
        /// HELO name.
        config: SmtpConfig,
    },
    /// DNS over UDP.
    Dns {
        /// Server.
        addr: SocketAddr,
        /// Source.
        bind: Option<SocketAddr>,
        /// Query.
        config: DnsConfig,
    },
    /// ICMP / ICMPv6 echo.
    Icmp {
        /// Destination.
        addr: IpAddr,
        /// Source.
        bind: Option<IpAddr>,
    },
    /// UDP send / expect.
    Udp {
        /// Destination.
        addr: SocketAddr,
        /// Source.
        bind: Option<SocketAddr>,
        /// Payload and expectation.
        config: UdpConfig,
    },
    /// External command.
    Misc {
        /// Program and arguments.
        argv: Vec<String>,
        /// Kill after this long.
        timeout: Duration,
        /// `misc_dynamic`.
        dynamic: bool,
    },
    /// HAProxy agent-check.
    Agent {
        /// Agent address.
        addr: SocketAddr,
        /// `agent-send` line.
        send: Option<Vec<u8>>,
    },
}

impl ProbeSpec {
    /// Short description for status and logs.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Tcp { addr, .. } => format!("TCP_CHECK {addr}"),
            Self::Http {
                addr, tls: None, ..
            } => format!("HTTP_GET {addr}"),
            Self::Http { addr, .. } => format!("SSL_GET {addr}"),
            Self::Smtp { addr, .. } => format!("SMTP_CHECK {addr}"),
            Self::Dns { addr, .. } => format!("DNS_CHECK {addr}"),
            Self::Icmp { addr, .. } => format!("PING_CHECK {addr}"),
            Self::Udp { addr, .. } => format!("UDP_CHECK {addr}"),
            Self::Misc { argv, .. } => {
                format!("MISC_CHECK {}", argv.first().map_or("", String::as_str))
            }
            Self::Agent { addr, .. } => format!("agent {addr}"),
        }
    }
}

/// One real server as the role sees it.
#[derive(Debug, Clone)]
pub struct TargetPlan {
    /// Engine id.
    pub id: TargetId,
    /// `IP:PORT`.
    pub address: SocketAddr,
    /// `notify_up` argv.
    pub notify_up: Option<Vec<String>>,
    /// `notify_down` argv.
    pub notify_down: Option<Vec<String>>,
    /// Per engine checker, its probe.
    pub probes: Vec<ProbeSpec>,
}

/// One virtual server.
#[derive(Debug, Clone)]
pub struct ServicePlan {
    /// Display name.
    pub name: String,
    /// `quorum_up` argv.
    pub quorum_up: Option<Vec<String>>,
    /// `quorum_down` argv.
    pub quorum_down: Option<Vec<String>>,
    /// `sorry_server`.
    pub sorry_server: Option<SocketAddr>,
    /// Real servers.
    pub targets: Vec<TargetPlan>,
}

/// Everything the role needs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The engine configuration.
    pub engine: healthcheck::Config,
    /// Services in engine order.
    pub services: Vec<ServicePlan>,
}

impl Plan {
    /// The probe for an engine checker.
    #[must_use]
    pub fn probe(&self, target: TargetId, checker: usize) -> Option<&ProbeSpec> {
        self.target(target)?.probes.get(checker)
    }

    /// A target.
    #[must_use]
    pub fn target(&self, target: TargetId) -> Option<&TargetPlan> {
        self.services
            .get(target.service)?
            .targets
            .get(target.target)
    }
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn argv(line: Option<&str>) -> Option<Vec<String>> {
    line.and_then(crate::notify::split_command)
}

fn qtype(t: DnsType) -> QType {
    match t {
        DnsType::A => QType::A,
        DnsType::NS => QType::Ns,
        DnsType::CNAME => QType::Cname,
        DnsType::SOA => QType::Soa,
        DnsType::MX => QType::Mx,
        DnsType::TXT => QType::Txt,
        DnsType::AAAA => QType::Aaaa,
    }
}

/// Builds the plan (the configuration was validated by
/// [`crate::config::parse`]; what remains fallible is reading a CA file).
///
/// # Errors
/// A configuration the engine or a conversation rejects, or an unreadable
/// `ca_file`.
pub fn build(cfg: &HealthConfig, seed: u64) -> io::Result<Plan> {
    let mut engine = healthcheck::Config {
        seed: cfg.seed.unwrap_or(seed),
        services: Vec::new(),
    };
    let mut services = Vec::new();
    for (s, vs) in cfg.virtual_server.iter().enumerate() {
        let mut svc = ServiceConfig {
            quorum: vs.quorum,
            hysteresis: vs.hysteresis,
            sorry_server: vs.sorry_server.is_some(),
            omega: vs.omega,
            outlier: None,
            targets: Vec::new(),
        };
        let mut targets = Vec::new();
        for (t, rs) in vs.real_server.iter().enumerate() {
            let mut tc = TargetConfig {
                weight: rs.weight,
                alpha: vs.alpha,
                inhibit_on_failure: rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure),
                checkers: Vec::new(),
            };
            let mut probes = Vec::new();
            for (kind, _, c) in rs.checkers() {
                for (cc, probe) in checker(vs, rs, kind, c)? {
                    tc.checkers.push(cc);
                    probes.push(probe);
                }
            }
            if let Some(a) = &rs.agent {
                let (cc, probe) = agent(rs, a);
                tc.checkers.push(cc);
                probes.push(probe);
            }
            svc.targets.push(tc);
            targets.push(TargetPlan {
                id: TargetId {
                    service: s,
                    target: t,
                },
                address: rs.address(),
                notify_up: argv(rs.notify_up.as_deref()),
                notify_down: argv(rs.notify_down.as_deref()),
                probes,
            });
        }
        engine.services.push(svc);
        services.push(ServicePlan {
            name: vs.display_name(),
            quorum_up: argv(vs.quorum_up.as_deref()),
            quorum_down: argv(vs.quorum_down.as_deref()),
            sorry_server: vs.sorry_server.map(|s| s.0),
            targets,
        });
    }
    Ok(Plan { engine, services })
}

fn agent(rs: &RealServer, a: &Agent) -> (CheckerConfig, ProbeSpec) {
    let cc = CheckerConfig {
        kind: ProbeKind::Agent,
        schedule: Schedule {
            interval: a.inter,
            timeout: a.timeout.unwrap_or(a.inter),
            warmup: None,
            fast_interval: None,
            down_interval: None,
        },
        thresholds: Thresholds::HAPROXY,
    };
    let mut send = a.send.clone().map(String::into_bytes);
    if let Some(s) = &mut send
        && !s.ends_with(b"\n")
    {
        s.push(b'\n');
    }
    let probe = ProbeSpec::Agent {
        addr: SocketAddr::new(a.addr.unwrap_or(rs.ip), a.port),
        send,
    };
    (cc, probe)
}

fn checker(
    vs: &VirtualServer,
    rs: &RealServer,
    kind: CheckKind,
    c: &Checker,
) -> io::Result<Vec<(CheckerConfig, ProbeSpec)>> {
    let interval = c.delay_loop.or(rs.delay_loop).unwrap_or(vs.delay_loop);
    let timeout = match kind {
        CheckKind::Misc => c.misc_timeout.unwrap_or(interval),
        _ => c.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
    };
    let rise = c.rise.or(vs.rise);
    let fall = c.fall.or(vs.fall);
    let thresholds = if rise.is_some() || fall.is_some() {
        Thresholds::Haproxy {
            rise: rise.unwrap_or(2),
            fall: fall.unwrap_or(3),
        }
    } else {
        Thresholds::Keepalived {
            retry: c.retry.unwrap_or(kind.default_retry()),
            delay_before_retry: c
                .delay_before_retry
                .unwrap_or(kind.default_delay_before_retry(interval)),
        }
    };
    let cc = CheckerConfig {
        kind: ProbeKind::Tcp,
        schedule: Schedule {
            interval,
            timeout,
            warmup: c.warmup.or(vs.warmup),
            fast_interval: c.fastinter.or(vs.fastinter),
            down_interval: c.downinter.or(vs.downinter),
        },
        thresholds,
    };
    let ip = c.connect_ip.unwrap_or(rs.ip);
    let default_port = if kind == CheckKind::Dns { 53 } else { rs.port };
    let addr = SocketAddr::new(ip, c.connect_port.unwrap_or(default_port));
    let bind = c
        .bind_to
        .map(|b| SocketAddr::new(b, c.bind_port.unwrap_or(0)))
        .or_else(|| {
            c.bind_port.map(|p| {
                let any = if ip.is_ipv4() {
                    IpAddr::from([0u8; 4])
                } else {
                    IpAddr::from([0u8; 16])
                };
                SocketAddr::new(any, p)
            })
        });
    let with = |k: ProbeKind| CheckerConfig { kind: k, ..cc };
    Ok(match kind {
        CheckKind::Tcp => vec![(with(ProbeKind::Tcp), ProbeSpec::Tcp { addr, bind })],
        CheckKind::Http | CheckKind::Ssl => {
            let tls_spec = (kind == CheckKind::Ssl)
                .then_some(())
                .map(|()| tls::client_config(c));
            let mut out = Vec::new();
            for url in &c.url {
                let host = url
                    .virtualhost
                    .clone()
                    .or_else(|| c.virtualhost.clone())
                    .or_else(|| vs.virtualhost.clone());
                let host_header = host.clone().unwrap_or_else(|| match addr {
                    SocketAddr::V6(a) if a.port() == 80 && kind == CheckKind::Http => {
                        format!("[{}]", a.ip())
                    }
                    SocketAddr::V4(a) if a.port() == 80 && kind == CheckKind::Http => {
                        a.ip().to_string()
                    }
                    SocketAddr::V4(a) if a.port() == 443 && kind == CheckKind::Ssl => {
                        a.ip().to_string()
                    }
                    _ => addr.to_string(),
                });
                let mut hc = HttpConfig::new(&url.path, &host_header);
                hc.user_agent = "dsas-node".to_owned();
                hc.digest.clone_from(&url.digest);
                hc.expect = url.regex.clone().map(Expect::Regex);
                if let Some(s) = &url.status_code {
                    hc.status.clone_from(s);
                }
                let spec = HttpSpec::new(&hc)
                    .map_err(|e| bad(format!("{} {}: {e}", kind.keyword(), url.path)))?;
                let tls = match &tls_spec {
                    None => None,
                    Some(Err(e)) => return Err(io::Error::new(e.kind(), e.to_string())),
                    Some(Ok(config)) => Some(TlsSpec {
                        config: Arc::clone(config),
                        server_name: tls::server_name(
                            c.enable_sni
                                .unwrap_or(false)
                                .then_some(host.as_deref())
                                .flatten(),
                            ip,
                        ),
                    }),
                };
                let probe_kind = if tls.is_some() {
                    ProbeKind::Https
                } else {
                    ProbeKind::Http
                };
                out.push((
                    with(probe_kind),
                    ProbeSpec::Http {
                        addr,
                        bind,
                        spec,
                        tls,
                    },
                ));
            }
            out
        }
        CheckKind::Smtp => {
            let mut config = SmtpConfig::default();
            if let Some(h) = &c.helo_name {
                config.helo_name.clone_from(h);
            }
            vec![(
                with(ProbeKind::Smtp),
                ProbeSpec::Smtp { addr, bind, config },
            )]
        }
        CheckKind::Dns => {
            let mut config = DnsConfig::default();
            if let Some(n) = &c.name {
                config.name.clone_from(n);
            }
            if let Some(t) = c.dns_type {
                config.qtype = qtype(t);
            }
            if let Some(r) = c.require_answer {
                config.require_answer = r;
            }
            vec![(with(ProbeKind::Dns), ProbeSpec::Dns { addr, bind, config })]
        }
        CheckKind::Ping => vec![(
            with(ProbeKind::Icmp),
            ProbeSpec::Icmp {
                addr: ip,
                bind: c.bind_to,
            },
        )],
        CheckKind::Udp => {
            let hex = |s: &Option<String>| s.as_deref().and_then(decode_hex);
            let payload = hex(&c.payload).unwrap_or_default();
            let expect = hex(&c.reply_data).map(|data| {
                let mask = hex(&c.reply_mask).unwrap_or_else(|| vec![0xff; data.len()]);
                UdpExpect {
                    min_len: c.min_reply_length.unwrap_or(data.len()),
                    max_len: c.max_reply_length.unwrap_or(usize::MAX),
                    data,
                    mask,
                }
            });
            let expect = expect.or_else(|| {
                (c.min_reply_length.is_some() || c.max_reply_length.is_some()).then(|| UdpExpect {
                    data: Vec::new(),
                    mask: Vec::new(),
                    min_len: c.min_reply_length.unwrap_or(0),
                    max_len: c.max_reply_length.unwrap_or(usize::MAX),
                })
            });
            vec![(
                with(ProbeKind::Udp),
                ProbeSpec::Udp {
                    addr,
                    bind,
                    config: UdpConfig { payload, expect },
                },
            )]
        }
        CheckKind::Misc => {
            let argv = argv(c.misc_path.as_deref())
                .ok_or_else(|| bad("MISC_CHECK: empty misc_path".to_owned()))?;
            vec![(
                with(ProbeKind::Misc),
                ProbeSpec::Misc {
                    argv,
                    timeout,
                    dynamic: c.misc_dynamic.unwrap_or(false),
                },
            )]
        }
    })
}
