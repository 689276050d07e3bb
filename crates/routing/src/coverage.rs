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
use rota_catalog::coverage::{Cited, Unknown, Verdict};
use rota_catalog::{Catalog, Format, LibraryId, Match};

use crate::answer::{Detail, Exclusion};

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
    Exclude(Exclusion, Detail),
}

/// The coverage of every holder of the matched serials, read once per request.
pub(crate) struct Check<'a> {
    cat: &'a Catalog,
    cited: Cited,
    today: NaiveDate,
    /// Per match (in match order): where each holder's coverage is, by library, or
    /// `None` for a match that is not a serial. Decoded only for the holders judged.
    per_match: Vec<Option<Vec<(LibraryId, u32)>>>,
}

impl<'a> Check<'a> {
    /// `None` when there is nothing to check: no volume or year cited, or no serial
    /// matched.
    pub(crate) fn new(
        cat: &'a Catalog,
        cited: Cited,
        now: i64,
        matches: &[Match],
    ) -> Option<Check<'a>> {
        if cited.is_empty() {
            return None;
        }
        let per_match: Vec<_> = matches
            .iter()
            .map(|m| {
                (cat.format(m.cluster) == Format::Serial).then(|| {
                    let mut v = Vec::new();
                    cat.coverage_offsets(m.cluster, &mut v);
                    v
                })
            })
            .collect();
        if per_match.iter().all(Option::is_none) {
            return None;
        }
        let today = chrono::DateTime::from_timestamp(now, 0)?.date_naive();
        Some(Check {
            cat,
            cited,
            today,
            per_match,
        })
    }

    /// The verdict on a holder, and where its coverage is (none: it states none).
    fn verdict(&self, rank: usize, library: LibraryId) -> Option<(Verdict, Option<u32>)> {
        let entries = self.per_match.get(rank)?.as_ref()?;
        let at = entries
            .binary_search_by_key(&library, |(l, _)| *l)
            .ok()
            .map(|i| entries[i].1);
        let v = match at {
            // validated at load: a stored coverage always reads
            Some(off) => self
                .cat
                .coverage_check_at(off, &self.cited, self.today)
                .unwrap_or(Verdict::Unknown(Unknown::Unread)),
            None => Verdict::Unknown(Unknown::NoStatement),
        };
        Some((v, at))
    }

    /// Judges a candidate holding of the `rank`-th match.
    pub(crate) fn judge(&self, rank: usize, library: LibraryId) -> Judgement {
        let Some((v, at)) = self.verdict(rank, library) else {
            return Judgement::NotApplicable;
        };
        // built only to say what a holder left out holds
        let cov = || at.and_then(|o| self.cat.coverage_at(o));
        match v {
            Verdict::Covered => Judgement::Covered,
            Verdict::Unknown(_) => Judgement::Unknown,
            Verdict::NotCovered => Judgement::Exclude(
                Exclusion::Coverage,
                Detail::Coverage {
                    holds: cov().map(|c| c.spans).unwrap_or_default(),
                    cited: self.cited,
                },
            ),
            Verdict::Embargoed { until } => match cov().and_then(|c| c.embargo) {
                Some(wall) => Judgement::Exclude(
                    Exclusion::Embargo,
                    Detail::Embargo {
                        wall,
                        cited: self.cited,
                        until,
                    },
                ),
                // a wall closes only where there is one
                None => Judgement::Unknown,
            },
        }
    }

    /// The sentence a ranked lender's reason gains: what it holds, or why coverage could
    /// not be checked.
    pub(crate) fn note(&self, rank: usize, library: LibraryId) -> Option<String> {
        let (v, at) = self.verdict(rank, library)?;
        let cov = at.and_then(|o| self.cat.coverage_at(o));
        let holds = || cov.as_ref().map(ToString::to_string).unwrap_or_default();
        Some(match v {
            Verdict::Covered => {
                let mut s = String::with_capacity(48);
                s.push_str("holds ");
                self.cited.write_to(&mut s);
                s.push_str(" (");
                if let Some(c) = &cov {
                    c.write_to(&mut s);
                }
                s.push(')');
                s
            }
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
                    Unknown::WallNoDate => {
                        "it has a moving wall and the citation gives no date to check it by"
                            .to_string()
                    }
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
