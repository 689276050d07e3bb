//! The lender directory: who lends what, to whom, at what price, and when.
//!
//! A TOML or JSON file operations staff edit by hand, so it is validated strictly: unknown
//! fields, negative or zero capacities, unknown currencies, bad time zones and
//! overlapping closures are refused with the file, the lender and the field named.

use rota_catalog::field::{self, MAX_SYMBOL};
use std::collections::HashSet;
use std::path::Path;

use chrono::{NaiveDate, TimeZone};
use rota_catalog::Format;
use serde::{Deserialize, Serialize};

/// Where a lender stands relative to a borrower's consortium; routing prefers nearer
/// tiers when everything else is equal.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// The borrower's own consortium.
    #[default]
    Own,
    /// Regional partners.
    Regional,
    /// National network.
    National,
    /// Asked only when nobody else can.
    LastResort,
}

impl Tier {
    /// 1.0 for own consortium down to 0.0 for last resort.
    pub fn preference(self) -> f64 {
        match self {
            Tier::Own => 1.0,
            Tier::Regional => 0.7,
            Tier::National => 0.4,
            Tier::LastResort => 0.0,
        }
    }
}

/// ISO 18626 service type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Returnable loan.
    Loan,
    /// Non-returnable copy (articles, chapters).
    Copy,
}

impl Service {
    /// Index 0 or 1.
    pub fn index(self) -> usize {
        match self {
            Service::Loan => 0,
            Service::Copy => 1,
        }
    }
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Service::Loan => "loan",
            Service::Copy => "copy",
        }
    }
}

/// Money in a currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    /// Amount (≥ 0).
    pub amount: f64,
    /// ISO 4217 code.
    pub currency: String,
}

/// One service a lender offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// Loan or copy.
    pub service: Service,
    /// Formats it covers (empty = every format).
    #[serde(default)]
    pub formats: Vec<Format>,
    /// Groups it is offered to (empty = everyone).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Charge per request.
    #[serde(default)]
    pub charge: Option<Charge>,
}

/// A closed period, inclusive, in the lender's own time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    /// First closed day.
    pub from: NaiveDate,
    /// Last closed day.
    pub to: NaiveDate,
    /// Why (holiday, move, ...).
    #[serde(default)]
    pub reason: String,
}

/// Capacity limits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Most requests it will have open at once.
    #[serde(default)]
    pub open_requests: Option<u32>,
    /// Most new requests per day.
    #[serde(default)]
    pub daily: Option<u32>,
}

/// A lender's entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lender {
    /// Symbol, as in the catalogue's holdings.
    pub symbol: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Groups it belongs to (its consortium, regional networks, ...).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Its tier.
    #[serde(default)]
    pub tier: Tier,
    /// IANA time zone, e.g. `Europe/Berlin`.
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// Closed days.
    #[serde(default)]
    pub closed: Vec<Closure>,
    /// Lending at all.
    #[serde(default = "yes")]
    pub lending: bool,
    /// Suspended from this day (inclusive) ...
    #[serde(default)]
    pub suspended_from: Option<NaiveDate>,
    /// ... to this day (inclusive; open-ended if absent).
    #[serde(default)]
    pub suspended_to: Option<NaiveDate>,
    /// Capacity.
    #[serde(default)]
    pub capacity: Capacity,
    /// Services offered (empty = loans and copies of everything, free, to everyone).
    #[serde(default)]
    pub offers: Vec<Offer>,
    /// Ships outside its country.
    #[serde(default)]
    pub ships_international: bool,
    /// ISO 3166 country code.
    #[serde(default)]
    pub country: String,
    /// Latitude, degrees.
    #[serde(default)]
    pub latitude: Option<f64>,
    /// Longitude, degrees.
    #[serde(default)]
    pub longitude: Option<f64>,
    /// Libraries it has reciprocal agreements with (free, preferred).
    #[serde(default)]
    pub reciprocal: Vec<String>,
    /// The institution it belongs to: its branches and it never lend to each other
    /// through ILL. Default: for an ISIL with a sub-unit (`DE-21-31`), the ISIL above it
    /// (`DE-21`); else the lender itself.
    #[serde(default)]
    pub institution: Option<String>,
    /// Whether its e-resource licences allow ILL copies from electronic holdings.
    #[serde(default)]
    pub electronic_ill: ElectronicIll,
    /// Its ISO 18626 endpoint (`http://` or `https://`): where rota's broker sends the
    /// requests it routes to this lender, and relays answers when it borrows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iso18626: Option<String>,
    /// Its ISO 18626 agency ids as `TYPE:VALUE` (`ISIL:DE-21`, `OCLC:ZWZ`), when messages
    /// name it otherwise than by its symbol; the first is how the broker names it.
    /// Default: `ISIL:` and the symbol (or the symbol itself, if it is `TYPE:VALUE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agency_ids: Vec<String>,
    /// Where its catalogue answers live availability lookups (SRU or NCIP), asked before
    /// the broker commits a request to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<Lookup>,
}

