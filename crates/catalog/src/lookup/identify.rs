//! Identifier matches, checked against the citation's title and author.

use super::{
    AMBIGUITY_MARGIN, Citation, LookupError, LookupOptions, Match, MatchMethod, MatchStatus,
    Resolution, by_confidence,
};
use crate::id::ClusterId;
use crate::ident::{self, IdKind, IdStatus};
use crate::index::Catalog;

/// Confidence of a match on an identifier the records do not trust (a bad check digit,
/// a cancelled number) that the title does not confirm.
const DOUBTFUL: f32 = 0.6;
/// A title score at which the title confirms an identifier's cluster.
const CONFIRMS: f32 = 0.75;
/// A title score below which the title contradicts it.
const CONTRADICTS: f32 = 0.35;

fn push(found: &mut Vec<Match>, cluster: ClusterId, method: MatchMethod, confidence: f32) {
    if !found.iter().any(|m| m.cluster == cluster) {
        found.push(Match {
            cluster,
            method,
            confidence,
        });
    }
}

impl Catalog {
    /// The identifier path: `None` when the citation has no identifier, or when its
    /// identifiers match nothing and it has a title or author to search instead.
    pub(super) fn identify(
        &self,
        c: &Citation,
        opts: LookupOptions,
    ) -> Result<Option<Resolution>, LookupError> {
        let fields: [(&'static str, IdKind, &Option<String>, MatchMethod); 5] = [
            ("isbn", IdKind::Isbn, &c.isbn, MatchMethod::Isbn),
            ("oclc", IdKind::Oclc, &c.oclc, MatchMethod::Oclc),
            ("lccn", IdKind::Lccn, &c.lccn, MatchMethod::Lccn),
            ("issn", IdKind::Issn, &c.issn, MatchMethod::Issn),
            ("eissn", IdKind::Issn, &c.eissn, MatchMethod::Issn),
        ];
        let mut found: Vec<Match> = Vec::new();
        let mut any = false;
        for (field, kind, val, method) in fields {
            let Some(v) = val.as_deref().filter(|s| !s.trim().is_empty()) else {
                continue;
            };
            any = true;
            let id = ident::normalize(kind, v)
                .map_err(|problem| LookupError::BadIdentifier { field, problem })?;
            let (method, conf) = if id.valid() {
                (method, 1.0)
            } else {
                (MatchMethod::InvalidIdentifier, DOUBTFUL)
            };
            let before = found.len();
            self.each_cluster_for(&id, |cl| push(&mut found, cl, method, conf));
            if found.len() == before && id.status == IdStatus::Valid {
                // the number a record lists as cancelled: found, not trusted
                self.each_cluster_for(&id.clone().cancelled(), |cl| {
                    push(&mut found, cl, MatchMethod::CancelledIdentifier, DOUBTFUL)
                });
            }
        }
        if !any {
            return Ok(None);
        }
        let has_text = c.has_text();
        if found.is_empty() {
            return Ok((!has_text).then(|| Resolution {
                status: MatchStatus::NotFound,
                matches: Vec::new(),
                candidates: Vec::new(),
                ambiguous: false,
            }));
        }
        if has_text {
            // the title and author confirm, pick among, or doubt what the identifier found
            let several = found.len() > 1;
            for m in &mut found {
                let (title, author) = self.text_fit(m.cluster, c);
                let confirmed = title.is_some_and(|t| t >= CONFIRMS) && author != Some(false);
                let contradicted = title.is_some_and(|t| t < CONTRADICTS) && author != Some(true)
                    || title.is_none() && author == Some(false);
                if contradicted {
                    m.confidence = m.confidence.min(0.5);
                } else if confirmed {
                    m.confidence = m.confidence.max(0.9);
                } else if several {
                    // a series number in several books: the better the title fits, the
                    // likelier this one
                    m.confidence *= 0.5 + 0.5 * title.unwrap_or(0.5);
                }
            }
        }
        Ok(Some(self.decide_identified(found, opts)))
    }

    fn decide_identified(&self, mut found: Vec<Match>, opts: LookupOptions) -> Resolution {
        by_confidence(&mut found);
        let best = found[0];
        let close = found
            .iter()
            .filter(|m| m.confidence >= best.confidence - AMBIGUITY_MARGIN)
            .count();
        let status = if best.confidence < opts.min_confidence {
            MatchStatus::NoConfidentMatch
        } else if close > 1 {
            MatchStatus::Ambiguous
        } else {
            MatchStatus::Matched
        };
        Resolution {
            status,
            matches: if status == MatchStatus::Matched {
                vec![best]
            } else {
                Vec::new()
            },
            ambiguous: close > 1,
            candidates: found,
        }
    }
}
