//! What we keep of a bibliographic record: identifiers, the descriptive bits that feed the
//! match key and the title index, material format, and the holdings it carries.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::ident::{self, IdKind, Ident};
use crate::marc::{Record, trim_isbd};

/// Material format of an item, as routing policies see it (3 bits in the index).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Printed books and other monographic text.
    #[default]
    Book,
    /// Journals and other serials (the format articles are copied from).
    Serial,
    /// Video, sound recordings, kits.
    AudioVisual,
    /// Microfilm, microfiche.
    Microform,
    /// Manuscripts, archives, rare material.
    Rare,
    /// Maps.
    Map,
    /// Printed music.
    Score,
    /// Electronic resources and anything else.
    Electronic,
}

impl Format {
    /// All formats, in their index order.
    pub const ALL: [Format; 8] = [
        Format::Book,
        Format::Serial,
        Format::AudioVisual,
        Format::Microform,
        Format::Rare,
        Format::Map,
        Format::Score,
        Format::Electronic,
    ];

    /// Index (0..8).
    pub fn index(self) -> u8 {
        self as u8
    }

    /// From index; out-of-range values map to `Electronic` (the catch-all).
    pub fn from_index(i: u8) -> Format {
        Format::ALL
            .get(usize::from(i))
            .copied()
            .unwrap_or(Format::Electronic)
    }

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Book => "book",
            Format::Serial => "serial",
            Format::AudioVisual => "audio_visual",
            Format::Microform => "microform",
            Format::Rare => "rare",
            Format::Map => "map",
            Format::Score => "score",
            Format::Electronic => "electronic",
        }
    }

    /// Parses a name (as in CSV files and requests).
    pub fn parse(s: &str) -> Option<Format> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Some(match s.as_str() {
            "book" | "books" | "text" | "monograph" => Format::Book,
            "serial" | "serials" | "journal" | "article" | "articles" => Format::Serial,
            "audio_visual" | "av" | "video" | "audio" | "dvd" => Format::AudioVisual,
            "microform" | "microfilm" | "microfiche" => Format::Microform,
            "rare" | "manuscript" | "archive" => Format::Rare,
            "map" | "maps" => Format::Map,
            "score" | "music" => Format::Score,
            "electronic" | "online" | "other" => Format::Electronic,
            _ => return None,
        })
    }

    /// From leader/06–07, 008 and 007 of a MARC record.
    pub fn of_record(r: &Record) -> Format {
        let t = r.leader_byte(6);
        let lvl = r.leader_byte(7);
        let f008 = r.control("008").unwrap_or("");
        let form = f008.as_bytes().get(23).copied().unwrap_or(b' ');
        let micro = matches!(form, b'a' | b'b' | b'c')
            || r.control("007").is_some_and(|s| s.starts_with('h'));
        if micro {
            return Format::Microform;
        }
        match t {
            b'a' | b't' if matches!(lvl, b's' | b'b' | b'i') => Format::Serial,
            b'a' => Format::Book,
            b't' | b'd' | b'f' | b'p' => Format::Rare,
            b'c' => Format::Score,
            b'j' | b'i' | b'g' | b'k' | b'o' | b'r' => Format::AudioVisual,
            b'e' => Format::Map,
            b'm' => Format::Electronic,
            _ => Format::Book,
        }
    }
}

/// One library's holding of an item, as read from the source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldingSpec {
    /// Library symbol (ISIL, OCLC symbol, NUC code: whatever the consortium uses).
    pub symbol: String,
    /// Number of copies (at least 1).
    pub copies: u16,
    /// Whether the library lends this item (circulates and is available for ILL).
    pub lendable: bool,
    /// Format override for this holding (else the record's).
    pub format: Option<Format>,
}

/// A holdings field to read from union records: tag and the subfield with the symbol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldingField {
    /// Field tag, e.g. `852`.
    pub tag: String,
    /// Subfield code holding the library symbol, e.g. `a`.
    pub code: char,
}

