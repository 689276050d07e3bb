//! Holdings as sources state them, and what each one allows for interlibrary loan.
//!
//! A holding is lent, copied, both or neither. Sources say so in their own ways, and
//! each way is a [`LendRule`] that the build report counts and routing names when it
//! leaves a holding out:
//!
//! - **924 `$d`**, the ILL indicator of the German union catalogues (GBV, SWB/K10plus):
//!   `a` loan only, `b` paper copies only, `c` loan and copy, `d` no ILL, `e` electronic
//!   copies to the end user only (copy only). Absent: loan and copy.
//! - **852 `$x` / `$z`** notes (nonpublic, public): "non-circulating", "reference only",
//!   "library use only", "Präsenzbestand", "exclu du prêt", ... mean no ILL at all;
//!   "copy only" / "photocopies only" mean copies only.
//! - **MFHD 008/20 and 008/21** (holdings records): lending policy `b` = will not lend,
//!   reproduction policy `b` = will not reproduce.
//! - the holdings CSV's `lendable` column and a library source's `lendable = false`;
//! - **online resources** ([`crate::format::is_online`]): never lent, copied only where
//!   the lender's licences allow (the directory decides that at routing time).

use serde::{Deserialize, Serialize};

use crate::format::Format;
use crate::marc::{Field, Record};

/// What a library does with its copy for interlibrary loan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Lending {
    /// Lends the item (returnable).
    pub loan: bool,
    /// Supplies copies (chapters, articles).
    pub copy: bool,
}

impl Lending {
    /// Loans and copies.
    pub const BOTH: Lending = Lending {
        loan: true,
        copy: true,
    };
    /// Neither.
    pub const NONE: Lending = Lending {
        loan: false,
        copy: false,
    };
    /// Copies only.
    pub const COPY_ONLY: Lending = Lending {
        loan: false,
        copy: true,
    };
    /// Loans only.
    pub const LOAN_ONLY: Lending = Lending {
        loan: true,
        copy: false,
    };

    /// Whether it supplies anything.
    pub fn any(self) -> bool {
        self.loan || self.copy
    }

    /// What two holdings of one library together allow.
    pub fn union(self, o: Lending) -> Lending {
        Lending {
            loan: self.loan || o.loan,
            copy: self.copy || o.copy,
        }
    }

    /// What both limits together allow.
    pub fn intersect(self, o: Lending) -> Lending {
        Lending {
            loan: self.loan && o.loan,
            copy: self.copy && o.copy,
        }
    }
}

/// Which statement of a source limited a holding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LendRule {
    /// 924 `$d`, the German union catalogues' ILL indicator (its code).
    IllIndicator(char),
    /// A non-circulating or copy-only note in 852 `$x`/`$z`.
    HoldingsNote,
    /// 008/20–21 of a MARC holdings (MFHD) record.
    MfhdPolicy,
    /// The holdings CSV's `lendable` column.
    Csv,
    /// The source file is declared non-lending (`lendable = false`).
    Source,
    /// An online resource: never lent, copied only under licence.
    Online,
}

