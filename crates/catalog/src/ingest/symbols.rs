//! Which holder symbols are libraries.
//!
//! Union files carry junk where a library symbol belongs: a year in 924 `$b`, a
//! location name ("Library of Congress", "Prints and Photographs Division") in 852 `$a`.
//! Each would become a "lender" that answers "not held" to every request. A symbol is
//! accepted when the manifest lists it, when the caller knows it (the lender directory),
//! or when it is shaped like a library symbol:
//!
//! - an ISIL (ISO 15511): a prefix of one to four letters, a hyphen, up to eleven
//!   letters, digits, `-`, `:` or `/` (`DE-21`, `DE-21-31`, `US-DLC`, `ZDB-HU-100`); MARC
//!   organisation codes with a hyphen (`MH-L`) have the same shape;
//! - an OCLC symbol or a MARC organisation code: letters only (`DLC`, `CtY`, `ZCU`);
//! - in all: 2 to 16 characters, no spaces or control characters.
//!
//! Letters with digits but no hyphen (`352X`, `Mar1`) are shelf marks and call number
//! fragments in the real SWB data, not symbols; a consortium whose symbols look like that
//! lists them in the manifest or passes its lender directory.

use std::collections::BTreeMap;

use serde::Serialize;

/// Why a symbol is not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolProblem {
    /// Shorter than two characters.
    TooShort,
    /// Longer than sixteen characters (ISIL's limit).
    TooLong,
    /// Contains spaces: a name or a note, not a symbol.
    Spaces,
    /// Contains control characters.
    ControlCharacters,
    /// No letter at all (a year, a shelf number).
    NoLetter,
    /// A character no symbol scheme uses.
    BadCharacter,
    /// Letters and digits without an ISIL's prefix and hyphen: a shelf mark, not a
    /// symbol.
    NotASymbolShape,
}

impl SymbolProblem {
    /// Lower-case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            SymbolProblem::TooShort => "too_short",
            SymbolProblem::TooLong => "too_long",
            SymbolProblem::Spaces => "spaces",
            SymbolProblem::ControlCharacters => "control_characters",
            SymbolProblem::NoLetter => "no_letter",
            SymbolProblem::BadCharacter => "bad_character",
            SymbolProblem::NotASymbolShape => "not_a_symbol_shape",
        }
    }
}

/// Whether `s` is shaped like a library symbol.
pub fn check(s: &str) -> Result<(), SymbolProblem> {
    let n = s.chars().count();
    if s.chars().any(char::is_control) {
        return Err(SymbolProblem::ControlCharacters);
    }
    if s.chars().any(char::is_whitespace) {
        return Err(SymbolProblem::Spaces);
    }
    if n < 2 {
        return Err(SymbolProblem::TooShort);
    }
    if n > 16 {
        return Err(SymbolProblem::TooLong);
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '/' | '_'))
    {
        return Err(SymbolProblem::BadCharacter);
    }
    if !s.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(SymbolProblem::NoLetter);
    }
    let isil = s.split_once('-').is_some_and(|(prefix, rest)| {
        (1..=4).contains(&prefix.len())
            && prefix.chars().all(|c| c.is_ascii_alphabetic())
            && (1..=11).contains(&rest.len())
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '/'))
    });
    if isil || s.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(SymbolProblem::NotASymbolShape)
    }
}

/// Refused symbols of one kind, for the build report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Refused {
    /// Distinct symbols refused.
    pub symbols: usize,
    /// Holdings dropped with them.
    pub holdings: usize,
    /// The first few, as found.
    pub examples: Vec<String>,
}

/// Tallies refused symbols by problem.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct RefusedSymbols(pub BTreeMap<String, Refused>);

impl RefusedSymbols {
    /// Records one distinct refused symbol and how many holdings named it.
    pub fn add(&mut self, symbol: &str, problem: SymbolProblem, holdings: usize) {
        let r = self.0.entry(problem.name().to_string()).or_default();
        r.symbols += 1;
        r.holdings += holdings;
        if r.examples.len() < 5 {
            r.examples.push(symbol.chars().take(64).collect());
        }
    }

    /// Holdings dropped in all.
    pub fn holdings(&self) -> usize {
        self.0.values().map(|r| r.holdings).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_symbols_pass_and_junk_does_not() {
        for ok in [
            "DE-21",
            "DE-21-31",
            "DE-291-313",
            "US-DLC",
            "DLC",
            "CtY",
            "MH-L",
            "ZCU",
            "O-ABC",
            "US-RL001",
            "HRSRH",
            "NjP",
            "ZDB-HU-100",
            "DESMARAIS",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("1968", SymbolProblem::NoLetter),
            ("Library of Congress", SymbolProblem::Spaces),
            ("X", SymbolProblem::TooShort),
            ("DE-21\u{0}", SymbolProblem::ControlCharacters),
            ("ABCDEFGHIJKLMNOPQ", SymbolProblem::TooLong),
            ("Bibliothèque", SymbolProblem::BadCharacter),
            ("", SymbolProblem::TooShort),
            ("352X", SymbolProblem::NotASymbolShape),
            ("Mar1", SymbolProblem::NotASymbolShape),
            ("DE_21", SymbolProblem::NotASymbolShape),
        ] {
            assert_eq!(check(bad), Err(why), "{bad}");
        }
    }
}
