//! Textual holdings statements (MARC 866–868, ANSI/NISO Z39.71) read into spans.
//!
//! A statement is a list of parts separated by `,` (a gap) or `;` (a break in numbering,
//! no gap); a part is one point or a range (`-`, open when nothing follows). A point is
//! enumeration (`v.36`, `Bd. 5:H. 2`), chronology (`1961`, `1998:Feb.`, `Spring 2007`)
//! or both, chronology in parentheses after enumeration (`v.1 (1990)`). Z39.71 lets a
//! range state its enumeration and chronology separately (`v. 36-49 (1961-1974)`) and
//! elide what does not change (`1909-12`, `v.21:no.1-4,8 (1991)`): an element without a
//! caption continues the kind of the element it follows, so `12` after `1909-` is 1912,
//! `8` after `no.1-4,` is issue 8 of volume 21, and `14-` after `v.5-12,` is volume 14
//! onward. Combined issues and years (`10/11`, `2000/2001`, `1995/6`) count as their
//! first at the start of a range and their last at its end.
//!
//! Only the first level of enumeration (the volume) and the year are kept: they are what
//! a citation gives. A statement with words that are neither captions, months nor
//! seasons (`plus 1969/1978 cumulative vol.`), or notation from another standard
//! (`s=[1832:10:17-1899:3:31]`), is refused whole: a statement read half-way would route
//! to a holder on the half that was understood.

use super::{MAX_YEAR, MIN_YEAR, Span};

/// Why a statement could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum Unreadable {
    /// Nothing but punctuation.
    #[error("empty statement")]
    Empty,
    /// A word that is not a caption, month or season.
    #[error("word {0:?} is not a caption, month or season")]
    Word(String),
    /// A character holdings statements do not use.
    #[error("character {0:?} is not used in holdings statements")]
    Char(char),
    /// Parentheses that do not pair.
    #[error("unbalanced parentheses")]
    Parens,
    /// More than one range in a part.
    #[error("{0:?} has more than one range")]
    Ranges(String),
    /// A part with no number in it.
    #[error("{0:?} has no volume or year")]
    NoNumber(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(u32, u8),
    Word(String),
    Colon,
    Slash,
    Hyphen,
    Comma,
    Semi,
    Open,
    Close,
}

/// Captions of enumeration levels (lower case, without the period), in the languages
/// union catalogues hold.
const CAPTIONS: &[&str] = &[
    "v", "vol", "vols", "volume", "volumes", "t", "tome", "tomo", "bd", "band", "bde", "jahrg",
    "jg", "jahrgang", "heft", "h", "hft", "no", "nos", "nr", "n", "num", "numero", "numéro", "iss",
    "issue", "pt", "pts", "part", "parts", "fasc", "ser", "series", "new", "ns", "ano", "año",
    "anno", "année", "annee", "année", "k", "kn", "vyp", "god", "r", "rocz", "rocznik", "ed",
    "aufl", "afl", "deel", "d", "jaarg", "årg", "arg", "suppl", "index",
];

const MONTHS: &[&str] = &[
    "jan",
    "january",
    "janv",
    "janvier",
    "januar",
    "enero",
    "ene",
    "feb",
    "february",
    "febr",
    "fév",
    "fev",
    "février",
    "fevrier",
    "februar",
    "feb",
    "mar",
    "march",
    "mars",
    "märz",
    "marz",
    "marzo",
    "apr",
    "april",
    "avr",
    "avril",
    "abr",
    "may",
    "mai",
    "mayo",
    "jun",
    "june",
    "juin",
    "juni",
    "junio",
    "jul",
    "july",
    "juil",
    "juillet",
    "juli",
    "julio",
    "aug",
    "august",
    "août",
    "aout",
    "agosto",
    "ago",
    "sep",
    "sept",
    "september",
    "septembre",
    "septiembre",
    "oct",
    "october",
    "octobre",
    "okt",
    "oktober",
    "octubre",
    "nov",
    "november",
    "novembre",
    "noviembre",
    "dec",
    "december",
    "déc",
    "décembre",
    "decembre",
    "dez",
    "dezember",
    "dic",
    "diciembre",
];

const SEASONS: &[&str] = &[
    "spring",
    "summer",
    "fall",
    "autumn",
    "winter",
    "printemps",
    "été",
    "ete",
    "automne",
    "hiver",
    "frühjahr",
    "frühling",
    "sommer",
    "herbst",
    "primavera",
    "verano",
    "otoño",
    "invierno",
    "spr",
    "sum",
    "win",
    "aut",
];

