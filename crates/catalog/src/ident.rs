//! Identifier normalisation and validation: ISBN, ISSN, OCLC number, LCCN.
//!
//! Every normaliser takes the raw text of a MARC subfield or a user's citation and returns
//! an [`Ident`]: the canonical form plus whether its check digit is valid. An identifier
//! with a bad check digit is *kept* (real records carry them, and a patron's citation may
//! copy the same typo) but it is indexed under its own key kind, so it can only ever match
//! the exact same bad string, never a different item whose valid identifier happens to be
//! one digit away.

use std::fmt;

use compact_str::CompactString;

/// The kind of identifier, which is also the one-byte prefix of its key in the index.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    /// ISBN, always in its ISBN-13 form.
    Isbn,
    /// ISSN, eight characters without the hyphen.
    Issn,
    /// OCLC control number, digits without prefix or leading zeros.
    Oclc,
    /// Library of Congress control number, normalised per LC's rules.
    Lccn,
}

impl IdKind {
    /// Key prefix byte for a valid identifier of this kind.
    pub fn prefix(self) -> u8 {
        match self {
            IdKind::Isbn => b'i',
            IdKind::Issn => b's',
            IdKind::Oclc => b'o',
            IdKind::Lccn => b'l',
        }
    }

    /// Key prefix byte for an identifier of this kind whose check digit failed.
    pub fn invalid_prefix(self) -> u8 {
        self.prefix().to_ascii_uppercase()
    }

    /// Lowercase name used in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            IdKind::Isbn => "isbn",
            IdKind::Issn => "issn",
            IdKind::Oclc => "oclc",
            IdKind::Lccn => "lccn",
        }
    }
}

/// A normalised identifier.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Ident {
    /// What it identifies by.
    pub kind: IdKind,
    /// Canonical text (ISBN-13 digits, ISSN without hyphen, OCLC digits, normalised LCCN).
    /// Always short, so kept inline: normalising a citation's identifier allocates nothing.
    pub value: CompactString,
    /// Whether it can be trusted: only valid identifiers merge clusters and match a
    /// citation exactly.
    pub status: IdStatus,
}

/// How far an identifier can be trusted.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum IdStatus {
    /// Read, and its check digit (if it has one) is right.
    Valid,
    /// Its check digit is wrong: kept (a citation may copy the same typo), never merged.
    BadCheckDigit,
    /// The record itself marks it cancelled or invalid (020 `$z`, 022 `$y`/`$z`): often
    /// the number of another binding or a misprint on the book. Found, and shown as such,
    /// but never trusted.
    Cancelled,
}

impl IdStatus {
    fn checked(ok: bool) -> IdStatus {
        if ok {
            IdStatus::Valid
        } else {
            IdStatus::BadCheckDigit
        }
    }
}

/// Key prefix bytes of the binary key forms. They sort below every text prefix, so a
/// binary key never equals a text one.
const BIN_ISBN: u8 = 0x01;
const BIN_ISSN: u8 = 0x02;
const BIN_OCLC: u8 = 0x03;

/// Marks the text key of a cancelled identifier (before its kind letter).
pub const CANCELLED: u8 = b'~';

/// The identifier kind and status of an index key; `None` for a key that is not an
/// identifier's (a match key).
pub fn key_kind(k: &[u8]) -> Option<(IdKind, IdStatus)> {
    let tag = *k.first()?;
    let kind_of = |t: u8| match t.to_ascii_lowercase() {
        b'i' => Some(IdKind::Isbn),
        b's' => Some(IdKind::Issn),
        b'o' => Some(IdKind::Oclc),
        b'l' => Some(IdKind::Lccn),
        _ => None,
    };
    match tag {
        BIN_ISBN => Some((IdKind::Isbn, IdStatus::Valid)),
        BIN_ISSN => Some((IdKind::Issn, IdStatus::Valid)),
        BIN_OCLC => Some((IdKind::Oclc, IdStatus::Valid)),
        CANCELLED => Some((
            kind_of(*k.get(1).filter(|b| b.is_ascii_lowercase())?)?,
            IdStatus::Cancelled,
        )),
        t => Some((kind_of(t)?, IdStatus::checked(t.is_ascii_lowercase()))),
    }
}

