//! The manifest: which files a catalogue is built from and how each is read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::bib::MfhdLink;
use crate::lending::HoldingField;

/// A manifest: the libraries and the files a catalogue is built from.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Consortium name (for the snapshot's provenance line).
    #[serde(default)]
    pub name: String,
    /// Libraries with their names. A listed symbol is always accepted; a holder found in
    /// the files but not listed must look like a library symbol (see
    /// [`super::symbols`]) and is added with its symbol as name.
    #[serde(default, rename = "library")]
    pub libraries: Vec<ManifestLibrary>,
    /// Input files.
    #[serde(default, rename = "source")]
    pub sources: Vec<Source>,
}

/// A library in a manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestLibrary {
    /// Symbol.
    pub symbol: String,
    /// Name.
    #[serde(default)]
    pub name: String,
}

/// What a source file holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// MARC records (ISO 2709 or MARCXML, sniffed): bibliographic and holdings (MFHD)
    /// records, in any mix.
    #[default]
    Marc,
    /// A holdings CSV: `symbol,record,copies,lendable,format`.
    HoldingsCsv,
    /// A KBART file of one library's electronic holdings (`library` names it).
    Kbart,
}

/// One input file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Path (relative paths are relative to the manifest).
    pub path: PathBuf,
    /// File kind; `.csv` files default to holdings CSV.
    #[serde(default)]
    pub kind: Option<SourceKind>,
    /// For a library's own file: its symbol. Every record in the file is held by this
    /// library and by no other (fields such as 852 `$a` in it name the library's own
    /// locations, not other holders).
    #[serde(default)]
    pub library: Option<String>,
    /// For a union file: the holdings fields its records carry, e.g. `["924$b"]`; `[]`
    /// for records whose holdings come from a CSV or from MFHD records.
    #[serde(default)]
    pub holdings: Option<Vec<String>>,
    /// Whether a library file's holdings lend (default true).
    #[serde(default)]
    pub lendable: Option<bool>,
    /// How MARC holdings records link to bibliographic records, `HOLDINGS=BIB`
    /// (default `004=001`; e.g. `001=901$a`).
    #[serde(default)]
    pub mfhd_link: Option<String>,
}

impl Source {
    /// A MARC file held by one library.
    pub fn library_file(path: impl Into<PathBuf>, symbol: impl Into<String>) -> Source {
        Source {
            path: path.into(),
            kind: Some(SourceKind::Marc),
            library: Some(symbol.into()),
            holdings: None,
            lendable: None,
            mfhd_link: None,
        }
    }

    /// A union MARC file whose records carry holdings in `fields` (`924$b`, ...).
    pub fn union_file(path: impl Into<PathBuf>, fields: &[&str]) -> Source {
        Source {
            path: path.into(),
            kind: Some(SourceKind::Marc),
            library: None,
            holdings: Some(fields.iter().map(|s| s.to_string()).collect()),
            lendable: None,
            mfhd_link: None,
        }
    }

    /// A library's KBART file of electronic holdings.
    pub fn kbart(path: impl Into<PathBuf>, symbol: impl Into<String>) -> Source {
        Source {
            path: path.into(),
            kind: Some(SourceKind::Kbart),
            library: Some(symbol.into()),
            holdings: None,
            lendable: None,
            mfhd_link: None,
        }
    }

    /// A holdings CSV.
    pub fn holdings_csv(path: impl Into<PathBuf>) -> Source {
        Source {
            path: path.into(),
            kind: Some(SourceKind::HoldingsCsv),
            library: None,
            holdings: None,
            lendable: None,
            mfhd_link: None,
        }
    }

    /// The file's kind.
    pub fn kind(&self) -> SourceKind {
        self.kind.unwrap_or_else(|| {
            if self
                .path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
            {
                SourceKind::HoldingsCsv
            } else {
                SourceKind::Marc
            }
        })
    }

    /// The holdings fields (validated by [`Manifest::validate`]).
    pub fn holding_fields(&self) -> Vec<HoldingField> {
        self.holdings
            .iter()
            .flatten()
            .filter_map(|s| HoldingField::parse(s))
            .collect()
    }

    /// The MFHD link (validated by [`Manifest::validate`]).
    pub fn link(&self) -> MfhdLink {
        self.mfhd_link
            .as_deref()
            .and_then(MfhdLink::parse)
            .unwrap_or_default()
    }

