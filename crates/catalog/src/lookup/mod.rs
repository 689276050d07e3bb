//! Citation lookup: which cluster a citation means, how sure that is, and when to say
//! "not sure" instead.
//!
//! # Identifiers
//!
//! An identifier is exact after normalisation ([`crate::ident`]). A valid one matches at
//! confidence 1.0; one with a bad check digit matches only a record carrying the same bad
//! string, and one a record marks cancelled (020 `$z`) matches only as such: both at 0.6,
//! unless the citation's title confirms the cluster. When the citation also gives a
//! title or author, the identifier's clusters are checked against them
//! ([`identify`]): a series ISBN printed in several books matches several clusters and
//! the title picks one; an identifier whose cluster contradicts both title and author is
//! doubted, and the title is searched as well.
//!
//! # Titles and authors
//!
//! Title and author words are matched through Levenshtein automata over the token
//! dictionary ([`title`]): a word of 4–7 characters may be one edit off, a longer one
//! two. Confidence scores both directions: the citation's words found in the candidate
//! (weighted by how rare each word is), and the candidate's title-proper words found in
//! the citation, so "general chemistry" does not match *Experiments arranged for
//! students in general chemistry*; a contradicting author, year or language costs enough
//! to fall below routing.
//!
//! # The answer
//!
//! [`Catalog::resolve`] says [`MatchStatus::Matched`] only when the best candidate
//! reaches the minimum confidence and no different book comes close; two clusters that
//! are one book split in the catalogue (same title, author and year) are matched
//! together, and so are the editions of one work when the citation gives no year (any
//! edition answers it; [`Resolution::ambiguous`] says that it was not one). Otherwise the answer is [`MatchStatus::Ambiguous`] or
//! [`MatchStatus::NoConfidentMatch`], with the candidates for staff, never a guess.
//!
//! The defaults ([`LookupOptions::default`]) are the ones that meet the precision targets
//! on the Library of Congress records (the integration test `precision` measures them).

mod identify;
mod title;

use crate::field::FieldError;
use std::sync::OnceLock;

use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder};
use serde::{Deserialize, Serialize};

use crate::id::ClusterId;
use crate::ident::IdError;
use crate::index::Catalog;
use crate::words::tokens;

/// A citation: any subset of these.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Citation {
    /// ISBN-10 or -13, any punctuation.
    #[serde(default)]
    pub isbn: Option<String>,
    /// ISSN.
    #[serde(default)]
    pub issn: Option<String>,
    /// OCLC number, any prefix.
    #[serde(default)]
    pub oclc: Option<String>,
    /// LCCN.
    #[serde(default)]
    pub lccn: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Author.
    #[serde(default)]
    pub author: Option<String>,
    /// Year of publication.
    #[serde(default)]
    pub year: Option<u16>,
    /// Language of the text (MARC code such as `eng`, `ger`).
    #[serde(default)]
    pub language: Option<String>,
    /// The journal's electronic ISSN (for an article), matched like `issn`.
    #[serde(default)]
    pub eissn: Option<String>,
    /// Volume (an article's: its leading number is checked against coverage).
    #[serde(default)]
    pub volume: Option<String>,
    /// Issue.
    #[serde(default)]
    pub issue: Option<String>,
    /// Pages.
    #[serde(default)]
    pub pages: Option<String>,
    /// Date of the issue: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (a full date lets moving
    /// walls counted in days be checked exactly).
    #[serde(default)]
    pub date: Option<String>,
    /// The article's title (`title` is then the journal's).
    #[serde(default)]
    pub article_title: Option<String>,
    /// DOI of the article.
    #[serde(default)]
    pub doi: Option<String>,
    /// PubMed id of the article.
    #[serde(default)]
    pub pmid: Option<String>,
}

/// Longest volume, issue or pages text.
pub const MAX_ENUMERATION: usize = 64;