/// Whether an index key is an identifier's (as opposed to a match key's).
pub fn is_identifier_key(k: &[u8]) -> bool {
    key_kind(k).is_some()
}

/// The longest key [`Ident::write_key`] writes.
pub const MAX_KEY: usize = 48;

impl Ident {
    /// Whether the identifier is valid (right check digit, not cancelled).
    pub fn valid(&self) -> bool {
        self.status == IdStatus::Valid
    }

    /// The same identifier, marked cancelled (as its record marks it).
    pub fn cancelled(mut self) -> Ident {
        self.status = IdStatus::Cancelled;
        self
    }

    /// The typed key this identifier is indexed under.
    ///
    /// Valid ISBN-13s, ISSNs and OCLC numbers (the bulk of any catalogue) are keyed in
    /// binary: a kind byte and the number without its check digit, big-endian (6, 4 and 6
    /// bytes instead of 14, 9 and up to 11): an fst lookup walks one node per key byte,
    /// so the shorter key is the faster lookup. Everything else (bad check digits, LCCNs,
    /// non-canonical OCLC text) is keyed as its kind letter (upper case when the check
    /// digit is wrong) and its text.
    pub fn key(&self) -> Vec<u8> {
        let mut buf = [0u8; MAX_KEY];
        match self.write_key(&mut buf) {
            Some(n) => buf[..n].to_vec(),
            None => self.text_key(),
        }
    }

    /// The number a valid ISBN-13, ISSN or OCLC number is indexed by: the digits without
    /// the check digit (12 for an ISBN, 7 for an ISSN), or the OCLC number itself when it
    /// is in canonical form (no leading zero) and below 2^40. `None` for everything else:
    /// LCCNs, bad check digits, odd forms; those are indexed by their text.
    pub fn number(&self) -> Option<(IdKind, u64)> {
        if !self.valid() {
            return None;
        }
        let v = self.value.as_bytes();
        let digits = |d: &[u8]| {
            d.iter().try_fold(0u64, |n, c| {
                c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
            })
        };
        match self.kind {
            IdKind::Isbn if v.len() == 13 => digits(&v[..12]).map(|n| (IdKind::Isbn, n)),
            IdKind::Issn if v.len() == 8 => digits(&v[..7]).map(|n| (IdKind::Issn, n)),
            // only the canonical text (no leading zero) round-trips through a number
            IdKind::Oclc if !v.is_empty() && v[0] != b'0' && v.len() <= 12 => digits(v)
                .filter(|n| *n < 1 << 40)
                .map(|n| (IdKind::Oclc, n)),
            _ => None,
        }
    }

    /// Rebuilds an identifier from [`Ident::number`].
    pub fn from_number(kind: IdKind, n: u64) -> Option<Ident> {
        let value = match kind {
            IdKind::Isbn if n < 1_000_000_000_000 => {
                let mut d = format!("{n:012}").into_bytes();
                d.push(isbn13_check(&d));
                d
            }
            IdKind::Issn if n < 10_000_000 => {
                let mut d = format!("{n:07}").into_bytes();
                d.push(issn_check(&d));
                d
            }
            IdKind::Oclc if n > 0 && n < 1 << 40 => n.to_string().into_bytes(),
            _ => return None,
        };
        Some(Ident {
            kind,
            value: CompactString::from_utf8(value).ok()?,
            status: IdStatus::Valid,
        })
    }

    /// The number of a binary key written by [`Ident::write_key`], or `None` for a text key.
    pub fn key_number(k: &[u8]) -> Option<(IdKind, u64)> {
        let (&tag, rest) = k.split_first()?;
        let kind = match (tag, rest.len()) {
            (BIN_ISBN, 5) => IdKind::Isbn,
            (BIN_ISSN, 3) => IdKind::Issn,
            (BIN_OCLC, 5) => IdKind::Oclc,
            _ => return None,
        };
        Some((kind, rest.iter().fold(0u64, |n, b| n << 8 | u64::from(*b))))
    }