    /// How the build report names records of this source: the library's symbol for a
    /// library file, else the file name.
    pub fn label(&self) -> String {
        match &self.library {
            Some(l) => l.clone(),
            None => self.path.file_name().map_or_else(
                || self.path.display().to_string(),
                |f| f.to_string_lossy().into_owned(),
            ),
        }
    }
}

/// A manifest that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Cannot read it.
    #[error("cannot read manifest {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML or unknown keys.
    #[error("manifest {path}: {message}")]
    Parse {
        /// Path.
        path: String,
        /// Parser message.
        message: String,
    },
    /// A bad value.
    #[error("manifest {path}: {message}")]
    Invalid {
        /// Path.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Manifest {
    /// Reads and validates a manifest; source paths become relative to its folder.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: p.clone(),
            source,
        })?;
        let mut m: Manifest = toml::from_str(&text).map_err(|e| ManifestError::Parse {
            path: p.clone(),
            message: e.to_string().trim().to_string(),
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        for s in &mut m.sources {
            if s.path.is_relative() {
                s.path = dir.join(&s.path);
            }
        }
        m.validate()
            .map_err(|message| ManifestError::Invalid { path: p, message })?;
        Ok(m)
    }

    /// Checks symbols, holdings field specs and that every MARC source says whose
    /// holdings it carries.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for l in &self.libraries {
            if l.symbol.trim().is_empty() {
                return Err("a [[library]] has an empty symbol".into());
            }
            if !seen.insert(&l.symbol) {
                return Err(format!("library {} is listed twice", l.symbol));
            }
        }
        for (i, s) in self.sources.iter().enumerate() {
            let at = || format!("source {} ({})", i + 1, s.path.display());
            for h in s.holdings.iter().flatten() {
                if HoldingField::parse(h).is_none() {
                    return Err(format!(
                        "{}: holdings field {h:?} is not like \"852$a\"",
                        at()
                    ));
                }
            }
            if let Some(l) = &s.mfhd_link
                && MfhdLink::parse(l).is_none()
            {
                return Err(format!(
                    "{}: mfhd_link {l:?} is not like \"004=001\" or \"001=901$a\"",
                    at()
                ));
            }
            match (s.kind(), &s.library, &s.holdings) {
                (SourceKind::HoldingsCsv, Some(_), _) => {
                    return Err(format!(
                        "{}: a holdings CSV names its libraries per row; remove `library`",
                        at()
                    ));
                }
                (SourceKind::Kbart, None, _) => {
                    return Err(format!(
                        "{}: a KBART file is one library's: add `library = \"SYMBOL\"`",
                        at()
                    ));
                }
                (SourceKind::Kbart, Some(l), _) if l.trim().is_empty() => {
                    return Err(format!("{}: `library` is empty", at()));
                }
                (SourceKind::Kbart, _, Some(_)) => {
                    return Err(format!(
                        "{}: a KBART file carries no holdings fields; remove `holdings`",
                        at()
                    ));
                }
                (SourceKind::Marc, Some(l), _) if l.trim().is_empty() => {
                    return Err(format!("{}: `library` is empty", at()));
                }
                (SourceKind::Marc, Some(_), Some(_)) => {
                    return Err(format!(
                        "{}: a library's own file is held by that library only; remove `holdings` (or `library`, if it is a union file)",
                        at()
                    ));
                }
                (SourceKind::Marc, None, None) => {
                    return Err(format!(
                        "{}: say whose holdings it carries: `library = \"SYMBOL\"` for one library's own file, or `holdings = [\"924$b\"]` for union records (`[]` when holdings come from a CSV or MFHD records)",
                        at()
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marc_source_says_whose_holdings_it_carries() {
        let mut m = Manifest {
            sources: vec![Source::library_file("a.mrc", "DE-21")],
            ..Manifest::default()
        };
        assert!(m.validate().is_ok());
        m.sources.push(Source {
            holdings: None,
            library: None,
            ..Source::library_file("u.mrc", "x")
        });
        assert!(m.validate().unwrap_err().contains("whose holdings"));
        m.sources[1] = Source::union_file("u.mrc", &["924$b"]);
        assert!(m.validate().is_ok());
        m.sources[1].library = Some("DE-25".into());
        assert!(
            m.validate()
                .unwrap_err()
                .contains("held by that library only")
        );
        m.sources[1] = Source::union_file("u.mrc", &["924"]);
        assert!(m.validate().unwrap_err().contains("not like"));
        m.sources[1] = Source::union_file("u.mrc", &[]);
        m.sources[1].mfhd_link = Some("004".into());
        assert!(m.validate().unwrap_err().contains("mfhd_link"));
    }
}
