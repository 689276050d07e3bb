//! The server's state: the engine (swapped atomically on reload and admin changes), the
//! live lender state, the durable log, and checkpoints.
//!
//! Reads (routing) take a snapshot of the engine (`ArcSwap`) and a read lock on the live
//! state; writes go through the log, whose writer thread applies them in log order.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::ArcSwap;
use rota_catalog::{Catalog, DeltaOp};
use rota_routing::{Directory, Engine, Lender, LiveState, Profile};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::log::{self, LogHandle, LogRecord};

/// Everything a request handler needs.
pub struct App {
    /// The engine in force.
    pub engine: ArcSwap<Engine>,
    /// Live lender state.
    pub live: RwLock<LiveState>,
    /// The durable log.
    pub log: LogHandle,
    /// Configuration.
    pub config: Config,
    /// Versions of profiles and lenders (optimistic concurrency).
    pub versions: Mutex<Versions>,
    /// Holdings changes applied since the base snapshot (for checkpoints).
    pub holdings_ops: Mutex<Vec<DeltaOp>>,
    /// Last durable sequence applied.
    pub applied_seq: AtomicU64,
    /// Base snapshot path.
    pub snapshot_path: PathBuf,
    /// Serialises checkpoints.
    checkpoint_lock: Mutex<()>,
    /// Sequence of the last checkpoint.
    last_checkpoint: AtomicU64,
    /// A checkpoint is being written in the background.
    checkpointing: std::sync::atomic::AtomicBool,
    /// Serialises admin changes (version check + append).
    pub admin_lock: tokio::sync::Mutex<()>,
    /// What happened, for the console (on when the console is).
    pub history: Option<crate::history::History>,
}

/// A checkpoint's contents before serialisation.
struct Captured {
    seq: u64,
    live: LiveState,
    lenders: Vec<Lender>,
    profiles: Vec<Profile>,
    holdings_ops: Vec<DeltaOp>,
    versions: Versions,
}

/// Versions per name.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Versions {
    /// Profile name → version.
    pub profiles: HashMap<String, u64>,
    /// Lender symbol → version.
    pub lenders: HashMap<String, u64>,
}

/// A state checkpoint: enough, with the base snapshot and the log after `seq`, to rebuild
/// everything (see [`crate::restore`]).
#[derive(Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub(crate) seq: u64,
    pub(crate) live: LiveState,
    pub(crate) lenders: Vec<Lender>,
    pub(crate) profiles: Vec<Profile>,
    pub(crate) holdings_ops: Vec<DeltaOp>,
    pub(crate) versions: Versions,
}