    /// Writes [`Ident::key`] into `buf` and returns its length, or `None` when the key is
    /// longer than the buffer (only a text key can be).
    pub fn write_key(&self, buf: &mut [u8; MAX_KEY]) -> Option<usize> {
        if let Some((kind, n)) = self.number() {
            let (tag, width) = match kind {
                IdKind::Isbn => (BIN_ISBN, 5),
                IdKind::Issn => (BIN_ISSN, 3),
                _ => (BIN_OCLC, 5),
            };
            buf[0] = tag;
            buf[1..=width].copy_from_slice(&n.to_be_bytes()[8 - width..]);
            return Some(width + 1);
        }
        let v = self.value.as_bytes();
        let p = self.key_prefix();
        if v.len() + p.len() > MAX_KEY {
            return None;
        }
        buf[..p.len()].copy_from_slice(p);
        buf[p.len()..p.len() + v.len()].copy_from_slice(v);
        Some(p.len() + v.len())
    }

    /// The text key's prefix: the kind letter, upper case for a bad check digit, after
    /// [`CANCELLED`] for a cancelled one.
    fn key_prefix(&self) -> &'static [u8] {
        const P: [[u8; 2]; 4] = [*b"~i", *b"~s", *b"~o", *b"~l"];
        const V: [&[u8]; 4] = [b"i", b"s", b"o", b"l"];
        const B: [&[u8]; 4] = [b"I", b"S", b"O", b"L"];
        let k = self.kind as usize;
        match self.status {
            IdStatus::Valid => V[k],
            IdStatus::BadCheckDigit => B[k],
            IdStatus::Cancelled => &P[k],
        }
    }

    /// The readable key form: the kind letter (upper case for a bad check digit) and the
    /// text. The display text stores identifiers this way.
    pub fn text_key(&self) -> Vec<u8> {
        let p = self.key_prefix();
        let mut k = Vec::with_capacity(self.value.len() + p.len());
        k.extend_from_slice(p);
        k.extend_from_slice(self.value.as_bytes());
        k
    }

    /// Reads back a key written by [`Ident::key`] or [`Ident::text_key`]; `None` for a
    /// key that is not an identifier (a match key).
    pub fn from_key(k: &[u8]) -> Option<Ident> {
        if let Some((kind, n)) = Ident::key_number(k) {
            return Ident::from_number(kind, n);
        }
        if matches!(k.first(), Some(&(BIN_ISBN | BIN_ISSN | BIN_OCLC))) {
            return None; // a binary tag with the wrong length
        }
        let (kind, status) = key_kind(k)?;
        let skip = if status == IdStatus::Cancelled { 2 } else { 1 };
        Some(Ident {
            kind,
            value: CompactString::from_utf8_lossy(&k[skip..]),
            status,
        })
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.name(), self.value)?;
        match self.status {
            IdStatus::Valid => Ok(()),
            IdStatus::BadCheckDigit => f.write_str(" (invalid check digit)"),
            IdStatus::Cancelled => f.write_str(" (cancelled)"),
        }
    }
}

/// Why a string could not be read as an identifier at all (as opposed to one that reads
/// but has a bad check digit, which is an [`Ident`] with `valid == false`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The text held no identifier of this kind.
    #[error("no {kind} found in {text:?}")]
    Unreadable {
        /// Kind that was expected.
        kind: &'static str,
        /// The text as given (truncated to 64 characters).
        text: String,
    },
}

fn unreadable(kind: &'static str, text: &str) -> IdError {
    IdError::Unreadable {
        kind,
        text: text.chars().take(64).collect(),
    }
}

/// Takes the leading identifier-like run of a subfield: digits, hyphens, spaces between
/// digit groups and a final X, stopping at qualifiers such as `(pbk.)`, `:` or `$14.95`.
fn leading_id_chars(text: &str, max_digits: usize) -> CompactString {
    // at most max_digits + 1 ASCII characters (an ISBN's 13 and one over), so a stack
    // buffer; CompactString::push per character measured a third slower on the whole
    // identifier lookup
    let mut buf = [0u8; 24];
    let mut len = 0usize;
    let cap = (max_digits + 1).min(buf.len());
    let mut started = false;
    for c in text.chars() {
        match c {
            '0'..='9' => {
                started = true;
                buf[len] = c as u8;
                len += 1;
            }
            'x' | 'X' if started => {
                buf[len] = b'X';
                len += 1;
                break;
            }
            '-' | ' ' | '\u{2010}'..='\u{2015}' if started => {
                // a space after a complete identifier ends it ("0521 (pbk.)" does not)
                if c == ' ' && len >= max_digits {
                    break;
                }
            }
            _ if !started => {
                // allow "ISBN " or "ISSN " labels before the digits
                if c.is_ascii_alphabetic() || matches!(c, ':' | ' ' | '\t' | '(' | '[') {
                    continue;
                }
                break;
            }
            _ => break,
        }
        if len >= cap {
            break;
        }
    }
    // only ASCII digits and X were written
    CompactString::from_utf8(&buf[..len]).unwrap_or_default()
}