/// Ordinal endings after a number (`40th ed.`, `2e sér.`).
const ORDINALS: &[&str] = &[
    "st", "nd", "rd", "th", "e", "er", "re", "ème", "eme", "te", "ter",
];

/// Captions written after their number (`40th ed.`, `3. Aufl.`).
const POSTFIX: &[&str] = &["ed", "aufl", "afl", "éd"];

/// Captions of levels below the first: a part that starts with one continues the
/// previous part's point (`Vol. 6, no 1` is one point).
const LOWER: &[&str] = &[
    "no", "nos", "nr", "n", "num", "numero", "numéro", "iss", "issue", "heft", "h", "hft", "fasc",
    "pt", "pts", "part", "parts",
];

fn tokens(s: &str) -> Result<Vec<Tok>, Unreadable> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut v: u64 = 0;
            let mut n = 0u8;
            while let Some(&d) = chars.peek()
                && d.is_ascii_digit()
            {
                v = (v * 10 + u64::from(d as u8 - b'0')).min(u64::from(u32::MAX));
                n = n.saturating_add(1);
                chars.next();
            }
            out.push(Tok::Num(v as u32, n));
        } else if c.is_alphabetic() {
            let mut w = String::new();
            while let Some(&d) = chars.peek()
                && d.is_alphabetic()
            {
                w.extend(d.to_lowercase());
                chars.next();
            }
            out.push(Tok::Word(w));
        } else {
            chars.next();
            match c {
                ':' => out.push(Tok::Colon),
                '/' => out.push(Tok::Slash),
                '-' | '–' | '—' => out.push(Tok::Hyphen),
                ',' => out.push(Tok::Comma),
                ';' => out.push(Tok::Semi),
                '(' => out.push(Tok::Open),
                ')' => out.push(Tok::Close),
                ' ' | '\t' | '.' | '[' | ']' | '?' | '\'' | '"' | '\u{a0}' | '+' => {}
                other => return Err(Unreadable::Char(other)),
            }
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Volume,
    Lower,
    Year,
    Minor,
}

/// One end of a range, as read.
#[derive(Clone, Copy, Debug, Default)]
struct Point {
    volume: Option<u32>,
    year: Option<u16>,
    /// A chronology range in this point's parentheses: `(1961-1974)`.
    paren_range: Option<(u16, u16)>,
    /// The first element had no caption and continued `context`.
    continued: Option<Kind>,
    last_kind: Option<Kind>,
    last_year: Option<u16>,
}

fn year_like(v: u32, digits: u8) -> bool {
    digits == 4 && (u32::from(MIN_YEAR)..=u32::from(MAX_YEAR)).contains(&v)
}

/// `12` after 1909 is 1912; `6` after 1995 is 1996; a full year stays.
fn expand_year(prev: Option<u16>, v: u32, digits: u8) -> Option<u16> {
    if digits >= 4 {
        return u16::try_from(v)
            .ok()
            .filter(|y| (MIN_YEAR..=MAX_YEAR).contains(y));
    }
    let p = u32::from(prev?);
    let m = 10u32.pow(u32::from(digits));
    let mut y = p - p % m + v;
    if y < p {
        y += m;
    }
    u16::try_from(y)
        .ok()
        .filter(|y| (MIN_YEAR..=MAX_YEAR).contains(y))
}

