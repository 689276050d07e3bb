//! What we keep of a MARC record: identifiers, the descriptive elements that clustering
//! compares and the title index holds, material format, the holdings it carries and, for
//! a MARC holdings (MFHD) record, the bibliographic record it belongs to.

use serde::{Deserialize, Serialize};

use crate::format::Format;
use crate::ident::{self, IdKind, Ident};
use crate::lending::{self, HoldingField, HoldingSpec, LendRule, Lending};
use crate::marc::{Field, Record, trim_isbd};
use crate::words::normalize_text;

/// Whether a record describes an item or a library's holdings of one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A bibliographic record.
    #[default]
    Bibliographic,
    /// A MARC holdings record (leader/06 `u`, `v`, `x` or `y`): holdings of the
    /// bibliographic record it links to, never an item of its own.
    Holdings,
}

/// Where a field's values are: a control field (`001`) or a subfield (`901$a`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldRef {
    /// Tag.
    pub tag: String,
    /// Subfield code, for a data field.
    pub code: Option<char>,
}

impl FieldRef {
    /// Parses `001` or `901$a`.
    pub fn parse(s: &str) -> Option<FieldRef> {
        let s = s.trim();
        if let Some(h) = HoldingField::parse(s) {
            return Some(FieldRef {
                tag: h.tag,
                code: Some(h.code),
            });
        }
        (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) && s.starts_with("00")).then(|| {
            FieldRef {
                tag: s.to_string(),
                code: None,
            }
        })
    }

    /// The values it points at in a record, trimmed, empty ones left out.
    pub fn values<'a>(&'a self, r: &'a Record) -> impl Iterator<Item = &'a str> + 'a {
        r.fields(&self.tag)
            .flat_map(move |f| match self.code {
                None => {
                    Box::new(f.control.as_deref().into_iter()) as Box<dyn Iterator<Item = &str>>
                }
                Some(c) => Box::new(f.subs(c as u8)),
            })
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// How holdings records link to bibliographic records: the MFHD's field naming the
/// bibliographic record, and the bibliographic record's field it names. MARC's own link
/// is 004 → 001 ([`MfhdLink::default`]); some exports use their own (the Evergreen test
/// set: the MFHD's first 001 names the bibliographic record's 901 `$a`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfhdLink {
    /// In the holdings record.
    pub holdings: FieldRef,
    /// In the bibliographic record.
    pub bibliographic: FieldRef,
}

impl Default for MfhdLink {
    fn default() -> Self {
        MfhdLink {
            holdings: FieldRef {
                tag: "004".into(),
                code: None,
            },
            bibliographic: FieldRef {
                tag: "001".into(),
                code: None,
            },
        }
    }
}

impl MfhdLink {
    /// Parses `HOLDINGS=BIBLIOGRAPHIC`, e.g. `004=001` or `001=901$a`.
    pub fn parse(s: &str) -> Option<MfhdLink> {
        let (h, b) = s.split_once('=')?;
        Some(MfhdLink {
            holdings: FieldRef::parse(h)?,
            bibliographic: FieldRef::parse(b)?,
        })
    }
}

/// How to read records of one source.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Holdings fields to read (union files); empty for a library's own file.
    pub holdings: Vec<HoldingField>,
    /// How holdings records link to bibliographic records.
    pub link: MfhdLink,
}