/// Startup failures.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Catalogue.
    #[error("catalogue: {0}")]
    Catalog(#[from] rota_catalog::SnapshotError),
    /// Directory.
    #[error("directory: {0}")]
    Directory(#[from] rota_routing::DirectoryError),
    /// Profile.
    #[error("profile: {0}")]
    Profile(#[from] rota_routing::ProfileError),
    /// Log.
    #[error("{0}")]
    Log(#[from] log::LogError),
    /// The data directory holds another consortium's state.
    #[error(
        "data dir {data_dir} holds another consortium's state: {foreign} of the {lenders} lenders in its checkpoint hold nothing in this catalogue; serve this catalogue from its own --data-dir (or move the old state away)"
    )]
    OtherConsortium {
        /// The data directory.
        data_dir: String,
        /// Lenders in the checkpoint.
        lenders: usize,
        /// Of those, how many are not libraries of this catalogue.
        foreign: usize,
    },
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// Why a durable record no longer applies (it was checked before it was logged: a
/// lender removed or a snapshot swapped since is the only way here).
#[derive(Debug, thiserror::Error)]
enum ApplyError {
    #[error("event: {0}")]
    Event(#[from] rota_routing::EventError),
    #[error("profile: {0}")]
    Profile(#[from] rota_routing::ProfileError),
    #[error("lender: {0}")]
    Directory(#[from] rota_routing::DirectoryError),
    #[error("holdings: {0}")]
    Holdings(#[from] rota_catalog::DeltaError),
}

/// Applies one durable record to the engine and live state; a version is recorded only
/// when its change took effect.
fn apply_record(
    engine: &ArcSwap<Engine>,
    live: &RwLock<LiveState>,
    versions: &Mutex<Versions>,
    ops_log: &Mutex<Vec<DeltaOp>>,
    rec: &LogRecord,
) -> Result<(), ApplyError> {
    match rec {
        LogRecord::Event(e) => {
            let eng = engine.load();
            let mut l = live.write().unwrap_or_else(|p| p.into_inner());
            l.apply(eng.directory(), e)?;
            metrics::counter!(crate::telemetry::EVENTS_APPLIED).increment(1);
        }
        LogRecord::Profile {
            profile, version, ..
        } => {
            let eng = engine.load();
            let mut profiles: Vec<Profile> = eng.profiles().into_iter().cloned().collect();
            profiles.retain(|p| p.name != profile.name);
            profiles.push(profile.clone());
            let e = Engine::new(eng.catalog().clone(), eng.directory().clone(), profiles)?;
            engine.store(Arc::new(e));
            versions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .profiles
                .insert(profile.name.clone(), *version);
        }
        LogRecord::Lender {
            lender, version, ..
        } => {
            let eng = engine.load();
            let mut lenders: Vec<Lender> = eng.directory().lenders().to_vec();
            match lenders.iter_mut().find(|l| l.symbol == lender.symbol) {
                Some(slot) => *slot = (**lender).clone(),
                // appended, so existing lender indices (and the live state) stay valid
                None => lenders.push((**lender).clone()),
            }
            let d = Directory::new(lenders, "(admin)")?;
            let profiles: Vec<Profile> = eng.profiles().into_iter().cloned().collect();
            let e = Engine::new(eng.catalog().clone(), Arc::new(d), profiles)?;
            live.write()
                .unwrap_or_else(|p| p.into_inner())
                .resize(e.directory().len());
            engine.store(Arc::new(e));
            versions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .lenders
                .insert(lender.symbol.clone(), *version);
        }
        LogRecord::Holdings { ops, .. } => {
            let eng = engine.load();
            let c = eng.catalog().with_delta(ops)?;
            engine.store(Arc::new(eng.with_catalog(Arc::new(c))));
            ops_log
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(ops.iter().cloned());
        }
    }
    Ok(())
}

/// [`apply_record`], with a record that no longer applies logged and passed over: the
/// log keeps it, and it was valid when it was accepted.
fn apply_logged(
    engine: &ArcSwap<Engine>,
    live: &RwLock<LiveState>,
    versions: &Mutex<Versions>,
    ops_log: &Mutex<Vec<DeltaOp>>,
    seq: u64,
    rec: &LogRecord,
) {
    if let Err(e) = apply_record(engine, live, versions, ops_log, rec) {
        tracing::warn!(seq, error = %e, "a logged record no longer applies; passed over");
        metrics::counter!(crate::telemetry::LOG_NOT_APPLIED).increment(1);
    }
}

impl App {
    /// Loads the catalogue, directory and profiles, restores the last checkpoint, replays
    /// the log after it, and starts the log writer.
    pub fn start(
        config: Config,
        catalog: Catalog,
        snapshot_path: PathBuf,
        directory: Directory,
    ) -> Result<Arc<App>, StartError> {
        let mut profiles = Vec::new();
        for p in &config.profiles {
            let text = std::fs::read_to_string(p)
                .map_err(|e| StartError::Other(format!("{}: {e}", p.display())))?;
            profiles.push(Profile::parse(&text, false)?);
        }
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            StartError::Other(format!("data dir {}: {e}", config.data_dir.display()))
        })?;
        let log_dir = config.data_dir.join("log");
        let catalog = Arc::new(catalog);
        let (engine, live, from_seq, versions, holdings_ops) =
            match crate::restore::restore(&config.data_dir, &catalog, &directory, &profiles)? {
                Some(r) => (r.engine, r.live, r.seq, r.versions, r.holdings_ops),
                None => {
                    let engine = Engine::new(catalog, Arc::new(directory), profiles)?;
                    let live = engine.new_state();
                    (engine, live, 0, Versions::default(), Vec::new())
                }
            };
        let history = match config.console.listen {
            Some(_) => Some(
                crate::history::History::open(
                    &config.data_dir.join("history.sqlite"),
                    config.console.history_days,
                )
                .map_err(|e| StartError::Other(e.to_string()))?,
            ),
            None => None,
        };
        let (records, next) = log::replay(&log_dir)?;
        let engine = ArcSwap::from_pointee(engine);
        let live = RwLock::new(live);
        let versions = Mutex::new(versions);
        let ops = Mutex::new(holdings_ops);
        let mut replayed = 0u64;
        let mut last = from_seq;
        for (seq, rec) in &records {
            if *seq > from_seq {
                apply_logged(&engine, &live, &versions, &ops, *seq, rec);
                if let Some(h) = &history {
                    h.logged(*seq, rec, engine.load().catalog());
                }
                replayed += 1;
                last = *seq;
            }
        }
        tracing::info!(replayed, next_seq = next, "replayed durable log");
        // the writer thread applies through a weak handle so the app can be dropped
        let slot: Arc<Mutex<Option<std::sync::Weak<App>>>> = Arc::new(Mutex::new(None));
        let slot2 = slot.clone();
        let observe: log::SyncObserver = Box::new(|n, d| {
            metrics::histogram!(crate::telemetry::LOG_FSYNC).record(d.as_secs_f64());
            metrics::counter!(crate::telemetry::LOG_RECORDS).increment(n as u64);
        });
        let handle = log::start(
            &log_dir,
            next.max(from_seq + 1),
            move |recs| {
                // a poisoned slot still holds its handle (an Option, set once): skipping
                // the records would drop acknowledged changes from the engine
                let app = slot2
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                    .and_then(std::sync::Weak::upgrade);
                if let Some(app) = app {
                    for (seq, r) in recs {
                        apply_logged(
                            &app.engine,
                            &app.live,
                            &app.versions,
                            &app.holdings_ops,
                            *seq,
                            r,
                        );
                        app.applied_seq.store(*seq, Ordering::Release);
                        if let Some(h) = &app.history {
                            h.logged(*seq, r, app.engine.load().catalog());
                        }
                    }
                    app.maybe_checkpoint();
                }
            },
            observe,
            config.limits.log_queue,
            config.log_archive_days,
        )?;
        let app = Arc::new(App {
            engine,
            live,
            log: handle,
            config,
            versions,
            holdings_ops: ops,
            applied_seq: AtomicU64::new(last),
            snapshot_path,
            checkpoint_lock: Mutex::new(()),
            last_checkpoint: AtomicU64::new(from_seq),
            checkpointing: std::sync::atomic::AtomicBool::new(false),
            admin_lock: tokio::sync::Mutex::new(()),
            history,
        });
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::downgrade(&app));
        Ok(app)
    }

    /// Starts a checkpoint when enough records have accumulated since the last one.
    /// Called by the log writer after applying a batch: the state is copied there (so the
    /// copy and the applied sequence agree exactly), and serialised and written by
    /// another thread, so the writer, and every event waiting for it, is held up only
    /// for the copy. Writing it on the writer thread stalled event reporting for as long
    /// as serialising the whole state took (seconds, once the state held a million open
    /// requests).
    fn maybe_checkpoint(self: &Arc<Self>) {
        let seq = self.applied_seq.load(Ordering::Acquire);
        let last = self.last_checkpoint.load(Ordering::Relaxed);
        if seq < last + self.config.checkpoint_every
            || self.checkpointing.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let captured = self.capture();
        let app = self.clone();
        let spawned = std::thread::Builder::new()
            .name("rota-checkpoint".into())
            .spawn(move || {
                if let Err(e) = app.write_checkpoint(captured) {
                    tracing::warn!(error = %e, "checkpoint failed; the log still has everything");
                }
                app.checkpointing.store(false, Ordering::Release);
            });
        if let Err(e) = spawned {
            self.checkpointing.store(false, Ordering::Release);
            tracing::warn!(error = %e, "checkpoint not started; the log still has everything");
        }
    }

    /// Everything a checkpoint holds, copied at one instant.
    fn capture(&self) -> Captured {
        let eng = self.engine.load();
        let (seq, live) = {
            let l = self.live.read().unwrap_or_else(|p| p.into_inner());
            (self.applied_seq.load(Ordering::Acquire), l.clone())
        };
        Captured {
            seq,
            live,
            lenders: eng.directory().lenders().to_vec(),
            profiles: eng.profiles().into_iter().cloned().collect(),
            holdings_ops: self
                .holdings_ops
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            versions: self
                .versions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    /// Writes a checkpoint of everything applied so far, then lets the log drop the
    /// segments it covers.
    pub fn checkpoint(&self) -> std::io::Result<u64> {
        self.write_checkpoint(self.capture())
    }

    fn write_checkpoint(&self, c: Captured) -> std::io::Result<u64> {
        let _g = self
            .checkpoint_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let seq = c.seq;
        // a newer checkpoint already written (and its segments rotated away) must never be
        // replaced by an older one, which would need records the log no longer holds
        let last = self.last_checkpoint.load(Ordering::Relaxed);
        if seq < last {
            return Ok(last);
        }
        let cp = Checkpoint {
            seq,
            live: c.live,
            lenders: c.lenders,
            profiles: c.profiles,
            holdings_ops: c.holdings_ops,
            versions: c.versions,
        };
        let bytes = serde_json::to_vec(&cp).map_err(std::io::Error::other)?;
        rota_catalog::snapshot::write_atomic(
            &self.config.data_dir.join("checkpoint.json"),
            &bytes,
        )?;
        self.last_checkpoint.fetch_max(seq, Ordering::Relaxed);
        self.log.rotate(seq);
        tracing::info!(seq, bytes = bytes.len(), "checkpoint written");
        Ok(seq)
    }

    /// Swaps in a new base snapshot, with the holdings changes made since the last one
    /// applied to it. The snapshot is opened here; the swap runs on the log writer, in
    /// the one order of changes, so a holdings batch or event applied meanwhile is
    /// neither lost nor applied to the old catalogue only. Refused (and nothing changed)
    /// when the snapshot does not load or those changes do not apply to it.
    pub async fn reload(self: &Arc<Self>, path: PathBuf) -> Result<(u64, u64), ReloadError> {
        let base = tokio::task::spawn_blocking(move || Catalog::open(&path))
            .await
            .map_err(|e| ReloadError::Task(e.to_string()))??;
        let app = self.clone();
        self.log
            .in_order(move || app.swap_catalog(base))
            .await
            .map_err(ReloadError::Log)?
    }

    /// Runs on the log writer: the new base with the holdings changes since applied.
    fn swap_catalog(&self, base: Catalog) -> Result<(u64, u64), ReloadError> {
        let ops = self
            .holdings_ops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let cat = base
            .with_delta(&ops)
            .map_err(|e| ReloadError::Holdings(ops.len(), e))?;
        let (c, h) = (u64::from(cat.clusters()), cat.meta().holdings);
        let eng = self.engine.load();
        self.engine.store(Arc::new(eng.with_catalog(Arc::new(cat))));
        Ok((c, h))
    }
}

/// Why a reload was refused (nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The snapshot does not load: the caller's (a wrong path, a damaged file).
    #[error("snapshot refused: {0}")]
    Snapshot(#[from] rota_catalog::SnapshotError),
    /// The holdings changes made since the last snapshot do not apply to this one.
    #[error("the {0} holdings changes made since the last snapshot do not apply to this one: {1}")]
    Holdings(usize, rota_catalog::DeltaError),
    /// The log writer is gone (shutting down).
    #[error("{0}")]
    Log(crate::log::LogError),
    /// The loading task failed (ours).
    #[error("loading the snapshot failed: {0}")]
    Task(String),
}