impl LendRule {
    /// A short label for reports (`924$d=d`, `852 note`, ...).
    pub fn label(self) -> String {
        match self {
            LendRule::IllIndicator(c) => format!("924$d={c}"),
            LendRule::HoldingsNote => "852 note".into(),
            LendRule::MfhdPolicy => "MFHD 008/20-21".into(),
            LendRule::Csv => "csv lendable column".into(),
            LendRule::Source => "source lendable = false".into(),
            LendRule::Online => "online resource".into(),
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
    /// What it allows.
    pub lending: Lending,
    /// The rule that limited it, when something did.
    pub rule: Option<LendRule>,
    /// Format override for this holding (else the record's).
    pub format: Option<Format>,
    /// Which volumes and years of a serial it holds, when a holdings statement says.
    #[serde(default)]
    pub coverage: Option<crate::coverage::Coverage>,
}

impl HoldingSpec {
    /// A lendable single copy.
    pub fn new(symbol: impl Into<String>) -> HoldingSpec {
        HoldingSpec {
            symbol: symbol.into(),
            copies: 1,
            lending: Lending::BOTH,
            rule: None,
            format: None,
            coverage: None,
        }
    }

    /// Narrows what the holding allows, recording why (the first limiting rule is kept).
    pub fn limit(&mut self, to: Lending, rule: LendRule) {
        let after = self.lending.intersect(to);
        if after != self.lending {
            self.lending = after;
            self.rule.get_or_insert(rule);
        }
    }
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
}

/// Phrases of 852 notes that take an item out of ILL, lower case, without diacritics. A
/// phrase is found between word boundaries ("no ill" is not in "no illustrations"); one
/// ending in `*` is a stem, and may run on ("non-circ*": "non-circulating").
const NOT_LENT: &[&str] = &[
    "non-circ*",
    "noncirc*",
    "non circ*",
    "not for loan",
    "does not circulate",
    "not circulate",
    "reference only",
    "library use only",
    "lib use only",
    "in-library use",
    "room use only",
    "not for ill",
    "no ill",
    "no interlibrary loan",
    "not available for interlibrary loan",
    "non-lending",
    "praesenz*",
    "prasenz*",
    "nicht ausleihbar",
    "nicht entleihbar",
    "keine fernleihe",
    "exclu du pret",
    "consultation sur place",
    "solo consulta",
    "excluido de prestamo",
    "escluso dal prestito",
];

/// Phrases of 852 notes that allow copies only.
const COPY_ONLY: &[&str] = &[
    "copy only",
    "copies only",
    "photocopies only",
    "photocopy only",
    "nur kopie",
];

/// Whether `text` holds `phrase` (see [`NOT_LENT`]) between word boundaries.
fn has_phrase(text: &str, phrase: &str) -> bool {
    let (p, stem) = match phrase.strip_suffix('*') {
        Some(p) => (p, true),
        None => (phrase, false),
    };
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(p).any(|(at, _)| {
        !word(text[..at].chars().next_back())
            && (stem || !word(text[at + p.len()..].chars().next()))
    })
}

/// What one 852 field's notes allow, if they say anything.
pub fn note_lending(f: &Field) -> Option<Lending> {
    let mut out: Option<Lending> = None;
    for v in f.subs(b'x').chain(f.subs(b'z')) {
        let t = crate::words::ascii_fold(v).to_lowercase();
        if COPY_ONLY.iter().any(|p| has_phrase(&t, p)) {
            out = Some(out.map_or(Lending::COPY_ONLY, |o| o.intersect(Lending::COPY_ONLY)));
        } else if NOT_LENT.iter().any(|p| has_phrase(&t, p)) {
            out = Some(Lending::NONE);
        }
    }
    out
}

/// What a 924 field's `$d` allows, with its code.
pub fn ill_indicator(f: &Field) -> Option<(Lending, char)> {
    let c = f.sub(b'd')?.trim().chars().next()?.to_ascii_lowercase();
    let l = match c {
        'a' => Lending::LOAN_ONLY,
        'b' | 'e' => Lending::COPY_ONLY,
        'c' => Lending::BOTH,
        'd' => Lending::NONE,
        _ => return None,
    };
    Some((l, c))
}

/// What a MARC holdings record's 008/20 (lending) and 008/21 (reproduction) allow.
pub fn mfhd_policy(r: &Record) -> Option<Lending> {
    let f = r.control("008")?.as_bytes();
    let (lend, repro) = (f.get(20).copied()?, f.get(21).copied().unwrap_or(b'u'));
    let l = Lending {
        loan: lend != b'b',
        copy: repro != b'b',
    };
    (l != Lending::BOTH).then_some(l)
}

/// The holdings a union record carries in `fields`, one per library, with what each
/// allows: copies counted per field, lending combined over a library's fields.
pub fn read_holdings(r: &Record, fields: &[HoldingField]) -> Vec<HoldingSpec> {
    let mut out: Vec<HoldingSpec> = Vec::new();
    for hf in fields {
        for f in r.fields(&hf.tag) {
            let stated = match &f.tag {
                b"924" => ill_indicator(f).map(|(l, c)| (l, LendRule::IllIndicator(c))),
                b"852" => note_lending(f).map(|l| (l, LendRule::HoldingsNote)),
                _ => None,
            };
            for sym in f.subs(hf.code as u8) {
                let sym = sym.trim();
                if sym.is_empty() {
                    continue;
                }
                let this = stated.map_or(Lending::BOTH, |s| s.0);
                match out.iter_mut().find(|h| h.symbol == sym) {
                    Some(h) => {
                        h.copies = h.copies.saturating_add(1);
                        let before = h.lending;
                        h.lending = h.lending.union(this);
                        if h.lending == Lending::BOTH {
                            h.rule = None;
                        } else if h.lending != before || h.rule.is_none() {
                            h.rule = h.rule.or(stated.map(|s| s.1));
                        }
                    }
                    None => out.push(HoldingSpec {
                        symbol: sym.to_string(),
                        copies: 1,
                        lending: this,
                        rule: stated.filter(|s| s.0 != Lending::BOTH).map(|s| s.1),
                        format: None,
                        coverage: None,
                    }),
                }
            }
        }
    }
    out
}

/// What a library's own record says about its copy (in a library's file, where every
/// record is that library's): the 852 notes, when every 852 field limits it; or an MFHD
/// record's 008 policy.
pub fn own_lending(r: &Record) -> Option<(Lending, LendRule)> {
    if matches!(r.leader_byte(6), b'u' | b'v' | b'x' | b'y')
        && let Some(l) = mfhd_policy(r)
    {
        return Some((l, LendRule::MfhdPolicy));
    }
    let mut any = false;
    let mut all = Lending::NONE;
    for f in r.fields("852") {
        any = true;
        all = all.union(note_lending(f).unwrap_or(Lending::BOTH));
    }
    (any && all != Lending::BOTH).then_some((all, LendRule::HoldingsNote))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marc::Subfield;

    fn f(tag: &[u8; 3], subs: &[(u8, &str)]) -> Field {
        Field {
            tag: *tag,
            ind: *b"  ",
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

    fn rec(fields: Vec<Field>) -> Record {
        Record {
            leader: "00000nam a2200000 a 4500".into(),
            fields,
            warnings: vec![],
        }
    }

    #[test]
    fn holding_field_parse() {
        assert_eq!(HoldingField::parse("924$b").unwrap().code, 'b');
        assert_eq!(HoldingField::parse("949 m").unwrap().tag, "949");
        assert!(HoldingField::parse("92").is_none());
        assert!(HoldingField::parse("924$bc").is_none());
    }

    #[test]
    fn ill_indicator_codes() {
        let r = rec(vec![
            f(b"924", &[(b'b', "DE-21"), (b'd', "d")]),
            f(b"924", &[(b'b', "DE-25"), (b'd', "b")]),
            f(b"924", &[(b'b', "DE-14"), (b'd', "c")]),
            f(b"924", &[(b'b', "DE-15")]),
            f(b"924", &[(b'b', "DE-16"), (b'd', "e")]),
        ]);
        let h = read_holdings(&r, &[HoldingField::parse("924$b").unwrap()]);
        let by = |s: &str| h.iter().find(|h| h.symbol == s).unwrap();
        assert_eq!(by("DE-21").lending, Lending::NONE);
        assert_eq!(by("DE-21").rule, Some(LendRule::IllIndicator('d')));
        assert_eq!(by("DE-25").lending, Lending::COPY_ONLY);
        assert_eq!(by("DE-14").lending, Lending::BOTH);
        assert_eq!(by("DE-14").rule, None);
        assert_eq!(by("DE-15").lending, Lending::BOTH);
        assert_eq!(by("DE-16").lending, Lending::COPY_ONLY);
    }

    #[test]
    fn a_second_circulating_copy_lends() {
        let r = rec(vec![
            f(b"852", &[(b'a', "CtY"), (b'z', "Non-circulating")]),
            f(b"852", &[(b'a', "CtY")]),
            f(
                b"852",
                &[(b'a', "MH"), (b'x', "Reference only; does not circulate")],
            ),
        ]);
        let h = read_holdings(&r, &[HoldingField::parse("852$a").unwrap()]);
        assert_eq!(h[0].symbol, "CtY");
        assert_eq!(
            (h[0].copies, h[0].lending, h[0].rule),
            (2, Lending::BOTH, None)
        );
        assert_eq!(h[1].lending, Lending::NONE);
        assert_eq!(h[1].rule, Some(LendRule::HoldingsNote));
    }

    #[test]
    fn notes_in_several_languages() {
        for (note, want) in [
            ("Präsenzbestand", Lending::NONE),
            ("Exclu du prêt", Lending::NONE),
            ("LIBRARY USE ONLY", Lending::NONE),
            ("Photocopies only", Lending::COPY_ONLY),
            ("Gift of the author", Lending::BOTH),
            ("Non-circulating", Lending::NONE),
            ("No ILL.", Lending::NONE),
            // the words inside others: not a restriction
            ("Piano illustrations, no illustrated cover", Lending::BOTH),
            ("nonreference", Lending::BOTH),
            (
                "Circulating; see also the reference only copy",
                Lending::NONE,
            ),
        ] {
            let field = f(b"852", &[(b'a', "X"), (b'z', note)]);
            assert_eq!(
                note_lending(&field).unwrap_or(Lending::BOTH),
                want,
                "{note}"
            );
        }
    }

    #[test]
    fn own_record_and_mfhd_policy() {
        let r = rec(vec![f(b"852", &[(b'a', "DLC"), (b'z', "Not for loan")])]);
        assert_eq!(
            own_lending(&r),
            Some((Lending::NONE, LendRule::HoldingsNote))
        );
        // an MFHD whose 008/20 says "will not lend" and 008/21 "will reproduce"
        let mut f008: Vec<u8> = b"071210                eng 071210        ".to_vec();
        f008[20] = b'b';
        f008[21] = b'a';
        let mut m = rec(vec![Field {
            tag: *b"008",
            ind: *b"  ",
            control: Some(String::from_utf8(f008).unwrap()),
            subfields: vec![],
        }]);
        m.leader = "00267cy  a22000854  4500".into();
        assert_eq!(
            own_lending(&m),
            Some((Lending::COPY_ONLY, LendRule::MfhdPolicy))
        );
    }
}