/// The parts of a record that matching, clustering and display need.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bib {
    /// Control number (001), to join holdings CSVs to records and name them in reports.
    pub record_id: Option<String>,
    /// Bibliographic or holdings record.
    pub kind: RecordKind,
    /// Identifiers: valid, with bad check digits, and cancelled.
    pub ids: Vec<Ident>,
    /// Former OCLC numbers (019), which alias the current one.
    pub former_oclc: Vec<String>,
    /// Title for display: 245 `$a $b $n $p`, in the record's order.
    pub title: String,
    /// Title proper (245 `$a`).
    pub title_proper: String,
    /// Remainder of title (245 `$b`): subtitles, parallel titles.
    pub subtitle: String,
    /// Part number/name (245 `$n $p`), which tells set volumes apart.
    pub part: String,
    /// Main entry name (100/110/111 `$a`), else the first added entry (700/710).
    pub author: String,
    /// Whether [`Bib::author`] is a main entry (a 1XX), not an added entry.
    pub main_entry: bool,
    /// Further names (700/710 `$a`, up to four), searchable.
    pub other_names: Vec<String>,
    /// Other forms of the title: 246 `$a`, and the vernacular 245 from 880.
    pub alt_titles: Vec<String>,
    /// Vernacular forms of names (880 linked to 100/110/111/700/710).
    pub alt_names: Vec<String>,
    /// Publication year.
    pub year: Option<u16>,
    /// Number of pages, when 300 `$a` counts them.
    pub pages: Option<u32>,
    /// Edition number from 250 ("2nd ed.", "Zweite Auflage" and "2. éd." are all `2`),
    /// empty when the statement has none.
    pub edition: String,
    /// Language of the text (008/35–37), when the record gives a real one.
    pub language: Option<String>,
    /// Material format.
    pub format: Format,
    /// Holdings carried in the record's holdings fields ([`ReadOptions::holdings`]).
    pub holdings: Vec<HoldingSpec>,
    /// What the record says about its own library's copy (852 notes, MFHD 008/20–21),
    /// for a library's own file.
    pub own_lending: Option<(Lending, LendRule)>,
    /// For a bibliographic record, the values holdings records may link to it by; for a
    /// holdings record, the value naming its bibliographic record.
    pub link: Vec<String>,
    /// Identifier subfields (020, 022, 010) whose text held no identifier at all, as
    /// `tag$code: text`. They cannot be matched on but are reported, not dropped silently.
    pub unreadable_ids: Vec<String>,
    /// Serial coverage the record states (853/863/866): a holdings record's, or a
    /// library's own bibliographic record with embedded holdings.
    pub serial: Option<crate::coverage::mfhd::Read>,
    /// Labels of the reader's warnings for this record (for the build report).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The tags [`Bib::read`] uses (besides the holdings fields and the link).
pub const BIB_TAGS: &[&[u8; 3]] = &[
    b"001", b"003", b"004", b"007", b"008", b"010", b"016", b"019", b"020", b"022", b"035", b"100",
    b"110", b"111", b"245", b"246", b"250", b"260", b"264", b"300", b"338", b"700", b"710", b"852",
    b"853", b"856", b"863", b"866", b"880",
];

/// Whether a tag is one a [`Bib`] needs, given how the source is read.
pub fn bib_needs(tag: &[u8; 3], opts: &ReadOptions) -> bool {
    BIB_TAGS.contains(&tag)
        || opts.holdings.iter().any(|h| h.tag.as_bytes() == tag)
        || opts.link.holdings.tag.as_bytes() == tag
        || opts.link.bibliographic.tag.as_bytes() == tag
}

/// The 880 field's linked tag (`$6 245-01/$1` → `245`).
fn linked_tag(f: &Field) -> Option<&str> {
    f.sub(b'6').and_then(|s| s.get(..3))
}

impl Bib {
    /// Extracts a [`Bib`] from a MARC record, reading holdings from `holding_fields` and
    /// linking holdings records by MARC's 004.
    pub fn from_record(r: &Record, holding_fields: &[HoldingField]) -> Bib {
        Bib::read(
            r,
            &ReadOptions {
                holdings: holding_fields.to_vec(),
                link: MfhdLink::default(),
            },
        )
    }

    /// Extracts a [`Bib`] from a MARC record.
    pub fn read(r: &Record, opts: &ReadOptions) -> Bib {
        let kind = if matches!(r.leader_byte(6), b'u' | b'v' | b'x' | b'y') {
            RecordKind::Holdings
        } else {
            RecordKind::Bibliographic
        };
        let mut b = Bib {
            record_id: r.control("001").map(|s| s.trim().to_string()),
            kind,
            holdings: lending::read_holdings(r, &opts.holdings),
            own_lending: lending::own_lending(r),
            ..Bib::default()
        };
        let serial = crate::coverage::mfhd::read(r);
        if serial.stated() {
            b.serial = Some(serial);
        }
        if kind == RecordKind::Holdings {
            b.link = opts
                .link
                .holdings
                .values(r)
                .take(1)
                .map(String::from)
                .collect();
            return b;
        }
        b.link = opts
            .link
            .bibliographic
            .values(r)
            .map(String::from)
            .collect();
        b.format = Format::of_record(r);
        if b.format == Format::Electronic {
            for h in &mut b.holdings {
                h.limit(Lending::COPY_ONLY, LendRule::Online);
            }
        }
        b.read_identifiers(r);
        b.read_description(r);
        b
    }