/// A protocol a lender's catalogue answers availability lookups in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupProtocol {
    /// SRU `searchRetrieve` (HTTP GET), holdings as OPAC XML.
    Sru,
    /// NCIP 2 `LookupItemSet` (HTTP POST of XML).
    Ncip,
    /// Z39.50 Search and Present in the OPAC record syntax (`z3950://host:port/db`).
    Z3950,
}

/// A lender's live availability endpoint and its query profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// The protocol.
    pub protocol: LookupProtocol,
    /// The endpoint: an SRU base address (`http://host:port/database`), an NCIP
    /// responder's address, or a Z39.50 target (`z3950://host:port/database`).
    pub url: String,
    /// The query, with `{isbn}`, `{issn}` or `{oclc}` in it. SRU: CQL (default
    /// `bath.isbn={isbn}`, else `bath.issn={issn}`, else `rec.identifier={oclc}`, as the
    /// item has them). Z39.50: `@attr 1=USE {key}` (default Bib-1 use 7 for an ISBN, 8
    /// for an ISSN, 1211 for an OCLC number).
    #[serde(default)]
    pub query: Option<String>,
    /// SRU: the record schema that carries holdings (default `opac`, OPAC XML).
    #[serde(default)]
    pub schema: Option<String>,
    /// NCIP: the agency id the responder knows this library by (default its symbol).
    #[serde(default)]
    pub agency: Option<String>,
}

/// What a lender's e-resource licences allow for ILL from electronic holdings (the
/// common licence terms: none, print and post, secure electronic transmission, or either
/// within the lender's country only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElectronicIll {
    /// No ILL from electronic copies.
    #[default]
    None,
    /// Printed and sent as paper (or scanned from paper).
    PrintAndPost,
    /// Sent electronically through a secure transmission (Ariel, Odyssey, ...).
    SecureElectronic,
    /// Either, to borrowers in the lender's country only.
    DomesticOnly,
}

impl ElectronicIll {
    /// Whether copies of online holdings may be supplied at all.
    pub fn allows_copies(self) -> bool {
        self != ElectronicIll::None
    }
}

/// The institution a symbol belongs to by default: the ISIL above a sub-unit ISIL
/// (`DE-21-31` → `DE-21`, `DE-291-313` → `DE-291`), else the symbol itself.
pub fn default_institution(symbol: &str) -> &str {
    let mut parts = symbol.match_indices('-');
    match (parts.next(), parts.next()) {
        (Some(_), Some((second, _))) => &symbol[..second],
        _ => symbol,
    }
}

fn default_tz() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    #[serde(default, rename = "lender")]
    lenders: Vec<Lender>,
}

/// A directory entry that does not validate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Cannot read the file.
    #[error("{file}: cannot read: {message}")]
    Io {
        /// File.
        file: String,
        /// Cause.
        message: String,
    },
    /// Syntax or unknown field.
    #[error("{file}: {message}")]
    Parse {
        /// File.
        file: String,
        /// Parser message (names the field and line).
        message: String,
    },
    /// A bad value.
    #[error("{file}: lender {lender:?}, field {field}: {message}")]
    Invalid {
        /// File.
        file: String,
        /// Lender symbol.
        lender: String,
        /// Field.
        field: String,
        /// What is wrong.
        message: String,
    },
}

rota_catalog::typed_id! {
    /// A lender: its position in the [`Directory`]. Not a catalogue library's id
    /// ([`rota_catalog::LibraryId`]): the engine maps one to the other, and the compiler
    /// keeps them apart:
    ///
    /// ```compile_fail
    /// let dir = rota_routing::Directory::default();
    /// dir.get(rota_catalog::LibraryId::new(0));
    /// ```
    LenderId
}