impl Citation {
    /// Checks every field against its bounds ([`crate::field`]): identifiers and the
    /// language short, title and author of sane length, no control characters, a year
    /// between 1000 and 2100. Field names are prefixed with `citation.`.
    pub fn validate(&self) -> Result<(), FieldError> {
        use crate::field::{MAX_IDENTIFIER, MAX_NAME, MAX_TITLE, range, text};
        for (name, v, max) in [
            ("citation.isbn", &self.isbn, MAX_IDENTIFIER),
            ("citation.issn", &self.issn, MAX_IDENTIFIER),
            ("citation.oclc_number", &self.oclc, MAX_IDENTIFIER),
            ("citation.lccn", &self.lccn, MAX_IDENTIFIER),
            ("citation.title", &self.title, MAX_TITLE),
            ("citation.author", &self.author, MAX_NAME),
            ("citation.language", &self.language, 8),
            ("citation.eissn", &self.eissn, MAX_IDENTIFIER),
            ("citation.volume", &self.volume, MAX_ENUMERATION),
            ("citation.issue", &self.issue, MAX_ENUMERATION),
            ("citation.pages", &self.pages, MAX_ENUMERATION),
            ("citation.article_title", &self.article_title, MAX_TITLE),
            ("citation.doi", &self.doi, MAX_IDENTIFIER * 4),
            ("citation.pmid", &self.pmid, MAX_IDENTIFIER),
            ("citation.date", &self.date, MAX_IDENTIFIER),
        ] {
            if let Some(v) = v {
                text(name, v, max)?;
            }
        }
        if let Some(y) = self.year {
            range("citation.year", y, 1000, 2100)?;
        }
        if let Some(d) = self.date.as_deref().filter(|d| !d.trim().is_empty()) {
            crate::field::date("citation.date", d)?;
        }
        Ok(())
    }

    /// Whether it cites an article (an article title, DOI, PMID, volume, issue or
    /// pages): such a request is for a copy unless it says otherwise.
    pub fn is_article(&self) -> bool {
        [
            &self.article_title,
            &self.doi,
            &self.pmid,
            &self.volume,
            &self.issue,
            &self.pages,
        ]
        .iter()
        .any(|s| s.as_deref().is_some_and(|s| !s.trim().is_empty()))
    }

    /// Where in a serial's run it is: the volume's leading number, the year (of the date,
    /// else `year`), the full date. Call after [`Citation::validate`] (a bad date reads
    /// as none here).
    pub fn cited(&self) -> crate::coverage::Cited {
        let date = self
            .date
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .and_then(|d| crate::field::date("citation.date", d).ok());
        crate::coverage::Cited {
            volume: self
                .volume
                .as_deref()
                .and_then(crate::coverage::Cited::volume_number),
            year: date.map(|d| d.0).or(self.year),
            date: date.and_then(|d| d.1),
        }
    }

    /// True when nothing at all was given.
    pub fn is_empty(&self) -> bool {
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
        blank(&self.isbn)
            && blank(&self.issn)
            && blank(&self.eissn)
            && blank(&self.oclc)
            && blank(&self.lccn)
            && blank(&self.title)
            && blank(&self.author)
            && self.year.is_none()
    }

    fn has_identifier(&self) -> bool {
        [&self.isbn, &self.issn, &self.eissn, &self.oclc, &self.lccn]
            .iter()
            .any(|s| s.as_deref().is_some_and(|s| !s.trim().is_empty()))
    }

    fn has_text(&self) -> bool {
        self.title.as_deref().is_some_and(|t| !tokens(t).is_empty())
            || self
                .author
                .as_deref()
                .is_some_and(|t| !tokens(t).is_empty())
    }
}

/// How a cluster matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    /// Exact ISBN.
    Isbn,
    /// Exact ISSN.
    Issn,
    /// Exact OCLC number.
    Oclc,
    /// Exact LCCN.
    Lccn,
    /// The same identifier with the same bad check digit.
    InvalidIdentifier,
    /// An identifier the record marks cancelled (020 `$z`, 022 `$y $z`).
    CancelledIdentifier,
    /// Title (and author/year) words, typo-tolerant.
    TitleAuthor,
    /// The cluster was given (replaying a logged request that names its cluster).
    Cluster,
}

impl MatchMethod {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            MatchMethod::Isbn => "isbn",
            MatchMethod::Issn => "issn",
            MatchMethod::Oclc => "oclc",
            MatchMethod::Lccn => "lccn",
            MatchMethod::InvalidIdentifier => "invalid_identifier",
            MatchMethod::CancelledIdentifier => "cancelled_identifier",
            MatchMethod::TitleAuthor => "title_author",
            MatchMethod::Cluster => "cluster",
        }
    }

    /// Whether the match came from an identifier the records trust.
    pub fn is_identifier(self) -> bool {
        matches!(
            self,
            MatchMethod::Isbn | MatchMethod::Issn | MatchMethod::Oclc | MatchMethod::Lccn
        )
    }
}