impl HoldingField {
    /// Parses `852$a` / `924b` / `949 $m`.
    pub fn parse(s: &str) -> Option<HoldingField> {
        let s: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '$')
            .collect();
        let mut cs = s.chars();
        let tag: String = cs.by_ref().take(3).collect();
        let code = cs.next()?;
        (tag.len() == 3 && tag.chars().all(|c| c.is_ascii_alphanumeric()) && cs.next().is_none())
            .then_some(HoldingField { tag, code })
    }

    /// The defaults: 852 `$a` (MARC holdings location) and 924 `$b` (German union ISIL).
    pub fn defaults() -> Vec<HoldingField> {
        vec![
            HoldingField {
                tag: "852".into(),
                code: 'a',
            },
            HoldingField {
                tag: "924".into(),
                code: 'b',
            },
        ]
    }
}

/// The parts of a record that matching, clustering and display need.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bib {
    /// Control number (001), to join holdings CSVs to records.
    pub record_id: Option<String>,
    /// Identifiers, valid and invalid.
    pub ids: Vec<Ident>,
    /// Former OCLC numbers (019), which alias the current one.
    pub former_oclc: Vec<String>,
    /// Title proper with remainder (245 `$a $b`).
    pub title: String,
    /// Part number/name (245 `$n $p`), which tells set volumes apart.
    pub part: String,
    /// Main entry or first added entry name.
    pub author: String,
    /// Publication year.
    pub year: Option<u16>,
    /// Number of pages, when 300 `$a` gives one.
    pub pages: Option<u32>,
    /// Edition statement digits (250).
    pub edition: String,
    /// Material format.
    pub format: Format,
    /// Holdings carried in the record itself.
    pub holdings: Vec<HoldingSpec>,
    /// Identifier subfields (020, 022, 010) whose text held no identifier at all, as
    /// `tag$code: text`. They cannot be matched on but are reported, not dropped silently.
    pub unreadable_ids: Vec<String>,
    /// Labels of the reader's warnings for this record (for the build report).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The tags [`Bib::from_record`] reads (besides the holdings fields).
pub const BIB_TAGS: &[&[u8; 3]] = &[
    b"001", b"003", b"007", b"008", b"010", b"016", b"019", b"020", b"022", b"035", b"100", b"110",
    b"111", b"245", b"250", b"260", b"264", b"300", b"700", b"710",
];

/// Whether a tag is one a [`Bib`] needs, given the holdings fields in use.
pub fn bib_needs(tag: &[u8; 3], holding_fields: &[HoldingField]) -> bool {
    BIB_TAGS.contains(&tag) || holding_fields.iter().any(|h| h.tag.as_bytes() == tag)
}