/// The mod-11 check character of ISBN-10 (9 digits) and ISSN (7 digits): weights count
/// down from the length plus one to 2.
fn mod11_check(digits: &[u8]) -> u8 {
    let top = digits.len() as u32 + 1;
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| (top - i as u32) * u32::from(d - b'0'))
        .sum();
    match (11 - sum % 11) % 11 {
        10 => b'X',
        n => b'0' + n as u8,
    }
}

fn isbn10_check(d9: &[u8]) -> u8 {
    mod11_check(d9)
}

fn issn_check(d7: &[u8]) -> u8 {
    mod11_check(d7)
}

fn isbn13_check(d12: &[u8]) -> u8 {
    let sum: u32 = d12
        .iter()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { 1 } else { 3 } * u32::from(d - b'0'))
        .sum();
    b'0' + ((10 - sum % 10) % 10) as u8
}

/// Normalises an ISBN-10 or ISBN-13 to ISBN-13.
///
/// Hyphens, spaces and trailing qualifiers (`(pbk.)`, `: $14.95`) are stripped; an ISBN-10
/// becomes `978` + its first nine digits + a new check digit. If the ISBN-10's own check
/// digit was wrong the result is flagged invalid (the 13-digit check is recomputed, so the
/// flag must be carried over, not re-derived).
pub fn normalize_isbn(text: &str) -> Result<Ident, IdError> {
    let raw = leading_id_chars(text, 13);
    let b = raw.as_bytes();
    match b.len() {
        10 if b[..9].iter().all(u8::is_ascii_digit) => {
            let valid = isbn10_check(&b[..9]) == b[9];
            let mut d = *b"9780000000000";
            d[3..12].copy_from_slice(&b[..9]);
            d[12] = isbn13_check(&d[..12]);
            Ok(Ident {
                kind: IdKind::Isbn,
                // ASCII digits only
                value: CompactString::from_utf8(&d[..]).unwrap_or_default(),
                status: IdStatus::checked(valid),
            })
        }
        13 if b.iter().all(u8::is_ascii_digit) => {
            let valid =
                isbn13_check(&b[..12]) == b[12] && (b.starts_with(b"978") || b.starts_with(b"979"));
            Ok(Ident {
                kind: IdKind::Isbn,
                value: raw,
                status: IdStatus::checked(valid),
            })
        }
        _ => Err(unreadable("isbn", text)),
    }
}

/// Converts a valid 978-prefixed ISBN-13 back to ISBN-10 (for display and SQL baselines).
pub fn isbn13_to_10(isbn13: &str) -> Option<String> {
    let b = isbn13.as_bytes();
    if b.len() != 13 || !b.starts_with(b"978") {
        return None;
    }
    let mut d = b[3..12].to_vec();
    let c = isbn10_check(&d);
    d.push(c);
    String::from_utf8(d).ok()
}

/// Normalises an ISSN (`0317-8471`, `ISSN 0317 8471`, `1050-124x`) to eight characters.
pub fn normalize_issn(text: &str) -> Result<Ident, IdError> {
    let raw = leading_id_chars(text, 8);
    let b = raw.as_bytes();
    if b.len() != 8 || !b[..7].iter().all(u8::is_ascii_digit) {
        return Err(unreadable("issn", text));
    }
    let check = issn_check(&b[..7]);
    Ok(Ident {
        kind: IdKind::Issn,
        value: raw.clone(),
        status: IdStatus::checked(check == b[7]),
    })
}