/// How a directory file differs from the directory in force (see [`Directory::drift`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Drift {
    /// Lenders the file lists and the directory lacks, in the file's order.
    pub added: Vec<Lender>,
    /// Symbols of lenders in both whose entries differ.
    pub changed: Vec<String>,
    /// Symbols of lenders the directory has and the file does not list.
    pub missing: Vec<String>,
}

/// The validated directory, with symbol lookup.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    lenders: Vec<Lender>,
    by_symbol: rustc_hash::FxHashMap<String, LenderId>,
    tz: Vec<chrono_tz::Tz>,
    /// per lender: its institution, interned
    institution: Vec<u32>,
    /// `TYPE:VALUE` agency ids given in the entries
    by_agency: rustc_hash::FxHashMap<String, LenderId>,
}

impl Directory {
    /// Validates lenders and builds the directory.
    pub fn new(lenders: Vec<Lender>, file: &str) -> Result<Directory, DirectoryError> {
        let mut by_symbol = rustc_hash::FxHashMap::default();
        let mut by_agency = rustc_hash::FxHashMap::default();
        let mut tz = Vec::with_capacity(lenders.len());
        for (i, l) in lenders.iter().enumerate() {
            let bad = |field: &str, message: String| DirectoryError::Invalid {
                file: file.to_string(),
                // a prefix: a symbol that is 10 kB of junk is not echoed back whole
                lender: l.symbol.chars().take(MAX_SYMBOL).collect(),
                field: field.to_string(),
                message,
            };
            let bounds = |r: Result<(), field::FieldError>| {
                r.map_err(|e| bad(&e.field, e.problem.to_string()))
            };
            bounds(field::symbol("symbol", &l.symbol))?;
            bounds(field::text("name", &l.name, field::MAX_NAME))?;
            for (k, g) in l.groups.iter().enumerate() {
                bounds(field::symbol(&format!("groups[{k}]"), g))?;
            }
            for (k, r) in l.reciprocal.iter().enumerate() {
                bounds(field::symbol(&format!("reciprocal[{k}]"), r))?;
            }
            if let Some(i) = &l.institution {
                bounds(field::symbol("institution", i))?;
            }
            bounds(field::text("timezone", &l.timezone, 64))?;
            bounds(field::text("country", &l.country, 2))?;
            if by_symbol
                .insert(l.symbol.clone(), LenderId::new(i as u32))
                .is_some()
            {
                return Err(bad("symbol", "listed twice".into()));
            }
            tz.push(l.timezone.parse::<chrono_tz::Tz>().map_err(|_| {
                bad(
                    "timezone",
                    format!("{:?} is not an IANA time zone", l.timezone),
                )
            })?);
            if l.capacity.open_requests == Some(0) || l.capacity.daily == Some(0) {
                return Err(bad(
                    "capacity",
                    "must be at least 1 (set lending = false to stop lending)".into(),
                ));
            }
            let mut cl: Vec<&Closure> = l.closed.iter().collect();
            for c in &cl {
                if c.to < c.from {
                    return Err(bad(
                        "closed",
                        format!("closure {}..{} ends before it starts", c.from, c.to),
                    ));
                }
            }
            cl.sort_by_key(|c| c.from);
            for w in cl.windows(2) {
                if w[1].from <= w[0].to {
                    return Err(bad(
                        "closed",
                        format!(
                            "closures {}..{} and {}..{} overlap",
                            w[0].from, w[0].to, w[1].from, w[1].to
                        ),
                    ));
                }
            }
            if let (Some(f), Some(t)) = (l.suspended_from, l.suspended_to)
                && t < f
            {
                return Err(bad("suspended_to", "is before suspended_from".into()));
            }
            if l.suspended_to.is_some() && l.suspended_from.is_none() {
                return Err(bad("suspended_to", "given without suspended_from".into()));
            }
            for (k, o) in l.offers.iter().enumerate() {
                if let Some(c) = &o.charge {
                    if !(c.amount.is_finite() && c.amount >= 0.0) {
                        return Err(bad(
                            &format!("offers[{k}].charge.amount"),
                            format!("{} is not a non-negative amount", c.amount),
                        ));
                    }
                    bounds(field::currency(
                        &format!("offers[{k}].charge.currency"),
                        &c.currency,
                    ))?;
                }
            }
            if let Some(url) = &l.iso18626 {
                bounds(field::text("iso18626", url, 2048))?;
                if !(url.starts_with("http://") || url.starts_with("https://"))
                    || url.chars().any(char::is_whitespace)
                {
                    return Err(bad(
                        "iso18626",
                        format!("{url:?} is not an http:// or https:// address"),
                    ));
                }
            }
            if let Some(lk) = &l.lookup {
                bounds(field::text("lookup.url", &lk.url, 2048))?;
                let ok = match lk.protocol {
                    LookupProtocol::Z3950 => lk.url.starts_with("z3950://"),
                    _ => lk.url.starts_with("http://") || lk.url.starts_with("https://"),
                };
                if !ok {
                    return Err(bad(
                        "lookup.url",
                        format!(
                            "{:?} is not an address for {:?} (http(s):// for SRU and NCIP, z3950://host:port/db for Z39.50)",
                            lk.url, lk.protocol
                        ),
                    ));
                }
                if let Some(q) = &lk.query {
                    bounds(field::text("lookup.query", q, 1024))?;
                    if !["{isbn}", "{issn}", "{oclc}"].iter().any(|k| q.contains(k)) {
                        return Err(bad(
                            "lookup.query",
                            format!("{q:?} names no {{isbn}}, {{issn}} or {{oclc}}"),
                        ));
                    }
                }
            }
            for (k, a) in l.agency_ids.iter().enumerate() {
                let here = format!("agency_ids[{k}]");
                bounds(field::text(&here, a, 2 * MAX_SYMBOL))?;
                match a.split_once(':') {
                    Some((t, v)) if !t.trim().is_empty() && !v.trim().is_empty() => {}
                    _ => return Err(bad(&here, format!("{a:?} is not TYPE:VALUE"))),
                }
                if by_agency
                    .insert(a.clone(), LenderId::new(i as u32))
                    .is_some()
                {
                    return Err(bad(&here, format!("{a:?} names another lender too")));
                }
            }
            match (l.latitude, l.longitude) {
                (Some(a), Some(o))
                    if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&o) => {}
                (None, None) => {}
                _ => {
                    return Err(bad(
                        "latitude",
                        "latitude and longitude must both be given and in range".into(),
                    ));
                }
            }
        }
        let mut interned: rustc_hash::FxHashMap<&str, u32> = Default::default();
        let institution = lenders
            .iter()
            .map(|l| {
                let name = l
                    .institution
                    .as_deref()
                    .unwrap_or_else(|| default_institution(&l.symbol));
                let next = interned.len() as u32;
                *interned.entry(name).or_insert(next)
            })
            .collect();
        Ok(Directory {
            lenders,
            by_symbol,
            tz,
            institution,
            by_agency,
        })
    }

    /// Whether two lenders belong to one institution (a library and its branches).
    pub fn same_institution(&self, a: LenderId, b: LenderId) -> bool {
        self.institution.get(a.index()) == self.institution.get(b.index())
    }

    /// Loads a `.toml` or `.json` directory file.
    pub fn load(path: &Path) -> Result<Directory, DirectoryError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| DirectoryError::Io {
            file: file.clone(),
            message: e.to_string(),
        })?;
        Directory::parse(
            &text,
            &file,
            path.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json")),
        )
    }

    /// Parses directory text (TOML, or JSON when `json`).
    pub fn parse(text: &str, file: &str, json: bool) -> Result<Directory, DirectoryError> {
        let parsed: DirectoryFile = if json {
            serde_json::from_str(text).map_err(|e| DirectoryError::Parse {
                file: file.to_string(),
                message: e.to_string(),
            })?
        } else {
            toml::from_str(text).map_err(|e| DirectoryError::Parse {
                file: file.to_string(),
                message: e.to_string().trim().replace('\n', " "),
            })?
        };
        Directory::new(parsed.lenders, file)
    }

    /// Serialises as TOML.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(&DirectoryFile {
            lenders: self.lenders.clone(),
        })
    }

    /// Lenders, by index.
    pub fn lenders(&self) -> &[Lender] {
        &self.lenders
    }

    /// The lender an ISO 18626 agency id names: one of its `agency_ids`, else the lender
    /// whose symbol is the id's value or `TYPE:VALUE`.
    pub fn by_agency(&self, kind: &str, value: &str) -> Option<LenderId> {
        let full = format!("{kind}:{value}");
        self.by_agency
            .get(&full)
            .or_else(|| self.by_symbol.get(value))
            .or_else(|| self.by_symbol.get(&full))
            .copied()
    }

    /// How ISO 18626 messages name a lender: its first agency id, else `ISIL:` and its
    /// symbol (or the symbol itself if it is `TYPE:VALUE`). Returns (type, value).
    pub fn agency_id(&self, i: LenderId) -> (String, String) {
        let l = self.get(i);
        let named = l.agency_ids.first().unwrap_or(&l.symbol);
        match named.split_once(':') {
            Some((t, v)) => (t.to_string(), v.to_string()),
            None => ("ISIL".to_string(), named.clone()),
        }
    }

    /// The id of a symbol.
    pub fn index(&self, symbol: &str) -> Option<LenderId> {
        self.by_symbol.get(symbol).copied()
    }

    /// Lender by id.
    pub fn get(&self, i: LenderId) -> &Lender {
        &self.lenders[i.index()]
    }

    /// How a directory file differs from this directory (one a checkpoint restored,
    /// with every change made through the API since the file was first read).
    pub fn drift(&self, file: &Directory) -> Drift {
        let mut d = Drift::default();
        for l in &file.lenders {
            match self.index(&l.symbol) {
                None => d.added.push(l.clone()),
                Some(i) if self.get(i) != l => d.changed.push(l.symbol.clone()),
                Some(_) => {}
            }
        }
        d.missing = (self.lenders.iter())
            .filter(|l| file.index(&l.symbol).is_none())
            .map(|l| l.symbol.clone())
            .collect();
        d
    }

    /// Every lender's id, in order.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = LenderId> + use<> {
        (0..self.lenders.len() as u32).map(LenderId::new)
    }

    /// Number of lenders.
    pub fn len(&self) -> usize {
        self.lenders.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.lenders.is_empty()
    }

    /// The lender's local date at a UTC instant (unix seconds).
    pub fn local_date(&self, i: LenderId, now: i64) -> NaiveDate {
        let utc = chrono::Utc
            .timestamp_opt(now, 0)
            .single()
            .unwrap_or_default();
        utc.with_timezone(&self.tz[i.index()]).date_naive()
    }

    /// Why the lender is not taking requests on its local date at `now`, if it is not.
    pub fn unavailable(&self, i: LenderId, now: i64) -> Option<Unavailable> {
        let l = &self.lenders[i.index()];
        if !l.lending {
            return Some(Unavailable::NotLending);
        }
        if l.suspended_from.is_none() && l.closed.is_empty() {
            return None;
        }
        let d = self.local_date(i, now);
        if let Some(f) = l.suspended_from
            && d >= f
            && l.suspended_to.is_none_or(|t| d <= t)
        {
            return Some(Unavailable::Suspended);
        }
        if l.closed.iter().any(|c| c.from <= d && d <= c.to) {
            return Some(Unavailable::Closed);
        }
        None
    }

    /// The offer that covers a service and format for a borrower in `groups`, if any.
    /// No offers at all means "everything, free, to everyone".
    pub fn offer(
        &self,
        i: LenderId,
        service: Service,
        format: Format,
        groups: &[String],
    ) -> OfferCheck<'_> {
        let l = &self.lenders[i.index()];
        if l.offers.is_empty() {
            return OfferCheck::Free;
        }
        let mut refused_group = false;
        for o in &l.offers {
            if o.service != service || !(o.formats.is_empty() || o.formats.contains(&format)) {
                continue;
            }
            if !o.groups.is_empty() && !o.groups.iter().any(|g| groups.contains(g)) {
                refused_group = true;
                continue;
            }
            return OfferCheck::Offered(o);
        }
        if refused_group {
            OfferCheck::NotToGroup
        } else {
            OfferCheck::NotOffered
        }
    }

    /// All symbols (for property tests and generators).
    pub fn symbols(&self) -> HashSet<&str> {
        self.lenders.iter().map(|l| l.symbol.as_str()).collect()
    }
}