impl Bib {
    /// Extracts a [`Bib`] from a MARC record, reading holdings from `holding_fields`.
    pub fn from_record(r: &Record, holding_fields: &[HoldingField]) -> Bib {
        let mut b = Bib {
            record_id: r.control("001").map(|s| s.trim().to_string()),
            format: Format::of_record(r),
            ..Bib::default()
        };
        let push = |b: &mut Bib, id: Ident| {
            if !b.ids.contains(&id) {
                b.ids.push(id);
            }
        };
        let id_fields: [(&str, u8, IdKind, bool); 5] = [
            ("020", b'a', IdKind::Isbn, true),
            // $z is a cancelled/invalid ISBN: keep it findable, never trusted
            ("020", b'z', IdKind::Isbn, false),
            ("022", b'a', IdKind::Issn, true),
            ("022", b'y', IdKind::Issn, false),
            ("010", b'a', IdKind::Lccn, true),
        ];
        for (tag, code, kind, trusted) in id_fields {
            for f in r.fields(tag) {
                for v in f.subs(code) {
                    match ident::normalize(kind, v) {
                        Ok(mut i) => {
                            i.valid &= trusted;
                            push(&mut b, i);
                        }
                        Err(_) => b
                            .unreadable_ids
                            .push(format!("{tag}${}: {v}", code as char)),
                    }
                }
            }
        }
        // OCLC numbers: 035 and 016 with the (OCoLC) prefix; 001 when 003 says OCoLC or the
        // number carries an OCLC prefix
        for tag in ["035", "016"] {
            for f in r.fields(tag) {
                for v in f.subs(b'a') {
                    if v.trim_start().starts_with("(OCoLC)")
                        && let Ok(i) = ident::normalize_oclc(v)
                    {
                        push(&mut b, i);
                    }
                }
            }
        }
        if let Some(c) = r.control("001") {
            let c = c.trim();
            let is_oclc = r.control("003").is_some_and(|s| s.trim() == "OCoLC")
                || c.starts_with("ocm")
                || c.starts_with("ocn")
                || c.starts_with("on");
            if is_oclc && let Ok(i) = ident::normalize_oclc(c) {
                push(&mut b, i);
            }
        }
        for f in r.fields("019") {
            for v in f.subs(b'a') {
                if let Ok(i) = ident::normalize_oclc(v) {
                    b.former_oclc.push(i.value.into());
                }
            }
        }
        if let Some(f) = r.field("245") {
            let mut t = String::new();
            for s in f.subfields.iter().filter(|s| matches!(s.code, b'a' | b'b')) {
                if !t.is_empty() {
                    t.push(' ');
                }
                t.push_str(&trim_isbd(&s.value));
            }
            b.title = t;
            let parts: Vec<_> = f
                .subfields
                .iter()
                .filter(|s| matches!(s.code, b'n' | b'p'))
                .map(|s| trim_isbd(&s.value).into_owned())
                .collect();
            b.part = parts.join(" ");
        }
        b.author = ["100", "110", "111", "700", "710"]
            .iter()
            .find_map(|t| r.field(t).and_then(|f| f.sub(b'a')))
            .map(|s| trim_isbd(s).into_owned())
            .unwrap_or_default();
        b.year = r
            .control("008")
            .and_then(|s| s.get(7..11))
            .and_then(parse_year)
            .or_else(|| {
                ["260", "264"]
                    .iter()
                    .find_map(|t| r.field(t).and_then(|f| f.sub(b'c')).and_then(first_year))
            });
        b.pages = r
            .field("300")
            .and_then(|f| f.sub(b'a'))
            .and_then(first_number);
        b.edition = r
            .field("250")
            .and_then(|f| f.sub(b'a'))
            .map(|s| s.chars().filter(char::is_ascii_digit).take(3).collect())
            .unwrap_or_default();
        for hf in holding_fields {
            for f in r.fields(&hf.tag) {
                for sym in f.subs(hf.code as u8) {
                    let sym = sym.trim();
                    if sym.is_empty() {
                        continue;
                    }
                    if let Some(h) = b.holdings.iter_mut().find(|h| h.symbol == sym) {
                        h.copies = h.copies.saturating_add(1);
                    } else {
                        b.holdings.push(HoldingSpec {
                            symbol: sym.to_string(),
                            copies: 1,
                            lendable: true,
                            format: None,
                        });
                    }
                }
            }
        }
        b
    }

    /// Valid identifiers of a kind.
    pub fn valid_ids(&self, kind: IdKind) -> impl Iterator<Item = &Ident> {
        self.ids.iter().filter(move |i| i.kind == kind && i.valid)
    }

    /// The GoldRush-style match key for records with no shared identifier: normalised
    /// title (70 characters), part, year, pagination, edition, format and the first five
    /// letters of the author. Two records with the same key describe the same item
    /// closely enough to lend one for the other.
    pub fn match_key(&self) -> Option<String> {
        let title = normalize_text(&self.title);
        if title.len() < 3 {
            return None;
        }
        let title: String = title
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(70)
            .collect();
        let part: String = normalize_text(&self.part)
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(10)
            .collect();
        let author: String = normalize_text(&self.author)
            .chars()
            .filter(|c| c.is_alphanumeric())
            .take(5)
            .collect();
        Some(format!(
            "{title}/{part}/{}/{}/{}/{}/{author}",
            self.year.map(|y| y.to_string()).unwrap_or_default(),
            self.pages.map(|p| p.to_string()).unwrap_or_default(),
            self.edition,
            self.format.index()
        ))
    }
}

