//! The bounds on what callers send: each check names its field, says what is wrong, and
//! quotes at most a short prefix of a bad value (an error message never echoes 10 kB of
//! someone's input back, nor their control characters).
//!
//! The domain types check themselves with these ([`crate::Citation::validate`],
//! `rota_routing::Request::validate`, ...), so every way in (gRPC, the command line,
//! batch files, the simulator) refuses the same inputs with the same words.

use std::fmt;

/// Longest library symbol (ISIL allows 16 characters; OCLC symbols are shorter; room for
/// local conventions).
pub const MAX_SYMBOL: usize = 64;
/// Longest request or record id.
pub const MAX_ID: usize = 128;
/// Longest title.
pub const MAX_TITLE: usize = 1_000;
/// Longest author, name or other short text.
pub const MAX_NAME: usize = 500;
/// Longest identifier as typed (an ISBN with its qualifier, an OCLC number with prefix).
pub const MAX_IDENTIFIER: usize = 64;
/// Earliest time accepted, unix seconds (2000-01-01): ILL events before it are typos.
pub const MIN_TIME: i64 = 946_684_800;
/// Latest time accepted, unix seconds (2100-01-01).
pub const MAX_TIME: i64 = 4_102_444_800;

/// Characters of a bad value quoted in a message.
const QUOTED: usize = 32;

/// A field the caller gave that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    /// The field, as the caller knows it (`citation.title`, `tried[2].lender`).
    pub field: String,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    /// Missing or blank.
    #[error("required")]
    Required,
    /// Longer than allowed.
    #[error("{len} characters; at most {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// A control character (NUL, escape, ...).
    #[error("holds control character U+{code:04X} at character {at}")]
    Control {
        /// The character's code point.
        code: u32,
        /// Its position (0-based, in characters).
        at: usize,
    },
    /// A number outside its range.
    #[error("{value} is not between {min} and {max}")]
    OutOfRange {
        /// The value, as given.
        value: String,
        /// The least allowed.
        min: String,
        /// The most allowed.
        max: String,
    },
    /// Not shaped like a library symbol.
    #[error("{0} is not a library symbol (letters, digits and - : / . _, at most {MAX_SYMBOL})")]
    Symbol(Quoted),
    /// Not an ISO 4217 currency code.
    #[error("{0} is not an ISO 4217 currency code (USD, EUR, ...)")]
    Currency(Quoted),
    /// Not a date as citations give one.
    #[error("{0} is not a date (YYYY, YYYY-MM or YYYY-MM-DD, year 1000 to 2100)")]
    Date(Quoted),
}

/// A value as an error message shows it: in quotes, cut to a short prefix, control
/// characters escaped.
#[derive(Debug, Clone, PartialEq)]
pub struct Quoted(String);

impl Quoted {
    /// Quotes `s`.
    pub fn new(s: &str) -> Quoted {
        let mut out = String::new();
        for (n, c) in s.chars().enumerate() {
            if n == QUOTED {
                out.push('…');
                break;
            }
            out.extend(c.escape_debug());
        }
        Quoted(out)
    }
}

impl fmt::Display for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

fn err(field: impl Into<String>, problem: Problem) -> FieldError {
    FieldError {
        field: field.into(),
        problem,
    }
}

/// Free text of at most `max` characters with no control characters (tabs and line
/// breaks included: every text rota takes is one line).
pub fn text(field: &str, s: &str, max: usize) -> Result<(), FieldError> {
    let mut len = 0;
    for (at, c) in s.chars().enumerate() {
        if c.is_control() {
            return Err(err(
                field,
                Problem::Control {
                    code: u32::from(c),
                    at,
                },
            ));
        }
        len = at + 1;
    }
    if len > max {
        return Err(err(field, Problem::TooLong { len, max }));
    }
    Ok(())
}

/// Text that must be there.
pub fn required(field: &str, s: &str, max: usize) -> Result<(), FieldError> {
    if s.trim().is_empty() {
        return Err(err(field, Problem::Required));
    }
    text(field, s, max)
}

