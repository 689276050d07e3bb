//! One cluster's display record inside a text block, before zstd.
//!
//! ```text
//! block    record*                       records are length-prefixed
//! record   varint(len) title 0x1F author 0x1F id*
//! id       tag(kind << 4 | n) n bytes    a valid ISBN, ISSN or OCLC number, big-endian
//!        | text key [0x1D]               anything else, as its readable key
//! ```
//!
//! Identifiers are numbers spread at random over their range: zstd cannot shrink random
//! digits below about 3.3 bits each, and their text form spends 8. The builder writes
//! each number in binary, then, once the identifier tables exist, replaces it by its
//! table's coarse form ([`crate::idtable::Table::coarse`], two bytes where the number
//! took four or five) with [`coarsen`]: the table already holds the number with its
//! cluster, and display reads it back from there. Binary bytes may be anything, hence
//! the length prefixes; a binary tag (0x11 to 0x38) is never a text key's first byte (a
//! kind letter).

use crate::ident::{IdKind, Ident};
use crate::varint;

/// An identifier as a record stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stored {
    /// A number: [`Ident::number`] as the builder writes it, its table's coarse form in
    /// a snapshot.
    Number(IdKind, u64),
    /// Anything else.
    Text(Ident),
}

fn kind_code(kind: IdKind) -> u8 {
    match kind {
        IdKind::Isbn => 1,
        IdKind::Issn => 2,
        _ => 3,
    }
}

/// Appends one record's body (without its length prefix).
pub(crate) fn write_record(out: &mut Vec<u8>, title: &str, author: &str, ids: &[Ident]) {
    let clean = |s: &str| s.replace(['\x1d', '\x1e', '\x1f'], " ");
    out.extend_from_slice(clean(title).as_bytes());
    out.push(0x1F);
    out.extend_from_slice(clean(author).as_bytes());
    out.push(0x1F);
    for i in ids {
        match i.number() {
            Some((kind, n)) => put_number(out, kind, n),
            None => put_text(out, i),
        }
    }
}

fn put_number(out: &mut Vec<u8>, kind: IdKind, n: u64) {
    let bytes = (8 - n.leading_zeros() as usize / 8).max(1);
    out.push(kind_code(kind) << 4 | bytes as u8);
    out.extend_from_slice(&n.to_be_bytes()[8 - bytes..]);
}

fn put_text(out: &mut Vec<u8>, i: &Ident) {
    out.extend_from_slice(&i.text_key());
    out.push(0x1D);
}

/// Rewrites a block's numbers with `coarse` (kind, number → stored value); a number it
/// has no value for is written as text instead.
pub(crate) fn coarsen(block: &[u8], coarse: impl Fn(IdKind, u64) -> Option<u64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len());
    let mut rec = Vec::new();
    for r in records(block) {
        let mut parts = r.splitn(3, |b| *b == 0x1F);
        rec.clear();
        rec.extend_from_slice(parts.next().unwrap_or_default());
        rec.push(0x1F);
        rec.extend_from_slice(parts.next().unwrap_or_default());
        rec.push(0x1F);
        for id in parse_ids(parts.next().unwrap_or_default()) {
            match id {
                Stored::Number(kind, n) => match coarse(kind, n) {
                    Some(c) => put_number(&mut rec, kind, c),
                    None => {
                        if let Some(i) = Ident::from_number(kind, n) {
                            put_text(&mut rec, &i);
                        }
                    }
                },
                Stored::Text(i) => put_text(&mut rec, &i),
            }
        }
        varint::put(&mut out, rec.len() as u64);
        out.extend_from_slice(&rec);
    }
    out
}

/// The records of a decompressed block, in order; stops at the first malformed one.
pub(crate) fn records(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut p = 0usize;
    std::iter::from_fn(move || {
        let len = usize::try_from(varint::get(block, &mut p)?).ok()?;
        let rec = block.get(p..p.checked_add(len)?)?;
        p += len;
        Some(rec)
    })
}