/// Normalises an OCLC number: `(OCoLC)ocm00012345`, `ocn123456789`, `on1234567890`,
/// `(OCoLC)12345`, plain digits. Leading zeros are dropped. OCLC numbers carry no check
/// digit, so they are always valid once read.
///
/// `(OCoLC)` with any other prefix that is not one of OCLC's own (`ocm`, `ocn`, `on`) is
/// refused: `(OCoLC)fst01234` is a FAST heading, not a record number.
pub fn normalize_oclc(text: &str) -> Result<Ident, IdError> {
    let mut t = text.trim();
    if let Some(rest) = t.strip_prefix("(OCoLC)") {
        t = rest.trim_start();
    } else if let Some(rest) = t.strip_prefix("(ocolc)") {
        t = rest.trim_start();
    }
    for p in ["ocm", "ocn", "on"] {
        if let Some(rest) = t.strip_prefix(p) {
            t = rest;
            break;
        }
    }
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let rest = &t[digits.len()..];
    // trailing junk like "ocm12345 " is fine, but "12345abc" is not an OCLC number
    if digits.is_empty()
        || rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return Err(unreadable("oclc", text));
    }
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() || trimmed.len() > 12 {
        return Err(unreadable("oclc", text));
    }
    Ok(Ident {
        kind: IdKind::Oclc,
        value: trimmed.into(),
        status: IdStatus::Valid,
    })
}

/// Normalises an LCCN by the Library of Congress rules
/// (<https://www.loc.gov/marc/lccn-namespace.html>): remove blanks; drop anything from a
/// forward slash on; if there is a hyphen, remove it and left-pad the part after it with
/// zeros to six digits. The result is an optional alphabetic prefix (up to three letters,
/// lowercased) then 8 or 10 digits.
pub fn normalize_lccn(text: &str) -> Result<Ident, IdError> {
    let mut s: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(i) = s.find('/') {
        s.truncate(i);
    }
    if let Some(i) = s.find('-') {
        let (pre, post) = s.split_at(i);
        let post = &post[1..];
        if !post.chars().all(|c| c.is_ascii_digit()) || post.len() > 6 || post.is_empty() {
            return Err(unreadable("lccn", text));
        }
        s = format!("{pre}{post:0>6}");
    }
    let s = s.to_ascii_lowercase();
    let letters = s.chars().take_while(char::is_ascii_alphabetic).count();
    let digits = &s[letters..];
    let ok = letters <= 3
        && digits.chars().all(|c| c.is_ascii_digit())
        && (digits.len() == 8 || digits.len() == 10);
    if !ok {
        return Err(unreadable("lccn", text));
    }
    Ok(Ident {
        kind: IdKind::Lccn,
        value: s.into(),
        status: IdStatus::Valid,
    })
}