    fn read_identifiers(&mut self, r: &Record) {
        let push = |b: &mut Bib, id: Ident| {
            if !b.ids.contains(&id) {
                b.ids.push(id);
            }
        };
        // $z (and an ISSN's $y) are numbers the record itself marks cancelled or invalid
        let id_fields: [(&str, u8, IdKind, bool); 6] = [
            ("020", b'a', IdKind::Isbn, false),
            ("020", b'z', IdKind::Isbn, true),
            ("022", b'a', IdKind::Issn, false),
            ("022", b'y', IdKind::Issn, true),
            ("022", b'z', IdKind::Issn, true),
            ("010", b'a', IdKind::Lccn, false),
        ];
        for (tag, code, kind, cancelled) in id_fields {
            for f in r.fields(tag) {
                for v in f.subs(code) {
                    match ident::normalize(kind, v) {
                        Ok(i) => push(self, if cancelled { i.cancelled() } else { i }),
                        Err(_) => self
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
                        push(self, i);
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
                push(self, i);
            }
        }
        for f in r.fields("019") {
            for v in f.subs(b'a') {
                if let Ok(i) = ident::normalize_oclc(v) {
                    self.former_oclc.push(i.value.into());
                }
            }
        }
    }

    fn read_description(&mut self, r: &Record) {
        if let Some(f) = r.field("245") {
            let joined = |codes: &[u8]| -> String {
                let mut t = String::new();
                let mut last = 0u8;
                for s in f.subfields.iter().filter(|s| codes.contains(&s.code)) {
                    let v = trim_isbd(&s.value);
                    if v.is_empty() {
                        continue;
                    }
                    // ISBD's separators, which trim_isbd took off the ends: "Title :
                    // subtitle", "Title. 1, A - D"
                    if !t.is_empty() {
                        t.push_str(match (last, s.code) {
                            (_, b'b') => " : ",
                            (b'n', b'p') => ", ",
                            (_, b'n' | b'p') => ". ",
                            _ => " ",
                        });
                    }
                    t.push_str(&v);
                    last = s.code;
                }
                t
            };
            self.title_proper = joined(b"a");
            self.subtitle = joined(b"b");
            // the part too: staff tell "Rheinisches Wörterbuch. 1, A - D" from volume 2 by it
            self.title = joined(b"anpb");
            self.part = joined(b"np");
        }
        let name = |tags: &[&str]| {
            tags.iter()
                .find_map(|t| r.field(t).and_then(|f| f.sub(b'a')))
                .map(|s| trim_isbd(s).into_owned())
        };
        match name(&["100", "110", "111"]) {
            Some(a) => {
                self.author = a;
                self.main_entry = true;
            }
            None => self.author = name(&["700", "710"]).unwrap_or_default(),
        }
        self.other_names = ["700", "710"]
            .iter()
            .flat_map(|t| r.fields(t))
            .filter_map(|f| f.sub(b'a'))
            .map(|s| trim_isbd(s).into_owned())
            .filter(|s| *s != self.author)
            .take(4)
            .collect();
        self.alt_titles = r
            .fields("246")
            .filter_map(|f| f.sub(b'a'))
            .map(|s| trim_isbd(s).into_owned())
            .take(4)
            .collect();
        for f in r.fields("880") {
            match linked_tag(f) {
                Some("245") => {
                    let t: Vec<String> = f
                        .subfields
                        .iter()
                        .filter(|s| matches!(s.code, b'a' | b'b'))
                        .map(|s| trim_isbd(&s.value).into_owned())
                        .collect();
                    if !t.is_empty() {
                        self.alt_titles.push(t.join(" "));
                    }
                }
                Some("100" | "110" | "111" | "700" | "710") if self.alt_names.len() < 4 => {
                    if let Some(a) = f.sub(b'a') {
                        self.alt_names.push(trim_isbd(a).into_owned());
                    }
                }
                _ => {}
            }
        }
        let f008 = r.control("008").unwrap_or("");
        self.year = f008.get(7..11).and_then(parse_year).or_else(|| {
            ["260", "264"]
                .iter()
                .find_map(|t| r.field(t).and_then(|f| f.sub(b'c')).and_then(first_year))
        });
        self.language = f008
            .get(35..38)
            .map(str::to_ascii_lowercase)
            .filter(|l| l.bytes().all(|b| b.is_ascii_lowercase()))
            .filter(|l| !matches!(l.as_str(), "und" | "mul" | "zxx" | "xxx" | "mis"));
        self.pages = r
            .field("300")
            .and_then(|f| f.sub(b'a'))
            .and_then(first_number);
        self.edition = r
            .field("250")
            .and_then(|f| f.sub(b'a'))
            .map(edition_number)
            .unwrap_or_default();
    }

    /// Valid identifiers of a kind.
    pub fn valid_ids(&self, kind: IdKind) -> impl Iterator<Item = &Ident> {
        self.ids.iter().filter(move |i| i.kind == kind && i.valid())
    }

    /// Whether the record has any valid identifier.
    pub fn has_valid_id(&self) -> bool {
        self.ids.iter().any(Ident::valid)
    }

    /// The GoldRush-style match key for records with no shared identifier: normalised
    /// title (70 characters), part, year, pagination, edition, format and the first five
    /// letters of the author. Two records with the same key describe the same item
    /// closely enough to lend one for the other.
    pub fn match_key(&self) -> Option<String> {
        let title = normalize_text(&format!("{} {}", self.title_proper, self.subtitle));
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

/// The page count of an extent statement (300 `$a`): the largest number followed by a
/// word for pages or leaves ("xii, 345 p.", "2 v. (1345 p.)", "79 leaves", "VI, 400 S.");
/// `None` for volumes, "unpaged" and the like, which do not count pages.
fn first_number(s: &str) -> Option<u32> {
    const UNITS: &[&str] = &[
        "p", "pp", "pages", "leaves", "s", "seiten", "f", "fol", "str",
    ];
    let b = s.as_bytes();
    let mut best: Option<u32> = None;
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let unit: String = s[i..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphabetic())
            .collect::<String>()
            .to_lowercase();
        if i - start <= 6
            && UNITS.contains(&unit.as_str())
            && let Ok(n) = s[start..i].parse::<u32>()
        {
            best = Some(best.map_or(n, |x| x.max(n)));
        }
    }
    best
}

/// Ordinal words of edition statements in the major cataloguing languages, by number.
const ORDINALS: &[(&str, u8)] = &[
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
    ("erste", 1),
    ("zweite", 2),
    ("dritte", 3),
    ("vierte", 4),
    ("funfte", 5),
    ("sechste", 6),
    ("siebte", 7),
    ("achte", 8),
    ("neunte", 9),
    ("zehnte", 10),
    ("premiere", 1),
    ("premier", 1),
    ("deuxieme", 2),
    ("seconde", 2),
    ("troisieme", 3),
    ("quatrieme", 4),
    ("cinquieme", 5),
    ("primera", 1),
    ("primero", 1),
    ("segunda", 2),
    ("tercera", 3),
    ("cuarta", 4),
    ("quinta", 5),
    ("prima", 1),
    ("seconda", 2),
    ("terza", 3),
    ("quarta", 4),
];

/// The edition number a 250 statement gives: its first number of at most three digits
/// ("2nd ed.", "2. Aufl.", "3a ed.", "Di 1 ban"), else an ordinal word ("Second
/// edition", "Zweite Auflage", "Deuxième édition"); empty when there is neither ("Rev.
/// ed.", "Expanded ed.": statements that say nothing comparable).
pub fn edition_number(s: &str) -> String {
    let n = normalize_text(s);
    for w in n.split(' ') {
        let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            if digits.len() <= 3 && w.len() - digits.len() <= 3 {
                return digits.trim_start_matches('0').to_string();
            }
            continue;
        }
        if let Some((_, v)) = ORDINALS.iter().find(|(o, _)| *o == w) {
            return v.to_string();
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marc::Subfield;

    #[test]
    fn numbers() {
        assert_eq!(first_year("c1989."), Some(1989));
        assert_eq!(first_year("[19--?]"), None);
        assert_eq!(first_number("xii, 345 p. :"), Some(345));
        assert_eq!(first_number("VI, 400 S."), Some(400));
        assert_eq!(first_number("2 v. (1345 p.) :"), Some(1345));
        assert_eq!(first_number("79 leaves :"), Some(79));
        assert_eq!(first_number("3 v. ;"), None);
        assert_eq!(first_number("1 v. (unpaged) :"), None);
    }

    #[test]
    fn editions() {
        for (s, want) in [
            ("2nd ed.", "2"),
            ("2. Aufl.", "2"),
            ("Second edition", "2"),
            ("Zweite, überarbeitete Auflage", "2"),
            ("Deuxième édition", "2"),
            ("3a ed.", "3"),
            ("1st Scribner Paperback ed.", "1"),
            ("Di 1 ban.", "1"),
            ("Rev. 1999.", ""),
            ("Expanded ed.", ""),
            ("[3rd. ed., rev.]", "3"),
            ("New standard ed.", ""),
        ] {
            assert_eq!(edition_number(s), want, "{s}");
        }
    }

    fn f(tag: &[u8; 3], subs: &[(u8, &str)]) -> Field {
        Field {
            tag: *tag,
            ind: *b"10",
            control: None,
            subfields: subs
                .iter()
                .map(|(c, v)| Subfield {
                    code: *c,
                    value: (*v).into(),
                })
                .collect(),
        }
    }

    fn c(tag: &[u8; 3], v: &str) -> Field {
        Field {
            tag: *tag,
            ind: *b"  ",
            control: Some(v.into()),
            subfields: vec![],
        }
    }

    #[test]
    fn reads_the_parts_clustering_compares() {
        // LoC 00311751 (abridged): romanised 245 with its vernacular 880
        let r = Record {
            leader: "00000cam a2200000 a 4500".into(),
            fields: vec![
                c(b"001", "00311751"),
                c(b"008", "000410s1999    ag a     b    000 0 yid d"),
                f(b"020", &[(b'a', "9879333071"), (b'z', "0-19-852663-6")]),
                f(b"100", &[(b'6', "880-01"), (b'a', "Wapner-Lewin, Paie.")]),
                f(
                    b"245",
                    &[
                        (b'6', "880-02"),
                        (b'a', "Mayn flikhṭ tsu dertseyln :"),
                        (b'b', "derinerungen fun a lereren in Ṿilner geṭo /"),
                        (b'c', "Paye Ṿapner Leṿin."),
                    ],
                ),
                f(b"250", &[(b'a', "2. oyfl.")]),
                f(
                    b"880",
                    &[(b'6', "100-01/(2/r"), (b'a', "װאַפּנער-לעװין, פּײַע.")],
                ),
                f(
                    b"880",
                    &[(b'6', "245-02/(2/r"), (b'a', "מײַן פֿליכט צו דערצײלן :")],
                ),
            ],
            warnings: vec![],
        };
        let b = Bib::read(&r, &ReadOptions::default());
        assert_eq!(b.kind, RecordKind::Bibliographic);
        assert_eq!(b.title_proper, "Mayn flikhṭ tsu dertseyln");
        assert_eq!(b.subtitle, "derinerungen fun a lereren in Ṿilner geṭo");
        assert_eq!(b.language.as_deref(), Some("yid"));
        assert_eq!(b.edition, "2");
        assert!(b.main_entry);
        assert_eq!(b.alt_titles, ["מײַן פֿליכט צו דערצײלן"]);
        assert_eq!(b.alt_names, ["װאַפּנער-לעװין, פּײַע"]);
        assert_eq!(b.link, ["00311751"]);
        let cancelled: Vec<String> = b
            .ids
            .iter()
            .filter(|i| i.status == crate::ident::IdStatus::Cancelled)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(cancelled, ["isbn:9780198526636 (cancelled)"]);
    }

    #[test]
    fn holdings_records_link_and_carry_no_description() {
        let mut r = Record {
            leader: "00267cy  a22000854  4500".into(),
            fields: vec![
                c(b"001", "a814607"),
                c(b"001", "44368"),
                f(b"852", &[(b'b', "HRSRH")]),
            ],
            warnings: vec![],
        };
        let opts = ReadOptions {
            holdings: vec![HoldingField::parse("852$b").unwrap()],
            link: MfhdLink::parse("001=901$a").unwrap(),
        };
        let b = Bib::read(&r, &opts);
        assert_eq!(b.kind, RecordKind::Holdings);
        assert_eq!(b.link, ["a814607"]);
        assert_eq!(b.holdings[0].symbol, "HRSRH");
        assert!(b.title.is_empty() && b.ids.is_empty());
        r.fields.push(c(b"004", "x"));
        assert_eq!(Bib::from_record(&r, &[]).link, ["x"]);
        assert!(MfhdLink::parse("001").is_none());
        assert!(MfhdLink::parse("004=9xx").is_none());
    }
}
