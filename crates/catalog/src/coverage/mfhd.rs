//! Coverage from a MARC holdings record: 853 captions paired with 863 enumeration and
//! chronology by `$8`, and 866 textual holdings.
//!
//! Only the basic bibliographic unit is read (853/863/866). Supplements (854/864/867)
//! and indexes (855/865/868) are held alongside the run, and an article is never in
//! them: counting "index v.1-50" as coverage would send an article from v.40 to a
//! library that has only the index. An 863 with second indicator `4` (items not
//! published) holds nothing.
//!
//! The caption decides what an 863 value is: `$a` under a caption `v.` (or any word) is
//! the volume; under `(year)` it is the year, as is the first chronology subfield
//! (`$i`..`$l`) whose caption is `(year)`. Values are ranges when compressed (`1-19`,
//! `1911-1920/1921`) and combined issues (`10/11`, `2004/2005`).

use std::collections::HashMap;

use super::textual::{self, Unreadable};
use super::{Coverage, MAX_YEAR, MIN_YEAR, Span};
use crate::marc::{Field, Record};

/// What a holdings record's coverage was read from.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Read {
    /// The coverage.
    pub coverage: Coverage,
    /// 863 fields read into spans.
    pub structured: usize,
    /// 866 statements read into spans.
    pub textual: usize,
    /// 866 statements that could not be read, with why.
    pub unread: Vec<(String, Unreadable)>,
}

impl Read {
    /// Whether the record states coverage at all.
    pub fn stated(&self) -> bool {
        self.structured + self.textual + self.unread.len() > 0
    }
}

fn is_year_caption(c: &str) -> bool {
    let c = c
        .trim()
        .trim_matches(|c| c == '(' || c == ')')
        .to_ascii_lowercase();
    matches!(
        c.as_str(),
        "year" | "yr" | "years" | "année" | "jahr" | "año" | "anno"
    )
}

fn is_chron_caption(c: &str) -> bool {
    c.trim().starts_with('(')
}

/// First and last number of an 863 value (`1-19`, `10/11`, `1911-1920/1921`, `1995/96`).
fn value_range(v: &str, years: bool) -> Option<(u32, u32)> {
    let nums: Vec<(u32, usize)> = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| (s.parse::<u32>().unwrap_or(u32::MAX), s.len()))
        .collect();
    let &(first, _) = nums.first()?;
    let &(mut last, digits) = nums.last()?;
    if years && digits < 4 && first >= 1000 {
        // 1995/96: the last year written short
        let m = 10u32.pow(digits as u32);
        last += first - first % m;
        if last < first {
            last += m;
        }
    }
    Some((first, last))
}

fn year(v: u32) -> Option<u16> {
    u16::try_from(v)
        .ok()
        .filter(|y| (MIN_YEAR..=MAX_YEAR).contains(y))
}

fn span_of(f: &Field, caption: Option<&Field>) -> Option<Span> {
    let cap = |code: u8| caption.and_then(|c| c.sub(code));
    let a_is_year = cap(b'a').is_some_and(is_year_caption);
    let a_is_chron = cap(b'a').is_some_and(is_chron_caption);
    let mut s = Span::default();
    if let Some(a) = f.sub(b'a') {
        let a_looks_year = caption.is_none()
            && value_range(a, true).is_some_and(|(x, _)| year(x).is_some() && x >= 1000);
        if a_is_year || a_looks_year {
            let (x, y) = value_range(a, true)?;
            s.first_year = year(x);
            s.last_year = year(y);
        } else if !a_is_chron {
            let (x, y) = value_range(a, false)?;
            s.first_volume = Some(x);
            s.last_volume = Some(y);
        }
    }
    if s.first_year.is_none() {
        let chron = [b'i', b'j', b'k', b'l']
            .into_iter()
            .find(|&c| cap(c).is_some_and(is_year_caption) || (caption.is_none() && c == b'i'));
        if let Some(c) = chron
            && let Some(v) = f.sub(c)
            && let Some((x, y)) = value_range(v, true)
        {
            s.first_year = year(x);
            s.last_year = year(y);
        }
    }
    (s.first_volume.is_some() || s.first_year.is_some()).then_some(s)
}

