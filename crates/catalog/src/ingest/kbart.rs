//! KBART sources: each row becomes a record of its journal (title and ISSNs, which
//! cluster it with the print record when the catalogue has one) held by the source's
//! library as an online resource, with the row's coverage and moving wall.
//!
//! Online holdings are copied, never lent ([`LendRule::Online`]); whether the library's
//! licences allow ILL from them at all is the lender directory's `electronic_ill`.

use super::manifest::Source;
use super::read::SourceRecord;
use super::report::{BuildReport, FileReport, Skip};
use crate::bib::{Bib, RecordKind};
use crate::coverage::Kbart;
use crate::format::Format;
use crate::lending::{HoldingSpec, LendRule, Lending};

/// Reads one KBART file, adding its counts and skips to `report`.
pub(crate) fn read(src: &Source, source: usize, report: &mut BuildReport) -> Vec<SourceRecord> {
    let path = src.path.display().to_string();
    let mut fr = FileReport {
        path: path.clone(),
        ..FileReport::default()
    };
    let symbol = src.library.clone().unwrap_or_default();
    let parsed = std::fs::read(&src.path)
        .map_err(|e| format!("cannot be read: {e}"))
        .and_then(|b| {
            String::from_utf8(b).map_err(|e| format!("is not UTF-8 (KBART files are): {e}"))
        })
        .and_then(|t| Kbart::parse(&t).map_err(|e| e.to_string()));
    let k = match parsed {
        Ok(k) => k,
        Err(e) => {
            fr.error = Some(e);
            report.files.push(fr);
            return Vec::new();
        }
    };
    for (line, e) in &k.skipped {
        fr.skipped += 1;
        *report.serials.kbart_skipped.entry(e.label()).or_default() += 1;
        report.skip(
            Skip {
                file: path.clone(),
                index: *line,
                offset: None,
                reason: e.to_string(),
            },
            "bad_kbart_row",
        );
    }
    let mut out = Vec::with_capacity(k.rows.len());
    for row in k.rows {
        fr.read += 1;
        report.serials.kbart_rows += 1;
        let mut h = HoldingSpec::new(symbol.clone());
        h.format = Some(Format::Electronic);
        h.limit(Lending::COPY_ONLY, LendRule::Online);
        let cov = row.coverage();
        h.coverage = (!cov.is_empty()).then_some(cov);
        let bib = Bib {
            kind: RecordKind::Bibliographic,
            title: row.title.clone(),
            title_proper: row.title.clone(),
            ids: row.issns.clone(),
            format: Format::Serial,
            holdings: vec![h],
            ..Bib::default()
        };
        out.push(SourceRecord {
            bib,
            source,
            index: row.line,
        });
    }
    report.files.push(fr);
    out
}