/// Title, author and identifiers of one record; what does not decode is left out.
pub(crate) fn read_record(rec: &[u8]) -> (String, String, Vec<Stored>) {
    let mut parts = rec.splitn(3, |b| *b == 0x1F);
    let title = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let author = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    (title, author, parse_ids(parts.next().unwrap_or_default()))
}

fn parse_ids(b: &[u8]) -> Vec<Stored> {
    let mut ids = Vec::new();
    let mut p = 0usize;
    while let Some(&tag) = b.get(p) {
        let (kind, n) = (tag >> 4, usize::from(tag & 0x0F));
        if (1..=3).contains(&kind) && (1..=8).contains(&n) {
            let Some(bytes) = b.get(p + 1..p + 1 + n) else {
                break;
            };
            p += 1 + n;
            let v = bytes.iter().fold(0u64, |v, x| v << 8 | u64::from(*x));
            let kind = match kind {
                1 => IdKind::Isbn,
                2 => IdKind::Issn,
                _ => IdKind::Oclc,
            };
            ids.push(Stored::Number(kind, v));
        } else {
            let end = b[p..]
                .iter()
                .position(|x| *x == 0x1D)
                .map_or(b.len(), |e| p + e);
            ids.extend(Ident::from_key(&b[p..end]).map(Stored::Text));
            p = end + 1;
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ident::{normalize_isbn, normalize_issn, normalize_lccn, normalize_oclc};

    fn stored(i: &Ident) -> Stored {
        match i.number() {
            Some((kind, n)) => Stored::Number(kind, n),
            None => Stored::Text(i.clone()),
        }
    }

    #[test]
    fn records_round_trip_with_every_kind_of_identifier() {
        let ids = vec![
            normalize_isbn("9780306406157").expect("isbn"),
            Ident::from_number(IdKind::Isbn, 979_100_000_000).expect("isbn 979"),
            normalize_isbn("9780306406158").expect("bad check digit"),
            normalize_issn("0317-8471").expect("issn"),
            normalize_oclc("(OCoLC)ocm00012345").expect("oclc"),
            normalize_oclc("4294967296").expect("oclc over 32 bits"),
            normalize_lccn("n78-890351").expect("lccn"),
        ];
        let want: Vec<Stored> = ids.iter().map(stored).collect();
        let mut block = Vec::new();
        for (t, a) in [("Title \x1e one", "Author, A"), ("", "")] {
            let mut rec = Vec::new();
            write_record(&mut rec, t, a, &ids);
            varint::put(&mut block, rec.len() as u64);
            block.extend_from_slice(&rec);
        }
        let recs: Vec<&[u8]> = records(&block).collect();
        assert_eq!(recs.len(), 2);
        let (title, author, back) = read_record(recs[0]);
        assert_eq!(
            (title.as_str(), author.as_str()),
            ("Title   one", "Author, A")
        );
        assert_eq!(back, want);
        let (title, _, back) = read_record(recs[1]);
        assert_eq!(title, "");
        assert_eq!(back, want);

        // coarsening: ISBNs keep a small stand-in, ISSNs have none and become text
        let small = coarsen(&block, |kind, n| (kind != IdKind::Issn).then_some(n % 7));
        let recs: Vec<&[u8]> = records(&small).collect();
        assert_eq!(recs.len(), 2);
        let (title, _, back) = read_record(recs[0]);
        assert_eq!(title, "Title   one");
        let expect: Vec<Stored> = ids
            .iter()
            .map(|i| match i.number() {
                Some((IdKind::Issn, _)) => Stored::Text(i.clone()),
                Some((kind, n)) => Stored::Number(kind, n % 7),
                None => Stored::Text(i.clone()),
            })
            .collect();
        assert_eq!(back, expect);
    }

    #[test]
    fn garbage_decodes_to_something_or_nothing() {
        for b in [&b"\xff\xff\xff"[..], b"\x05ab", b"\x03a\x1f\x1f\x15\x01"] {
            for r in records(b) {
                let _ = read_record(r);
            }
            let _ = coarsen(b, |_, n| Some(n));
        }
        let (_, _, ids) = read_record(b"t\x1fa\x1f\x15\x01");
        assert!(ids.is_empty());
    }
}