/// Reads one side of a range. `last` picks the last of combined values (the end of a
/// range); `context` is the point an uncaptioned first element continues.
fn side(toks: &[Tok], last: bool, context: Option<&Point>) -> Result<Point, Unreadable> {
    #[derive(PartialEq)]
    enum Pending {
        None,
        Caption,
        Month,
    }
    let mut p = Point::default();
    let mut pending = Pending::None;
    let mut depth = 0;
    let mut after_colon = false;
    let mut combined = false;
    let mut first = true;
    let mut paren_years: Vec<u16> = Vec::new();
    let mut paren_hyphen: Option<usize> = None;
    let mut prev_tok: Option<&Tok> = None;
    for t in toks {
        let before = prev_tok.replace(t);
        let prev_tok = before;
        match t {
            Tok::Word(w) => {
                let w = w.as_str();
                if (ORDINALS.contains(&w) || POSTFIX.contains(&w))
                    && matches!(prev_tok, Some(Tok::Num(..)) | Some(Tok::Word(_)))
                    && (ORDINALS.contains(&w) || p.last_kind.is_some())
                {
                    continue;
                }
                pending = if MONTHS.contains(&w) || SEASONS.contains(&w) {
                    Pending::Month
                } else if CAPTIONS.contains(&w) {
                    Pending::Caption
                } else {
                    return Err(Unreadable::Word(w.to_string()));
                };
                combined = false;
            }
            Tok::Open => {
                if depth > 0 {
                    return Err(Unreadable::Parens);
                }
                depth = 1;
                pending = Pending::None;
                after_colon = false;
                combined = false;
            }
            Tok::Close => {
                if depth == 0 {
                    return Err(Unreadable::Parens);
                }
                depth = 0;
            }
            Tok::Colon => after_colon = true,
            Tok::Slash => combined = true,
            Tok::Hyphen if depth == 1 => paren_hyphen = Some(paren_years.len()),
            Tok::Hyphen | Tok::Comma | Tok::Semi => {}
            &Tok::Num(v, digits) => {
                if depth == 1 {
                    // chronology in parentheses: years, then months and days
                    let prev = paren_years.last().copied();
                    let y = if year_like(v, digits) {
                        u16::try_from(v).ok()
                    } else if combined && prev.is_some() {
                        expand_year(prev, v, digits)
                    } else {
                        None
                    };
                    if let Some(y) = y {
                        if combined && !last && paren_hyphen.is_none() {
                            // the start of a range keeps the first of combined years
                        } else if combined {
                            if let Some(l) = paren_years.last_mut() {
                                *l = y;
                            }
                        } else {
                            paren_years.push(y);
                        }
                    }
                    combined = false;
                    pending = Pending::None;
                    continue;
                }
                let kind = if combined {
                    p.last_kind.unwrap_or(Kind::Volume)
                } else if pending == Pending::Caption {
                    if p.volume.is_none() && p.last_kind.is_none() {
                        Kind::Volume
                    } else {
                        Kind::Lower
                    }
                } else if pending == Pending::Month {
                    if year_like(v, digits) {
                        Kind::Year
                    } else {
                        Kind::Minor
                    }
                } else if first {
                    match context.and_then(|c| c.last_kind) {
                        Some(Kind::Minor) if year_like(v, digits) => Kind::Year,
                        Some(k) => {
                            p.continued = Some(k);
                            k
                        }
                        None if year_like(v, digits) => Kind::Year,
                        None => Kind::Volume,
                    }
                } else if after_colon {
                    if p.last_kind == Some(Kind::Year) || p.last_kind == Some(Kind::Minor) {
                        Kind::Minor
                    } else {
                        Kind::Lower
                    }
                } else if year_like(v, digits) {
                    Kind::Year
                } else {
                    Kind::Lower
                };
                match kind {
                    Kind::Volume => {
                        if p.volume.is_none() || (combined && last) {
                            p.volume = Some(v);
                        }
                    }
                    Kind::Year => {
                        let prev = if combined || first {
                            p.year.or(context.and_then(|c| c.last_year))
                        } else {
                            p.year
                        };
                        let y = expand_year(prev, v, digits);
                        if p.year.is_none() || (combined && last) {
                            p.year = y.or(p.year);
                        }
                        p.last_year = p.year;
                    }
                    Kind::Lower | Kind::Minor => {}
                }
                p.last_kind = Some(kind);
                first = false;
                after_colon = false;
                combined = false;
                pending = Pending::None;
            }
        }
    }
    if depth != 0 {
        return Err(Unreadable::Parens);
    }
    match paren_hyphen {
        Some(i) if i > 0 && i < paren_years.len() => {
            p.paren_range = Some((paren_years[0], paren_years[paren_years.len() - 1]));
        }
        _ => {
            let y = if last {
                paren_years.last()
            } else {
                paren_years.first()
            };
            if p.year.is_none() {
                p.year = y.copied();
            }
        }
    }
    if p.year.is_some() && p.last_kind.is_none() {
        p.last_kind = Some(Kind::Year);
    }
    p.last_year = p.year.or(p.last_year);
    // an elided element inherits what sits above it in the point it continues
    if let (Some(k), Some(c)) = (p.continued, context) {
        match k {
            Kind::Volume => {}
            Kind::Year => p.volume = p.volume.or(c.volume),
            Kind::Lower | Kind::Minor => {
                p.volume = p.volume.or(c.volume);
                p.year = p.year.or(c.year);
            }
        }
    }
    Ok(p)
}

fn split_top(toks: &[Tok], at: impl Fn(&Tok) -> bool) -> Vec<&[Tok]> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Open => depth += 1,
            Tok::Close => depth -= 1,
            t if depth == 0 && at(t) => {
                out.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&toks[start..]);
    out
}

