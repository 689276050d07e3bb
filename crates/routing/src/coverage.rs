//! Articles against serial coverage: which holders of a journal hold the cited volume
//! and year, in print or online past the moving wall.
//!
//! A holder whose coverage rules the citation out is excluded, saying what it holds and
//! what was cited; one behind a moving wall is excluded saying when the issue comes out
//! of it. A holder whose coverage cannot be checked (no statement, an unreadable one,
//! volumes against a year) is kept but ranked below every holder known to cover the
//! citation: asking it may cost days for a "not held", asking a covering one first does
//! not. The check applies to serials only: a book's year is its edition's, not a run's.

use chrono::NaiveDate;
use rota_catalog::coverage::{Cited, Coverage, Unknown, Verdict};
use rota_catalog::{Catalog, Format, LibraryId, Match};

use crate::answer::Exclusion;

/// What coverage says about one candidate.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Judgement {
    /// The cluster is not a serial, or the citation names no volume or year.
    NotApplicable,
    /// Held: ranks as usual.
    Covered,
    /// Cannot tell: ranks below covered holders.
    Unknown,
    /// Left out, with what was found.
    Exclude(Exclusion, String),
}

/// The coverage of every holder of the matched serials, read once per request.
pub(crate) struct Check {
    cited: Cited,
    today: NaiveDate,
    /// Per match (in match order): the coverage entries by library, or `None` for a
    /// match that is not a serial.
    per_match: Vec<Option<Vec<(LibraryId, Coverage)>>>,
}

impl Check {
    /// `None` when there is nothing to check: no volume or year cited, or no serial
    /// matched.
    pub(crate) fn new(cat: &Catalog, cited: Cited, now: i64, matches: &[Match]) -> Option<Check> {
        if cited.is_empty() {
            return None;
        }
        let per_match: Vec<_> = matches
            .iter()
            .map(|m| (cat.format(m.cluster) == Format::Serial).then(|| cat.coverage(m.cluster)))
            .collect();
        if per_match.iter().all(Option::is_none) {
            return None;
        }
        let today = chrono::DateTime::from_timestamp(now, 0)?.date_naive();
        Some(Check {
            cited,
            today,
            per_match,
        })
    }

    fn verdict(&self, rank: usize, library: LibraryId) -> Option<(Verdict, Option<&Coverage>)> {
        let entries = self.per_match.get(rank)?.as_ref()?;
        let cov = entries
            .binary_search_by_key(&library, |(l, _)| *l)
            .ok()
            .map(|i| &entries[i].1);
        let v = match cov {
            Some(c) => c.check(&self.cited, self.today),
            None => Verdict::Unknown(Unknown::NoStatement),
        };
        Some((v, cov))
    }

    /// Judges a candidate holding of the `rank`-th match.
    pub(crate) fn judge(&self, rank: usize, library: LibraryId) -> Judgement {
        let Some((v, cov)) = self.verdict(rank, library) else {
            return Judgement::NotApplicable;
        };
        match v {
            Verdict::Covered => Judgement::Covered,
            Verdict::Unknown(_) => Judgement::Unknown,
            Verdict::NotCovered => Judgement::Exclude(
                Exclusion::Coverage,
                format!(
                    "holds {}; cited {}",
                    cov.map(ToString::to_string).unwrap_or_default(),
                    self.cited
                ),
            ),
            Verdict::Embargoed { until } => {
                let wall = cov
                    .and_then(|c| c.embargo.as_ref())
                    .map(ToString::to_string)
                    .unwrap_or_default();
                Judgement::Exclude(
                    Exclusion::Embargo,
                    match until {
                        Some(d) => format!("{wall}; cited {} is available from {d}", self.cited),
                        None => format!("{wall}; cited {} is no longer available", self.cited),
                    },
                )
            }
        }
    }

    /// The sentence a ranked lender's reason gains: what it holds, or why coverage could
    /// not be checked.
    pub(crate) fn note(&self, rank: usize, library: LibraryId) -> Option<String> {
        let (v, cov) = self.verdict(rank, library)?;
        let holds = || cov.map(ToString::to_string).unwrap_or_default();
        Some(match v {
            Verdict::Covered => format!("holds {} ({})", self.cited, holds()),
            Verdict::Unknown(why) => {
                let why = match why {
                    Unknown::NothingCited => "no volume or year cited".to_string(),
                    Unknown::NoStatement => "it states no holdings of the serial".to_string(),
                    Unknown::Unread => {
                        format!("its holdings statement could not be read ({})", holds())
                    }
                    Unknown::Incomparable => format!(
                        "its holdings ({}) and the citation ({}) share no volume or year to compare",
                        holds(),
                        self.cited
                    ),
                    Unknown::WallYear => format!(
                        "its moving wall falls within {}; give the full date to check",
                        self.cited.year.map(|y| y.to_string()).unwrap_or_default()
                    ),
                };
                format!(
                    "coverage not checked: {why}; ranked after holders that cover {}",
                    self.cited
                )
            }
            Verdict::NotCovered | Verdict::Embargoed { .. } => return None,
        })
    }
}