/// A library symbol: ISIL (`DE-21-31`), OCLC symbol (`DLC`), NUC (`CaOOU`) or a local
/// code: letters, digits and `- : / . _`, 1 to [`MAX_SYMBOL`] characters.
pub fn symbol(field: &str, s: &str) -> Result<(), FieldError> {
    if s.is_empty() {
        return Err(err(field, Problem::Required));
    }
    let ok = s.chars().count() <= MAX_SYMBOL
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | ':' | '/' | '.' | '_'));
    if ok {
        Ok(())
    } else {
        Err(err(field, Problem::Symbol(Quoted::new(s))))
    }
}

/// A citation's date: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, a real day, year 1000 to 2100.
/// Returns the year and, for a full date, the day.
pub fn date(field: &str, s: &str) -> Result<(u16, Option<chrono::NaiveDate>), FieldError> {
    let bad = || err(field, Problem::Date(Quoted::new(s)));
    let s = s.trim();
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| -> Option<u32> {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse().ok())?
    };
    let year = parts.first().and_then(|p| num(p, 4)).ok_or_else(bad)?;
    if !(1000..=2100).contains(&year) {
        return Err(bad());
    }
    let y = year as i32;
    match parts.as_slice() {
        [_] => Ok((year as u16, None)),
        [_, m] => {
            let m = num(m, 2).ok_or_else(bad)?;
            chrono::NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)?;
            Ok((year as u16, None))
        }
        [_, m, d] => {
            let (m, d) = (num(m, 2).ok_or_else(bad)?, num(d, 2).ok_or_else(bad)?);
            let day = chrono::NaiveDate::from_ymd_opt(y, m, d).ok_or_else(bad)?;
            Ok((year as u16, Some(day)))
        }
        _ => Err(bad()),
    }
}

/// A number within `min..=max`.
pub fn range<T: PartialOrd + fmt::Display>(
    field: &str,
    v: T,
    min: T,
    max: T,
) -> Result<(), FieldError> {
    // NaN compares false both ways and is refused here too
    if v >= min && v <= max {
        Ok(())
    } else {
        Err(err(
            field,
            Problem::OutOfRange {
                value: v.to_string(),
                min: min.to_string(),
                max: max.to_string(),
            },
        ))
    }
}

/// A time (unix seconds) between [`MIN_TIME`] and [`MAX_TIME`].
pub fn time(field: &str, t: i64) -> Result<(), FieldError> {
    range(field, t, MIN_TIME, MAX_TIME)
}

/// An ISO 4217 currency code.
pub fn currency(field: &str, s: &str) -> Result<(), FieldError> {
    if iso_currency::Currency::from_code(s).is_some() {
        Ok(())
    } else {
        Err(err(field, Problem::Currency(Quoted::new(s))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_a_short_prefix_and_escape_controls() {
        let long = "x".repeat(10_000);
        let e = symbol("borrower", &long).unwrap_err().to_string();
        assert!(e.len() < 160, "{e}");
        assert!(e.starts_with("borrower: \"xxxxxxxx"), "{e}");
        let e = symbol("borrower", "DE\0-21").unwrap_err().to_string();
        assert!(e.contains("\\0"), "{e}");
        assert!(!e.contains('\0'));
        let e = text("citation.title", "a\u{1b}[31m", 100).unwrap_err();
        assert_eq!(e.problem, Problem::Control { code: 0x1b, at: 1 });
        assert!(matches!(
            text("t", &"é".repeat(11), 10).unwrap_err().problem,
            Problem::TooLong { len: 11, max: 10 }
        ));
    }

    #[test]
    fn symbols_numbers_times_and_currencies() {
        for ok in ["DE-21-31", "DLC", "CaOOU", "US-RL001", "L00001", "HRSRH"] {
            symbol("s", ok).unwrap();
        }
        for bad in ["", "DE 21", "a;b", "x\u{7f}"] {
            assert!(symbol("s", bad).is_err(), "{bad:?}");
        }
        assert!(range("x", f64::NAN, 0.0, 1.0).is_err());
        assert!(range("x", -0.1, 0.0, 1.0).is_err());
        range("x", 1.0, 0.0, 1.0).unwrap();
        assert!(time("at", i64::MAX).is_err());
        assert!(time("at", 0).is_err());
        time("at", 1_796_000_000).unwrap();
        currency("c", "EUR").unwrap();
        assert!(currency("c", "XYZ").is_err());
        assert!(currency("c", "eur").is_err());
    }
}
