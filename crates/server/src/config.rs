//! Server configuration: one TOML file, then `ROTA_*` environment overrides, then flags
//! (applied by the binary). Unknown keys are refused.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A role a token grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Route and report, only for the borrower symbols bound to the token.
    Frontend,
    /// Weight profiles, lender policies, simulation; routing for anyone.
    Ops,
    /// Everything, including the catalogue.
    Admin,
}

/// A bearer token, stored hashed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who (appears in logs and the admin change log).
    pub name: String,
    /// SHA-256 of the token, lowercase hex (`rota token hash TOKEN` prints it).
    pub sha256: String,
    /// Role.
    pub role: Role,
    /// Borrower symbols a frontend token may act for.
    #[serde(default)]
    pub borrowers: Vec<String>,
}

/// TLS files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Limits that keep the server's memory bounded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest message accepted, bytes.
    pub max_message_bytes: usize,
    /// Calls in flight across the server (streams for as long as they run) before new
    /// ones are answered RESOURCE_EXHAUSTED.
    pub max_in_flight: usize,
    /// Longest a call may wait for a core (title searches), milliseconds, before it is
    /// answered RESOURCE_EXHAUSTED instead.
    pub max_queue_ms: u64,
    /// Items on one RouteBatch / Report / holdings stream.
    pub max_stream_items: u64,
    /// Appends waiting for the log writer.
    pub log_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 4 << 20,
            max_in_flight: 4096,
            max_queue_ms: 10,
            max_stream_items: 10_000_000,
            log_queue: 65_536,
        }
    }
}

/// The ISO 18626 front: messages POSTed to `/iso18626`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Iso18626Config {
    /// Address to listen on (none = off, the default with a config file; `rota serve`
    /// without one, the loopback demo, listens on 127.0.0.1:9466).
    pub listen: Option<SocketAddr>,
    /// The broker's own agency id, `TYPE:VALUE` (none = no broker: messages are only
    /// observed). A request addressed to it, or to no supplier, is routed and forwarded.
    pub agency: Option<String>,
    /// A lender's endpoint when its directory entry gives none: an address with
    /// `{symbol}` in it (one platform hosting many libraries), or none.
    pub lender_endpoint: Option<String>,
    /// How long a lender may leave a forwarded request unanswered before the broker
    /// cancels it there and moves on, seconds (default 4 days, what borrowing systems
    /// allow).
    pub answer_timeout_secs: u64,
    /// First wait before a message a peer did not confirm is sent again, seconds
    /// (doubling up to an hour).
    pub resend_secs: u64,
    /// Most lenders the broker asks for one request.
    pub max_lenders: u32,
    /// Time for the live availability lookups of one request, all lenders together,
    /// milliseconds.
    pub availability_budget_ms: u64,
    /// How many of the top candidates' catalogues are asked (those with a `lookup`).
    pub availability_lenders: u32,
    /// How long a catalogue's answer is reused, seconds.
    pub availability_cache_secs: u64,
    /// The broker's transaction store (default `broker.sqlite` in the data directory).
    pub store: Option<PathBuf>,
}

impl Default for Iso18626Config {
    fn default() -> Self {
        Iso18626Config {
            listen: None,
            agency: None,
            lender_endpoint: None,
            answer_timeout_secs: 4 * 86_400,
            resend_secs: 30,
            max_lenders: 10,
            availability_budget_ms: 300,
            availability_lenders: 5,
            availability_cache_secs: 600,
            store: None,
        }
    }
}

/// The operators' console (`[console]`): web pages and their JSON twins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Address to listen on (none = off, the default with a config file; the loopback
    /// demo listens on 127.0.0.1:8080).
    pub listen: Option<SocketAddr>,
    /// How long a login lasts without use, minutes.
    pub session_minutes: u64,
    /// Mark the session cookie `Secure` (set it when a TLS proxy fronts the console).
    pub secure_cookie: bool,
    /// Days of routed requests and events the console keeps for its request stories and
    /// activity reports (`history.sqlite` in the data directory).
    pub history_days: u32,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            listen: None,
            session_minutes: 8 * 60,
            secure_cookie: false,
            history_days: 400,
        }
    }
}