/// One matched cluster.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Match {
    /// Cluster id.
    pub cluster: ClusterId,
    /// How it matched.
    pub method: MatchMethod,
    /// 0..=1.
    pub confidence: f32,
}

/// What a lookup concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchStatus {
    /// The citation means [`Resolution::matches`].
    Matched,
    /// Several different books fit the citation about equally well.
    Ambiguous,
    /// Candidates exist, none confident enough to route.
    NoConfidentMatch,
    /// Nothing in the catalogue fits.
    NotFound,
}

impl MatchStatus {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            MatchStatus::Matched => "matched",
            MatchStatus::Ambiguous => "ambiguous",
            MatchStatus::NoConfidentMatch => "no_confident_match",
            MatchStatus::NotFound => "not_found",
        }
    }
}

/// The answer to a lookup.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Resolution {
    /// The conclusion.
    pub status: MatchStatus,
    /// The clusters the citation means (empty unless [`MatchStatus::Matched`]): one, or
    /// several that are one book split in the catalogue.
    pub matches: Vec<Match>,
    /// The best candidates, best first, for staff (whatever the status).
    pub candidates: Vec<Match>,
    /// Whether the best two candidates were close.
    pub ambiguous: bool,
}

/// The caller's citation could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LookupError {
    /// No field given.
    #[error("citation is empty: give at least one of isbn, issn, eissn, oclc, lccn, title, author")]
    Empty,
    /// An identifier field holds no identifier.
    #[error("{field}: {problem}")]
    BadIdentifier {
        /// Which field.
        field: &'static str,
        /// Why.
        problem: IdError,
    },
    /// Only a year was given: that matches too much to be a citation.
    #[error("a year alone is not a citation: add a title, author or identifier")]
    YearOnly,
    /// `min_confidence` outside 0..=1.
    #[error("min_confidence: {0} is not between 0 and 1")]
    BadMinConfidence(f32),
    /// A field out of its bounds.
    #[error(transparent)]
    Field(#[from] FieldError),
}

/// How a lookup decides.
#[derive(Clone, Copy, Debug)]
pub struct LookupOptions {
    /// Most candidates returned.
    pub limit: usize,
    /// A title/author match below this confidence is not routed.
    pub min_confidence: f32,
    /// Route only what an identifier matched.
    pub require_identifier: bool,
}

/// Default minimum confidence: the lowest at which, on the Library of Congress records,
/// books nobody holds are routed to another book's holders at most 1 % of the time when
/// cited by title and author.
pub const DEFAULT_MIN_CONFIDENCE: f32 = 0.6;

/// How close (in confidence) the second candidate must come for the answer to be
/// ambiguous.
pub const AMBIGUITY_MARGIN: f32 = 0.1;

/// Most clusters (split copies, editions) one work is taken to have: more close
/// candidates than this are different books.
const MAX_EDITIONS: usize = 5;

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            limit: 10,
            min_confidence: DEFAULT_MIN_CONFIDENCE,
            require_identifier: false,
        }
    }
}

fn builder(d: u8) -> &'static LevenshteinAutomatonBuilder {
    static B1: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    static B2: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    if d <= 1 {
        B1.get_or_init(|| LevenshteinAutomatonBuilder::new(1, true))
    } else {
        B2.get_or_init(|| LevenshteinAutomatonBuilder::new(2, true))
    }
}

/// A Levenshtein DFA for a token key, and the distance it assigns to a matched key.
pub(crate) struct TokenDfa(DFA);

impl TokenDfa {
    pub(crate) fn distance_of(&self, key: &[u8]) -> u8 {
        match self.0.eval(key) {
            Distance::Exact(d) => d,
            Distance::AtLeast(d) => d,
        }
    }
}

impl fst::Automaton for TokenDfa {
    type State = <DFA as fst::Automaton>::State;
    fn start(&self) -> Self::State {
        fst::Automaton::start(&self.0)
    }
    fn is_match(&self, s: &Self::State) -> bool {
        fst::Automaton::is_match(&self.0, s)
    }
    fn can_match(&self, s: &Self::State) -> bool {
        fst::Automaton::can_match(&self.0, s)
    }
    fn accept(&self, s: &Self::State, b: u8) -> Self::State {
        fst::Automaton::accept(&self.0, s, b)
    }
}