fn show(toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        match t {
            Tok::Num(v, _) => s.push_str(&v.to_string()),
            Tok::Word(w) => {
                s.push_str(w);
                s.push('.');
            }
            Tok::Colon => s.push(':'),
            Tok::Slash => s.push('/'),
            Tok::Hyphen => s.push('-'),
            Tok::Comma => s.push(','),
            Tok::Semi => s.push(';'),
            Tok::Open => s.push('('),
            Tok::Close => s.push(')'),
        }
    }
    s
}

/// Reads a textual holdings statement into spans (unsorted, as written).
pub fn parse(statement: &str) -> Result<Vec<Span>, Unreadable> {
    // a parallel statement in another language follows " = "
    let s = statement.split(" = ").next().unwrap_or("");
    let toks = tokens(s)?;
    // parts; one that starts with a lower caption continues the point before it
    let mut parts: Vec<Vec<Tok>> = Vec::new();
    for part in split_top(&toks, |t| matches!(t, Tok::Comma | Tok::Semi)) {
        let continues = matches!(part.first(), Some(Tok::Word(w)) if LOWER.contains(&w.as_str()));
        // `AUG 7, 2013`: the comma is the date's, not a gap
        let year_of_date = matches!(part, [Tok::Num(v, d)] if year_like(*v, *d))
            && parts.last().is_some_and(|p| {
                matches!(&p[p.len().saturating_sub(2)..], [Tok::Word(w), Tok::Num(_, d)] if *d <= 2 && MONTHS.contains(&w.as_str()))
            });
        match parts.last_mut() {
            Some(prev) if year_of_date => prev.extend_from_slice(part),
            Some(prev) if continues => {
                prev.push(Tok::Colon);
                prev.extend_from_slice(part);
            }
            _ if part.is_empty() => {}
            _ => parts.push(part.to_vec()),
        }
    }
    if parts.is_empty() {
        return Err(Unreadable::Empty);
    }
    let mut spans: Vec<Span> = Vec::new();
    let mut context: Option<Point> = None;
    for part in &parts {
        let mut sides = split_top(part, |t| *t == Tok::Hyphen);
        let open = sides.len() > 1 && sides.last().is_some_and(|s| s.is_empty());
        if open {
            sides.pop();
        }
        if sides.len() > 2 || sides.iter().any(|s| s.is_empty()) {
            return Err(Unreadable::Ranges(show(part)));
        }
        let a = side(sides[0], false, context.as_ref())?;
        // a single point ends where its combined values end (`1984/85`, `v.10/11`)
        let end = match sides.get(1) {
            Some(s) => side(s, true, Some(&a))?,
            None if !open => side(sides[0], true, context.as_ref())?,
            None => a,
        };
        if a.volume.is_none() && a.year.is_none() && a.paren_range.is_none() {
            return Err(Unreadable::NoNumber(show(part)));
        }
        let (mut first_year, mut last_year) = (a.year, end.year);
        // `v. 95 no. 5-12 (2004)`: the year after the issue range is the point's
        if first_year.is_none()
            && end.volume == a.volume
            && matches!(end.continued, Some(Kind::Lower | Kind::Minor))
        {
            first_year = end.year;
        }
        if let Some((f, l)) = end.paren_range.or(a.paren_range) {
            first_year = first_year.or(Some(f));
            last_year = Some(l);
        }
        let span = Span {
            first_volume: a.volume,
            last_volume: if open { None } else { end.volume },
            first_year,
            last_year: if open { None } else { last_year },
            open,
        };
        // a part that only continues the previous point's issues or days (`,8 (1991)`,
        // `AUG 7, 2013`) adds its year to that span instead of making one
        let within = matches!(a.continued, Some(Kind::Lower | Kind::Minor))
            || (a.continued.is_none()
                && a.volume.is_none()
                && context.is_some_and(|c| c.last_kind == Some(Kind::Minor)));
        match spans.last_mut() {
            Some(prev) if within && span.first_volume == prev.first_volume => {
                if let Some(y) = span.first_year {
                    prev.first_year = Some(prev.first_year.map_or(y, |p| p.min(y)));
                    if !prev.open {
                        prev.last_year = Some(prev.last_year.map_or(y, |p| p.max(y)));
                    }
                }
                if let Some(y) = span.last_year
                    && !prev.open
                {
                    prev.last_year = Some(prev.last_year.map_or(y, |p| p.max(y)));
                }
            }
            _ => spans.push(span),
        }
        context = Some(Point {
            volume: end.volume.or(a.volume),
            year: end.year.or(a.year),
            last_year: last_year.or(end.last_year),
            ..end
        });
    }
    Ok(spans)
}

#[cfg(test)]
mod tests;
