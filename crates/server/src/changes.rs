//! Operators' changes to weight profiles and lender entries, shared by the gRPC Admin
//! service and the console, so that both validate alike and both go through the log.
//!
//! A change is optimistic: refused unless the caller read the current version, then made
//! durable (and applied by the log's writer) before the caller hears it was done.
//! `App::admin_lock` makes the version check and the append one step.

use rota_routing::{Directory, Lender, Profile};

use crate::app::App;
use crate::log::{LogError, LogRecord};

/// A change made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done {
    /// The new version of the profile or entry.
    pub version: u64,
    /// Its sequence in the log.
    pub sequence: u64,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The caller's: it read an older version than the one in force.
    #[error("version: {kind} {name:?} is at version {current}, not {expected}; read it again")]
    Stale {
        /// `profile` or `lender`.
        kind: &'static str,
        /// Its name or symbol.
        name: String,
        /// The version in force.
        current: u64,
        /// The version the caller read.
        expected: u64,
    },
    /// The caller's: the profile or entry breaks a rule (the message names the field).
    #[error("{0}")]
    Invalid(String),
    /// Ours: the log could not record it (nothing was changed).
    #[error(transparent)]
    Log(#[from] LogError),
}

impl App {
    /// The version of a profile (0: a built-in or configured one never changed).
    pub fn profile_version(&self, name: &str) -> u64 {
        self.versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .profiles
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// The version of a lender entry (0: as the directory file has it).
    pub fn lender_version(&self, symbol: &str) -> u64 {
        self.versions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lenders
            .get(symbol)
            .copied()
            .unwrap_or(0)
    }

    /// Creates or replaces a weight profile if `expected` is the version in force;
    /// `comment` says why, in the version history.
    pub async fn put_profile(
        &self,
        who: &str,
        profile: Profile,
        expected: u64,
        comment: &str,
    ) -> Result<Done, ChangeError> {
        profile
            .validate()
            .map_err(|e| ChangeError::Invalid(e.to_string()))?;
        let _admin = self.admin_lock.lock().await;
        let name = profile.name.clone();
        let current = self.profile_version(&name);
        self.versioned_append("profile", &name, current, expected, who, |version| {
            LogRecord::Profile {
                who: who.to_owned(),
                profile,
                version,
                comment: comment.to_owned(),
            }
        })
        .await
    }

    /// Creates or replaces a lender entry if `expected` is the version in force. The
    /// directory it would make is checked whole (as `rota directory check` checks a
    /// file), so an entry that clashes with another (a shared agency id, say) is refused
    /// here, not passed over when the log applies it.
    pub async fn put_lender(
        &self,
        who: &str,
        lender: Lender,
        expected: u64,
        comment: &str,
    ) -> Result<Done, ChangeError> {
        let _admin = self.admin_lock.lock().await;
        let mut lenders = self.engine.load().directory().lenders().to_vec();
        match lenders.iter_mut().find(|l| l.symbol == lender.symbol) {
            Some(slot) => *slot = lender.clone(),
            None => lenders.push(lender.clone()),
        }
        Directory::new(lenders, "the directory with this entry")
            .map_err(|e| ChangeError::Invalid(e.to_string()))?;
        let symbol = lender.symbol.clone();
        let current = self.lender_version(&symbol);
        self.versioned_append("lender", &symbol, current, expected, who, |version| {
            LogRecord::Lender {
                who: who.to_owned(),
                lender: Box::new(lender),
                version,
                comment: comment.to_owned(),
            }
        })
        .await
    }

    async fn versioned_append(
        &self,
        kind: &'static str,
        name: &str,
        current: u64,
        expected: u64,
        who: &str,
        record: impl FnOnce(u64) -> LogRecord,
    ) -> Result<Done, ChangeError> {
        if expected != current {
            return Err(ChangeError::Stale {
                kind,
                name: name.to_owned(),
                current,
                expected,
            });
        }
        let version = current + 1;
        let sequence = self.log.append(record(version)).await?;
        tracing::info!(who, kind, name, version, seq = sequence, "admin change");
        Ok(Done { version, sequence })
    }
}