/// Why a lender is not available today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unavailable {
    /// `lending = false`.
    NotLending,
    /// Inside a suspension.
    Suspended,
    /// On a closed day.
    Closed,
}

/// Result of looking for an offer.
#[derive(Clone, Copy, Debug)]
pub enum OfferCheck<'a> {
    /// No offers listed: lends everything free.
    Free,
    /// This offer applies.
    Offered(&'a Offer),
    /// The service/format is offered, but not to the borrower's groups.
    NotToGroup,
    /// Not offered.
    NotOffered,
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[lender]]
symbol = "A"
name = "Alpha"
groups = ["c1"]
timezone = "Europe/Berlin"
capacity = { open_requests = 50 }
closed = [{ from = "2026-12-24", to = "2026-12-26", reason = "holidays" }]
offers = [{ service = "loan", formats = ["book"], charge = { amount = 0.0, currency = "EUR" } },
          { service = "copy", groups = ["c1"], charge = { amount = 5.0, currency = "EUR" } }]

[[lender]]
symbol = "B"
lending = false
"#;

    #[test]
    fn parses_and_answers() {
        let d = Directory::parse(GOOD, "dir.toml", false).unwrap();
        assert_eq!(d.len(), 2);
        let a = d.index("A").unwrap();
        assert!(matches!(
            d.offer(a, Service::Loan, Format::Book, &[]),
            OfferCheck::Offered(_)
        ));
        assert!(matches!(
            d.offer(a, Service::Loan, Format::AudioVisual, &[]),
            OfferCheck::NotOffered
        ));
        assert!(matches!(
            d.offer(a, Service::Copy, Format::Serial, &[]),
            OfferCheck::NotToGroup
        ));
        assert!(matches!(
            d.offer(a, Service::Copy, Format::Serial, &["c1".into()]),
            OfferCheck::Offered(_)
        ));
        // 2026-12-24 09:00 in Berlin is closed; 2026-12-23 23:30 UTC is already the 24th there
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-23T23:30:00Z")
            .unwrap()
            .timestamp();
        assert_eq!(d.unavailable(a, t), Some(Unavailable::Closed));
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-23T22:30:00Z")
            .unwrap()
            .timestamp();
        assert_eq!(d.unavailable(a, t), None);
        assert_eq!(
            d.unavailable(d.index("B").unwrap(), t),
            Some(Unavailable::NotLending)
        );
    }

    #[test]
    fn branches_belong_to_their_institution() {
        assert_eq!(default_institution("DE-21-31"), "DE-21");
        assert_eq!(default_institution("DE-291-313"), "DE-291");
        assert_eq!(default_institution("DE-21"), "DE-21");
        assert_eq!(default_institution("DLC"), "DLC");
        let d = Directory::parse(
            "[[lender]]\nsymbol = \"DE-21\"\n[[lender]]\nsymbol = \"DE-21-31\"\n[[lender]]\nsymbol = \"DE-25\"\n[[lender]]\nsymbol = \"MAIN\"\n[[lender]]\nsymbol = \"EAST\"\ninstitution = \"MAIN\"\n",
            "dir.toml",
            false,
        )
        .unwrap();
        let i = |s: &str| d.index(s).unwrap();
        assert!(d.same_institution(i("DE-21"), i("DE-21-31")));
        assert!(!d.same_institution(i("DE-21"), i("DE-25")));
        assert!(d.same_institution(i("MAIN"), i("EAST")));
        assert!(!d.same_institution(i("MAIN"), i("DE-25")));
    }

    #[test]
    fn bad_values_name_file_lender_and_field() {
        let cases = [
            (
                "[[lender]]\nsymbol = \"X\"\ncapacity = { open_requests = -3 }\n",
                "open_requests",
            ),
            (
                "[[lender]]\nsymbol = \"X\"\ncapacity = { daily = 0 }\n",
                "capacity",
            ),
            (
                "[[lender]]\nsymbol = \"X\"\noffers = [{ service = \"loan\", charge = { amount = 1.0, currency = \"XYZ\" } }]\n",
                "currency",
            ),
            (
                "[[lender]]\nsymbol = \"X\"\nclosed = [{ from = \"2026-01-01\", to = \"2026-01-10\" }, { from = \"2026-01-05\", to = \"2026-01-06\" }]\n",
                "overlap",
            ),
            ("[[lender]]\nsymbol = \"X\"\ncolour = \"red\"\n", "colour"),
            (
                "[[lender]]\nsymbol = \"X\"\ntimezone = \"Mars/Olympus\"\n",
                "timezone",
            ),
            (
                "[[lender]]\nsymbol = \"X\"\n[[lender]]\nsymbol = \"X\"\n",
                "twice",
            ),
            (
                "[[lender]]\nsymbol = \"X\"\niso18626 = \"ftp://x/iso18626\"\n",
                "iso18626",
            ),
            (
                "[[lender]]\nsymbol = \"X\"\nagency_ids = [\"DE-21\"]\n",
                "TYPE:VALUE",
            ),
            (
                "[[lender]]\nsymbol = \"X\"\nlookup = { protocol = \"z3950\", url = \"http://z/db\" }\n",
                "lookup.url",
            ),
            (
                "[[lender]]\nsymbol = \"X\"\nlookup = { protocol = \"sru\", url = \"z3950://z/db\" }\n",
                "lookup.url",
            ),
            (
                "[[lender]]\nsymbol = \"X\"\nlookup = { protocol = \"sru\", url = \"http://z/db\", query = \"title=x\" }\n",
                "lookup.query",
            ),
            (
                "[[lender]]\nsymbol = \"X\"\nlookup = { protocol = \"gopher\", url = \"http://z/db\" }\n",
                "gopher",
            ),
            (
                "[[lender]]\nsymbol = \"X\"\nagency_ids = [\"ISIL:A\"]\n[[lender]]\nsymbol = \"Y\"\nagency_ids = [\"ISIL:A\"]\n",
                "another lender",
            ),
        ];
        for (text, want) in cases {
            let e = Directory::parse(text, "ops.toml", false)
                .unwrap_err()
                .to_string();
            assert!(e.contains("ops.toml") && e.contains(want), "{want}: {e}");
        }
        let e = Directory::parse(
            "[[lender]]\nsymbol = \"X\"\ncapacity = { daily = 0 }\n",
            "ops.toml",
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("lender \"X\""), "{e}");
    }

    #[test]
    fn iso18626_agencies_name_lenders_by_id_or_symbol() {
        let d = Directory::parse(
            "[[lender]]\nsymbol = \"X\"\nagency_ids = [\"OCLC:XQX\", \"ISIL:DE-9\"]\niso18626 = \"https://x.example/iso18626\"\n[[lender]]\nsymbol = \"DE-21\"\n[[lender]]\nsymbol = \"RS:ZZ\"\n",
            "ops.toml",
            false,
        )
        .unwrap();
        let x = d.index("X").unwrap();
        assert_eq!(d.by_agency("OCLC", "XQX"), Some(x));
        assert_eq!(d.by_agency("ISIL", "DE-9"), Some(x));
        assert_eq!(d.by_agency("ISIL", "X"), Some(x));
        assert_eq!(d.by_agency("ISIL", "DE-21"), d.index("DE-21"));
        assert_eq!(d.by_agency("RS", "ZZ"), d.index("RS:ZZ"));
        assert_eq!(d.by_agency("ISIL", "NOPE"), None);
        assert_eq!(d.agency_id(x), ("OCLC".into(), "XQX".into()));
        let de21 = d.index("DE-21").unwrap();
        assert_eq!(d.agency_id(de21), ("ISIL".into(), "DE-21".into()));
        let rs = d.index("RS:ZZ").unwrap();
        assert_eq!(d.agency_id(rs), ("RS".into(), "ZZ".into()));
    }

    #[test]
    fn drift_names_what_a_file_adds_changes_and_leaves_out() {
        let d = |t: &str| Directory::parse(t, "dir.toml", false).unwrap();
        let restored = d(
            "[[lender]]\nsymbol = \"A\"\n[[lender]]\nsymbol = \"B\"\nlending = false\n[[lender]]\nsymbol = \"C\"\n",
        );
        let file = d(
            "[[lender]]\nsymbol = \"A\"\n[[lender]]\nsymbol = \"B\"\n[[lender]]\nsymbol = \"D\"\nname = \"Delta\"\n",
        );
        let drift = restored.drift(&file);
        assert_eq!(drift.added.len(), 1);
        assert_eq!(drift.added[0].name, "Delta");
        assert_eq!(drift.changed, ["B"]);
        assert_eq!(drift.missing, ["C"]);
        assert_eq!(restored.drift(&restored), Drift::default());
    }
}