/// Where the loopback demo serves the console.
pub const DEMO_CONSOLE: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// The demo broker's agency id.
pub const DEMO_AGENCY: &str = "ISIL:ROTA";

/// Where `rota peer` listens by default.
pub const DEMO_PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9467);

/// The demo broker's lenders: every one is `rota peer` on its default address.
pub const DEMO_LENDER_ENDPOINT: &str = "http://127.0.0.1:9467/iso18626/{symbol}";

/// Where the loopback demo listens for ISO 18626 messages.
pub const DEMO_ISO18626: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9466);

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// gRPC address.
    pub listen: SocketAddr,
    /// Prometheus metrics address (none = off).
    pub metrics_listen: Option<SocketAddr>,
    /// The ISO 18626 front (`[iso18626]`).
    pub iso18626: Iso18626Config,
    /// The operators' console (`[console]`).
    pub console: ConsoleConfig,
    /// Durable log and state checkpoints.
    pub data_dir: PathBuf,
    /// Catalogue snapshot (none = generate the demo consortium).
    pub snapshot: Option<PathBuf>,
    /// Lender directory (none = generate one for the catalogue's libraries).
    pub directory: Option<PathBuf>,
    /// Extra weight profile files.
    pub profiles: Vec<PathBuf>,
    /// Tokens. Empty is allowed only on a loopback address.
    pub tokens: Vec<TokenConfig>,
    /// TLS (none = plaintext).
    pub tls: Option<TlsConfig>,
    /// Limits.
    pub limits: Limits,
    /// Write a state checkpoint after this many log records.
    pub checkpoint_every: u64,
    /// Keep log segments a checkpoint covers for this many days in `log/archive/`, for
    /// `rota simulate --replay` (0: delete them at once).
    pub log_archive_days: u32,
    /// Demo consortium size (records) when no snapshot is given.
    pub demo_records: usize,
    /// Demo consortium size (libraries).
    pub demo_libraries: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:50051"
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 50051))),
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            iso18626: Iso18626Config::default(),
            console: ConsoleConfig::default(),
            data_dir: default_data_dir(),
            snapshot: None,
            directory: None,
            profiles: Vec::new(),
            tokens: Vec::new(),
            tls: None,
            limits: Limits::default(),
            checkpoint_every: 100_000,
            log_archive_days: 30,
            demo_records: 1_000_000,
            demo_libraries: 300,
        }
    }
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("rota")
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Cannot read the file.
    #[error("cannot read config {0}: {1}")]
    Io(String, std::io::Error),
    /// Bad TOML or unknown key.
    #[error("config {0}: {1}")]
    Parse(String, String),
    /// Bad environment value.
    #[error("environment variable {0}: {1}")]
    Env(String, String),
    /// Inconsistent settings.
    #[error("config: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<Config, ConfigError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io(p.clone(), e))?;
        toml::from_str(&text)
            .map_err(|e| ConfigError::Parse(p, e.to_string().trim().replace('\n', " ")))
    }

    /// Applies `ROTA_LISTEN`, `ROTA_METRICS_LISTEN`, `ROTA_ISO18626_LISTEN` and
    /// `ROTA_CONSOLE_LISTEN` (`off` disables), `ROTA_DATA_DIR`,
    /// `ROTA_SNAPSHOT`, `ROTA_DIRECTORY`, `ROTA_CHECKPOINT_EVERY`, `ROTA_MAX_IN_FLIGHT`.
    /// Any other `ROTA_` variable is refused, as an unknown config key would be.
    pub fn apply_env(
        &mut self,
        vars: impl Iterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        const KNOWN: &[&str] = &[
            "ROTA_LISTEN",
            "ROTA_METRICS_LISTEN",
            "ROTA_ISO18626_LISTEN",
            "ROTA_CONSOLE_LISTEN",
            "ROTA_DATA_DIR",
            "ROTA_SNAPSHOT",
            "ROTA_DIRECTORY",
            "ROTA_CHECKPOINT_EVERY",
            "ROTA_LOG_ARCHIVE_DAYS",
            "ROTA_MAX_IN_FLIGHT",
            "ROTA_MAX_QUEUE_MS",
            // used by other tools, not the server
            "ROTA_DATA_CACHE",
            "ROTA_SHARED_DATA",
            "ROTA_LOG",
            "ROTA_TOKEN",
        ];
        for (k, v) in vars {
            if !k.starts_with("ROTA_") {
                continue;
            }
            let bad = |m: String| ConfigError::Env(k.clone(), m);
            match k.as_str() {
                "ROTA_LISTEN" => self.listen = v.parse().map_err(|e| bad(format!("{v:?}: {e}")))?,
                "ROTA_METRICS_LISTEN" => {
                    self.metrics_listen = if v == "off" {
                        None
                    } else {
                        Some(v.parse().map_err(|e| bad(format!("{v:?}: {e}")))?)
                    }
                }
                "ROTA_ISO18626_LISTEN" => {
                    self.iso18626.listen = if v == "off" {
                        // no front, no broker
                        self.iso18626.agency = None;
                        None
                    } else {
                        Some(v.parse().map_err(|e| bad(format!("{v:?}: {e}")))?)
                    }
                }
                "ROTA_CONSOLE_LISTEN" => {
                    self.console.listen = if v == "off" {
                        None
                    } else {
                        Some(v.parse().map_err(|e| bad(format!("{v:?}: {e}")))?)
                    }
                }
                "ROTA_DATA_DIR" => self.data_dir = v.into(),
                "ROTA_SNAPSHOT" => self.snapshot = Some(v.into()),
                "ROTA_DIRECTORY" => self.directory = Some(v.into()),
                "ROTA_LOG_ARCHIVE_DAYS" => {
                    self.log_archive_days = v.parse().map_err(|e| bad(format!("{v:?}: {e}")))?
                }
                "ROTA_CHECKPOINT_EVERY" => {
                    self.checkpoint_every = v.parse().map_err(|e| bad(format!("{v:?}: {e}")))?
                }
                "ROTA_MAX_IN_FLIGHT" => {
                    self.limits.max_in_flight = v.parse().map_err(|e| bad(format!("{v:?}: {e}")))?
                }
                "ROTA_MAX_QUEUE_MS" => {
                    self.limits.max_queue_ms = v.parse().map_err(|e| bad(format!("{v:?}: {e}")))?
                }
                _ if KNOWN.contains(&k.as_str()) => {}
                _ => {
                    return Err(bad(format!(
                        "unknown setting; known: {}",
                        KNOWN[..10].join(", ")
                    )));
                }
            }
        }
        Ok(())
    }

    /// Checks the rules: tokens required off loopback, hashes well-formed, limits sane.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tokens.is_empty() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::Invalid(format!(
                "refusing to listen on {} without tokens: configure [[tokens]] or listen on 127.0.0.1",
                self.listen
            )));
        }
        if let Some(c) = self.console.listen
            && self.tokens.is_empty()
            && !c.ip().is_loopback()
        {
            return Err(ConfigError::Invalid(format!(
                "refusing to serve the console on {c} without tokens: configure [[tokens]] or listen on 127.0.0.1"
            )));
        }
        if self.console.session_minutes == 0 {
            return Err(ConfigError::Invalid(
                "console.session_minutes must be at least 1".into(),
            ));
        }
        for t in &self.tokens {
            if t.sha256.len() != 64
                || !t
                    .sha256
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            {
                return Err(ConfigError::Invalid(format!(
                    "token {:?}: sha256 must be 64 lowercase hex characters",
                    t.name
                )));
            }
            if t.role == Role::Frontend && t.borrowers.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "token {:?}: a frontend token must list the borrower symbols it acts for",
                    t.name
                )));
            }
        }
        if self.limits.max_in_flight == 0
            || self.limits.max_queue_ms == 0
            || self.limits.max_message_bytes < 1024
            || self.limits.log_queue == 0
        {
            return Err(ConfigError::Invalid(
                "limits must be positive (max_message_bytes ≥ 1024)".into(),
            ));
        }
        if self.checkpoint_every == 0 {
            return Err(ConfigError::Invalid(
                "checkpoint_every must be at least 1".into(),
            ));
        }
        let i = &self.iso18626;
        if let Some(a) = &i.agency
            && !a
                .split_once(':')
                .is_some_and(|(t, v)| !t.trim().is_empty() && !v.trim().is_empty())
        {
            return Err(ConfigError::Invalid(format!(
                "iso18626.agency {a:?} is not TYPE:VALUE (e.g. ISIL:XX-ROTA)"
            )));
        }
        if let Some(t) = &i.lender_endpoint
            && !((t.starts_with("http://") || t.starts_with("https://")) && t.contains("{symbol}"))
        {
            return Err(ConfigError::Invalid(format!(
                "iso18626.lender_endpoint {t:?} must be an http(s) address with {{symbol}} in it"
            )));
        }
        if i.answer_timeout_secs == 0 || i.resend_secs == 0 || i.max_lenders == 0 {
            return Err(ConfigError::Invalid(
                "iso18626.answer_timeout_secs, resend_secs and max_lenders must be at least 1"
                    .into(),
            ));
        }
        if i.agency.is_some() && i.listen.is_none() {
            return Err(ConfigError::Invalid(
                "iso18626.agency is set but iso18626.listen is not: lenders could not answer the broker"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Checks that every file the configuration names is there to read, so a server
    /// that cannot start says so before it listens, naming the key and the file.
    pub fn check_files(&self) -> Result<(), ConfigError> {
        let named = self
            .snapshot
            .iter()
            .map(|p| ("snapshot", p))
            .chain(self.directory.iter().map(|p| ("directory", p)))
            .chain(self.profiles.iter().map(|p| ("profiles", p)))
            .chain(
                self.tls
                    .iter()
                    .flat_map(|t| [("tls.cert", &t.cert), ("tls.key", &t.key)]),
            );
        for (key, path) in named {
            if let Err(e) = std::fs::File::open(path) {
                return Err(ConfigError::Invalid(format!(
                    "{key}: cannot read {}: {e}",
                    path.display()
                )));
            }
            if path.is_dir() {
                return Err(ConfigError::Invalid(format!(
                    "{key}: {} is a directory, not a file",
                    path.display()
                )));
            }
        }
        Ok(())
    }
}

/// SHA-256 of a token, lowercase hex (what the config stores).
pub fn hash_token(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_env_are_refused() {
        assert!(toml::from_str::<Config>("listen = \"127.0.0.1:1\"\nlisten_port = 3\n").is_err());
        let mut c = Config::default();
        assert!(
            c.apply_env([("ROTA_LISTN".to_string(), "x".to_string())].into_iter())
                .is_err()
        );
        c.apply_env([("ROTA_LISTEN".to_string(), "127.0.0.1:7000".to_string())].into_iter())
            .unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert!(
            c.apply_env([("ROTA_LISTEN".to_string(), "nope".to_string())].into_iter())
                .is_err()
        );
    }

    #[test]
    fn the_deploy_example_parses_and_validates() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/rota.toml");
        let c = Config::from_file(&p).unwrap();
        c.validate().unwrap();
        assert_eq!(c.tokens.len(), 3);
    }

    #[test]
    fn broker_settings_are_checked() {
        let with = |f: &dyn Fn(&mut Iso18626Config)| {
            let mut c = Config::default();
            c.iso18626.listen = Some(DEMO_ISO18626);
            c.iso18626.agency = Some("ISIL:ROTA".into());
            f(&mut c.iso18626);
            c.validate().map_err(|e| e.to_string())
        };
        with(&|_| {}).unwrap();
        let e = with(&|i| i.agency = Some("ROTA".into())).unwrap_err();
        assert!(
            e.contains("iso18626.agency") && e.contains("TYPE:VALUE"),
            "{e}"
        );
        let e = with(&|i| i.lender_endpoint = Some("http://peer/iso18626".into())).unwrap_err();
        assert!(e.contains("{symbol}"), "{e}");
        let e = with(&|i| i.answer_timeout_secs = 0).unwrap_err();
        assert!(e.contains("answer_timeout_secs"), "{e}");
        let e = with(&|i| i.listen = None).unwrap_err();
        assert!(e.contains("iso18626.listen"), "{e}");
    }

    #[test]
    fn no_tokens_only_on_loopback() {
        let mut c = Config::default();
        c.validate().unwrap();
        c.listen = "0.0.0.0:50051".parse().unwrap();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("without tokens")
        );
        c.tokens.push(TokenConfig {
            name: "ill".into(),
            sha256: hash_token("secret"),
            role: Role::Frontend,
            borrowers: vec!["L00001".into()],
        });
        c.validate().unwrap();
    }
}