pub(crate) fn dfa_for(key: &str, dist: u8) -> TokenDfa {
    TokenDfa(builder(dist).build_dfa(key))
}

/// Edit distance allowed for a word of this many characters: none up to four (a typo
/// in "lili" is "gili", another word), one up to eight, two beyond.
pub fn allowed_distance(word: &str) -> u8 {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

fn by_confidence(v: &mut [Match]) {
    v.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(a.cluster.cmp(&b.cluster))
    });
}

impl Catalog {
    /// Looks a citation up: the candidates, best first (at most `opts.limit`). See
    /// [`Catalog::resolve`] for what to route.
    pub fn lookup(&self, c: &Citation, opts: LookupOptions) -> Result<Vec<Match>, LookupError> {
        Ok(self.resolve(c, opts)?.candidates)
    }

    /// Decides what a citation means (see the module doc).
    pub fn resolve(&self, c: &Citation, opts: LookupOptions) -> Result<Resolution, LookupError> {
        c.validate()?;
        if c.is_empty() {
            return Err(LookupError::Empty);
        }
        if !(0.0..=1.0).contains(&opts.min_confidence) {
            return Err(LookupError::BadMinConfidence(opts.min_confidence));
        }
        let has_text = c.has_text();
        if !c.has_identifier() && !has_text {
            return Err(LookupError::YearOnly);
        }
        let by_id = self.identify(c, opts)?;
        let mut r = match by_id {
            // the identifier is doubted: the title may find the book it names
            Some(r) if r.status == MatchStatus::NoConfidentMatch && has_text => {
                let mut cands = r.candidates;
                for m in self.title_candidates(c) {
                    if !cands.iter().any(|x| x.cluster == m.cluster) {
                        cands.push(m);
                    }
                }
                self.decide(cands, c, opts)
            }
            Some(r) => r,
            None if has_text => self.decide(self.title_candidates(c), c, opts),
            None => Resolution {
                status: MatchStatus::NotFound,
                matches: Vec::new(),
                candidates: Vec::new(),
                ambiguous: false,
            },
        };
        if opts.require_identifier
            && r.status == MatchStatus::Matched
            && !r.matches.iter().all(|m| m.method.is_identifier())
        {
            r.status = MatchStatus::NoConfidentMatch;
            r.matches.clear();
        }
        r.candidates.truncate(opts.limit.max(1));
        Ok(r)
    }

    /// The status for scored candidates: matched, ambiguous, not confident or not found.
    fn decide(&self, mut cands: Vec<Match>, c: &Citation, opts: LookupOptions) -> Resolution {
        by_confidence(&mut cands);
        let Some(best) = cands.first().copied() else {
            return Resolution {
                status: MatchStatus::NotFound,
                matches: Vec::new(),
                candidates: cands,
                ambiguous: false,
            };
        };
        let mut matches = vec![best];
        let close: Vec<Match> = cands[1..]
            .iter()
            .take_while(|m| m.confidence >= best.confidence - AMBIGUITY_MARGIN)
            .copied()
            .collect();
        // more close candidates than a work has editions in a catalogue: different books
        let mut ambiguous = close.len() > MAX_EDITIONS;
        let mut editions = false;
        if !close.is_empty() && !ambiguous {
            let key = self.book_key(best.cluster);
            for m in close {
                match (&key, self.book_key(m.cluster)) {
                    (Some(a), Some(b)) if a.same_book(&b) => matches.push(m),
                    // another edition of the work, and the citation names no year: any
                    // edition answers it, and the flag says so
                    (Some(a), Some(b)) if c.year.is_none() && a.same_work(&b) => {
                        editions = true;
                        matches.push(m);
                    }
                    _ => ambiguous = true,
                }
            }
        }
        let status = if best.confidence < opts.min_confidence {
            MatchStatus::NoConfidentMatch
        } else if ambiguous {
            MatchStatus::Ambiguous
        } else {
            MatchStatus::Matched
        };
        if status != MatchStatus::Matched {
            matches.clear();
        }
        Resolution {
            status,
            matches,
            candidates: cands,
            ambiguous: ambiguous || editions,
        }
    }
}