/// Reads the coverage a holdings record states.
pub fn read(r: &Record) -> Read {
    let mut captions: HashMap<&str, &Field> = HashMap::new();
    for f in r.fields("853") {
        if let Some(link) = f.sub(b'8') {
            captions.entry(link.trim()).or_insert(f);
        }
    }
    let mut out = Read::default();
    let mut spans = Vec::new();
    for f in r.fields("863") {
        if f.ind[1] == b'4' {
            continue;
        }
        let link = f
            .sub(b'8')
            .and_then(|l| l.trim().split('.').next())
            .unwrap_or("");
        if let Some(s) = span_of(f, captions.get(link).copied()) {
            spans.push(s);
            out.structured += 1;
        }
    }
    let mut unread_first: Option<String> = None;
    for f in r.fields("866") {
        for a in f.subs(b'a') {
            match textual::parse(a) {
                Ok(s) => {
                    spans.extend(s);
                    out.textual += 1;
                }
                Err(e) => {
                    unread_first.get_or_insert_with(|| a.to_string());
                    out.unread.push((a.to_string(), e));
                }
            }
        }
    }
    out.coverage = Coverage::from_spans(spans);
    if let Some(u) = unread_first {
        out.coverage.note_unread(&u);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marc::Subfield;

    /// A field from `$8 1.1 $a 1-19 $i 1911-1920/1921`.
    fn field(tag: &str, ind2: u8, subs: &[(u8, &str)]) -> Field {
        Field {
            tag: tag.as_bytes().try_into().unwrap(),
            ind: [b' ', ind2],
            control: None,
            subfields: subs
                .iter()
                .map(|&(code, v)| Subfield {
                    code,
                    value: v.to_string(),
                })
                .collect(),
        }
    }

    fn record(fields: Vec<Field>) -> Record {
        Record {
            leader: "00000cy  a22000004  4500".into(),
            fields,
            warnings: Vec::new(),
        }
    }

    fn shown(r: &Read) -> String {
        r.coverage.to_string()
    }

    /// 863 forms from the MARC 21 holdings documentation (the `$w` break indicator and
    /// `$a` examples) and appendix B, each with its caption.
    #[test]
    fn documented_caption_and_enumeration_pairs() {
        type Subs<'a> = &'a [(u8, &'a str)];
        let cases: &[(Subs, &[Subs], &str)] = &[
            // $w g: a gap between v.19 and v.22
            (
                &[(b'8', "1"), (b'a', "Bd."), (b'i', "(year)")],
                &[
                    &[
                        (b'8', "1.1"),
                        (b'a', "1-19"),
                        (b'i', "1911-1920/1921"),
                        (b'w', "g"),
                    ],
                    &[(b'8', "1.2"), (b'a', "22"), (b'i', "1924/1925")],
                ],
                "v.1-19 (1911-1921), v.22 (1924-1925)",
            ),
            // $w n: unpublished, the year caption as the first level
            (
                &[(b'8', "1"), (b'a', "(year)")],
                &[
                    &[(b'8', "1.1"), (b'a', "1900-1915"), (b'w', "n")],
                    &[(b'8', "1.2"), (b'a', "1917-1940")],
                ],
                "1900-1915, 1917-1940",
            ),
            (
                &[(b'8', "1"), (b'a', "v."), (b'i', "(year)")],
                &[
                    &[
                        (b'8', "1.1"),
                        (b'a', "1-3"),
                        (b'i', "1958-1960"),
                        (b'w', "g"),
                    ],
                    &[
                        (b'8', "1.2"),
                        (b'a', "5-7"),
                        (b'i', "1962-1965"),
                        (b'w', "n"),
                    ],
                    &[
                        (b'8', "1.3"),
                        (b'a', "9-10"),
                        (b'i', "1967-1968"),
                        (b'w', "g"),
                    ],
                    &[(b'8', "1.4"), (b'a', "13-14"), (b'i', "1971-1972")],
                ],
                "v.1-3 (1958-1960), v.5-7 (1962-1965), v.9-10 (1967-1968), v.13-14 (1971-1972)",
            ),
            // $a: a numbered series
            (
                &[(b'8', "1"), (b'a', "ser.5:v."), (b'i', "(year)")],
                &[&[(b'8', "1.1"), (b'a', "24-33"), (b'i', "1969-1978")]],
                "v.24-33 (1969-1978)",
            ),
            (
                &[(b'8', "1"), (b'a', "v.")],
                &[&[(b'8', "1.1"), (b'a', "1-25")]],
                "v.1-25",
            ),
            // appendix B: serial with pattern changes (two captions)
            (
                &[
                    (b'8', "1"),
                    (b'a', "v."),
                    (b'b', "no."),
                    (b'u', "12"),
                    (b'v', "r"),
                    (b'i', "(year)"),
                    (b'j', "(month)"),
                ],
                &[&[(b'8', "1.1"), (b'a', "1-20"), (b'i', "1971-1990")]],
                "v.1-20 (1971-1990)",
            ),
        ];
        for (caption, fields, want) in cases {
            let mut fs = vec![field("853", b'0', caption)];
            fs.extend(fields.iter().map(|f| field("863", b'0', f)));
            let r = read(&record(fs));
            assert_eq!(shown(&r), *want, "{fields:?}");
            assert_eq!(r.structured, fields.len());
        }
    }

    #[test]
    fn supplements_indexes_and_unpublished_are_not_coverage() {
        let r = read(&record(vec![
            field("855", b' ', &[(b'8', "1"), (b'a', "(year)")]),
            field("865", b'1', &[(b'8', "1.1"), (b'a', "1918")]),
            field("853", b' ', &[(b'8', "1"), (b'a', "v.")]),
            field("863", b'4', &[(b'8', "1.1"), (b'a', "5")]),
            field("868", b' ', &[(b'a', "1937-1942")]),
        ]));
        assert!(!r.stated());
        assert!(r.coverage.is_empty());
    }

    #[test]
    fn textual_and_structured_together_and_unread_kept() {
        let r = read(&record(vec![
            field("853", b' ', &[(b'8', "1"), (b'a', "(year)")]),
            field("863", b'1', &[(b'8', "1.1"), (b'a', "2004/2005")]),
            field("866", b' ', &[(b'a', "2000/2001 - 2003/2004")]),
            field(
                "866",
                b' ',
                &[(b'a', "1937-1942, plus 1969/1978 cumulative vol.")],
            ),
        ]));
        assert_eq!(r.structured, 1);
        assert_eq!(r.textual, 1);
        assert_eq!(r.unread.len(), 1);
        assert_eq!(
            shown(&r),
            "2000-2005; unreadable statement \"1937-1942, plus 1969/1978 cumulative vol.\""
        );
    }

    #[test]
    fn values() {
        assert_eq!(value_range("1-19", false), Some((1, 19)));
        assert_eq!(value_range("10/11", false), Some((10, 11)));
        assert_eq!(value_range("1911-1920/1921", true), Some((1911, 1921)));
        assert_eq!(value_range("1995/96", true), Some((1995, 1996)));
        assert_eq!(value_range("1999/00", true), Some((1999, 2000)));
        assert_eq!(value_range("", false), None);
    }
}