/// Dispatches on kind.
pub fn normalize(kind: IdKind, text: &str) -> Result<Ident, IdError> {
    match kind {
        IdKind::Isbn => normalize_isbn(text),
        IdKind::Issn => normalize_issn(text),
        IdKind::Oclc => normalize_oclc(text),
        IdKind::Lccn => normalize_lccn(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn10_to_13_with_qualifiers() {
        let i = normalize_isbn("0-521-22285-0 (pbk.)").unwrap();
        assert_eq!(i.value, "9780521222853");
        assert!(i.valid());
        let i = normalize_isbn("ISBN 080442957X : $14.95").unwrap();
        assert_eq!(i.value, "9780804429573");
        assert!(i.valid());
        assert_eq!(isbn13_to_10("9780804429573").as_deref(), Some("080442957X"));
    }

    #[test]
    fn isbn13_check_digit() {
        assert!(normalize_isbn("978-3-16-148410-0").unwrap().valid());
        let bad = normalize_isbn("978-3-16-148410-1").unwrap();
        assert!(!bad.valid());
        assert_eq!(bad.key()[0], b'I');
    }

    #[test]
    fn keys_read_back_and_never_collide() {
        let ids = [
            normalize_isbn("978-0-306-40615-7").unwrap(),
            normalize_isbn("0-19-852663-6").unwrap(),
            normalize_isbn("9790000000001").unwrap(),
            normalize_isbn("0521222857").unwrap(), // bad check digit: text key
            normalize_issn("0317-8471").unwrap(),
            normalize_issn("1050-124X").unwrap(),
            normalize_issn("0317-8472").unwrap(), // bad
            normalize_oclc("(OCoLC)ocm00012345").unwrap(),
            normalize_oclc("1").unwrap(),
            normalize_oclc("999999999999").unwrap(), // the longest OCLC number read
            normalize_lccn("n 78-890351").unwrap(),
            normalize_isbn("0-19-852663-6").unwrap().cancelled(),
            normalize_issn("0317-8471").unwrap().cancelled(),
        ];
        let mut keys = std::collections::HashSet::new();
        for id in &ids {
            let k = id.key();
            assert_eq!(Ident::from_key(&k).as_ref(), Some(id), "{id}");
            assert_eq!(Ident::from_key(&id.text_key()).as_ref(), Some(id), "{id}");
            let mut buf = [0u8; MAX_KEY];
            let n = id.write_key(&mut buf).unwrap();
            assert_eq!(&buf[..n], &k[..]);
            assert!(keys.insert(k), "{id} collides");
        }
        // the binary forms are the short ones
        assert_eq!(ids[0].key().len(), 6);
        assert_eq!(ids[4].key().len(), 4);
        assert_eq!(ids[7].key().len(), 6);
        assert_eq!(ids[9].key().len(), 6);
        assert_eq!(ids[3].key()[0], b'I');
        assert_eq!(&ids[11].key()[..2], b"~i");
        assert_eq!(ids[11].to_string(), "isbn:9780198526636 (cancelled)");
        assert!(Ident::from_key(b"kfoo").is_none());
    }

    #[test]
    fn isbn10_bad_check_stays_flagged_after_conversion() {
        // 0-521-22285-0 is valid; 0-521-22285-7 is not, and converting must not launder it
        let bad = normalize_isbn("0521222857").unwrap();
        assert!(!bad.valid());
        assert_eq!(bad.value, "9780521222853");
        let good = normalize_isbn("0521222850").unwrap();
        assert!(good.valid());
        assert_ne!(bad.key(), good.key());
    }

    #[test]
    fn isbn_unreadable() {
        assert!(normalize_isbn("HL00361126 :").is_err());
        assert!(normalize_isbn("").is_err());
        assert!(normalize_isbn("12345").is_err());
        // too many digits: 089542262X295 is not an ISBN followed by junk we can trust
        assert!(normalize_isbn("089542262295").is_err());
    }

    #[test]
    fn issn() {
        assert!(normalize_issn("0317-8471").unwrap().valid());
        assert!(normalize_issn("ISSN 1050-124x").unwrap().valid());
        assert!(!normalize_issn("0317-8472").unwrap().valid());
        assert!(normalize_issn("0317").is_err());
    }

    #[test]
    fn oclc_prefixes() {
        for t in [
            "(OCoLC)ocm00012345",
            "ocm00012345",
            "ocn000012345",
            "(OCoLC)12345",
            "12345",
            "on0000012345",
        ] {
            assert_eq!(normalize_oclc(t).unwrap().value, "12345", "{t}");
        }
        assert!(normalize_oclc("(OCoLC)fst01234").is_err());
        assert!(normalize_oclc("(DE-599)BSZ000003999").is_err());
        assert!(normalize_oclc("0000").is_err());
    }

    #[test]
    fn lccn_lc_examples() {
        // examples from LC's normalisation page
        let cases = [
            ("n78-890351", "n78890351"),
            ("n78-89035", "n78089035"),
            ("n 78890351 ", "n78890351"),
            (" 85000002 ", "85000002"),
            ("85-2 ", "85000002"),
            ("2001-000002", "2001000002"),
            ("75-425165//r75", "75425165"),
            (" 79139101 /AC/r932", "79139101"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_lccn(raw).unwrap().value, want, "{raw}");
        }
        assert!(normalize_lccn("abcd12345678").is_err());
    }
}

#[cfg(test)]
mod key_props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every identifier the normalisers produce keys to bytes that read back to it,
        /// and two different identifiers never share a key.
        #[test]
        fn keys_round_trip(a in "97[89][0-9]{10}", b in "97[89][0-9]{10}",
                           o in "[0-9]{1,14}", s in "[0-9]{7}[0-9X]") {
            let ids: Vec<Ident> = [
                normalize_isbn(&a), normalize_isbn(&b), normalize_oclc(&o), normalize_issn(&s),
            ]
            .into_iter()
            .filter_map(Result::ok)
            .collect();
            for x in &ids {
                prop_assert_eq!(Ident::from_key(&x.key()), Some(x.clone()));
                for y in &ids {
                    prop_assert_eq!(x == y, x.key() == y.key(), "{} {}", x, y);
                }
            }
        }
    }
}