fn parse_year(s: &str) -> Option<u16> {
    let y: u16 = s.parse().ok()?;
    (1000..=2100).contains(&y).then_some(y)
}

fn first_year(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(3)).find_map(|i| {
        let w = &b[i..i + 4];
        if w.iter().all(u8::is_ascii_digit) && (i + 4 == b.len() || !b[i + 4].is_ascii_digit()) {
            parse_year(std::str::from_utf8(w).ok()?)
        } else {
            None
        }
    })
}

fn first_number(s: &str) -> Option<u32> {
    // "xii, 345 p." -> 345: the largest number followed by "p" wins, else the first number
    let mut best = None;
    for (i, w) in s.split(|c: char| !c.is_ascii_digit()).enumerate() {
        if w.is_empty() || w.len() > 6 {
            continue;
        }
        let n: u32 = w.parse().ok()?;
        if best.is_none() || i > 0 {
            best = Some(best.map_or(n, |b: u32| b.max(n)));
        }
    }
    best
}

/// Words too common to tell titles apart (English, German, French, Spanish articles and
/// prepositions); they are left out of the title index.
const STOP: &[&str] = &[
    "the", "and", "for", "with", "from", "der", "die", "das", "und", "des", "dem", "den", "ein",
    "eine", "les", "des", "une", "pour", "avec", "dans", "los", "las", "del", "por", "con", "une",
    "von", "zur", "zum", "aus",
];

/// Lowercases, strips diacritics, turns punctuation into spaces and collapses runs of
/// spaces. Letters of any script are kept.
pub fn normalize_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = true;
    if s.is_ascii() {
        // most titles: no decomposition needed
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() {
                out.push(b.to_ascii_lowercase() as char);
                space = false;
            } else if !space && b != b'\'' {
                out.push(' ');
                space = true;
            }
        }
        if out.ends_with(' ') {
            out.pop();
        }
        return out;
    }
    for c in s.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                out.push(l);
            }
            space = false;
        } else if !space && c != '\'' && c != '\u{2019}' && c != '\u{02BC}' {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Index tokens of a title or name: normalised words, at least two characters, not stop
/// words. Long words are cut to 24 characters so one pathological title cannot bloat the
/// token dictionary.
pub fn tokens(s: &str) -> Vec<String> {
    let n = normalize_text(s);
    let mut out: Vec<String> = n
        .split(' ')
        .filter(|w| w.chars().count() >= 2 && !STOP.contains(w))
        .map(|w| w.chars().take(24).collect())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_normalisation() {
        assert_eq!(
            normalize_text("Die Erste deutsche Arbeiterbewegung :"),
            "die erste deutsche arbeiterbewegung"
        );
        assert_eq!(normalize_text("Café—Noir!"), "cafe noir");
        assert_eq!(tokens("The Lord of the Rings"), vec!["lord", "of", "rings"]);
    }

    #[test]
    fn numbers() {
        assert_eq!(first_year("c1989."), Some(1989));
        assert_eq!(first_year("[19--?]"), None);
        assert_eq!(first_number("xii, 345 p. :"), Some(345));
        assert_eq!(first_number("VI, 400 S."), Some(400));
    }

    #[test]
    fn holding_field_parse() {
        assert_eq!(HoldingField::parse("924$b").unwrap().code, 'b');
        assert_eq!(HoldingField::parse("949 m").unwrap().tag, "949");
        assert!(HoldingField::parse("92").is_none());
        assert!(HoldingField::parse("924$bc").is_none());
    }
}
