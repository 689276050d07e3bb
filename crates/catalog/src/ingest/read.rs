//! Reading MARC sources into records, in parallel, skipping what cannot be read.

use rayon::prelude::*;

use super::manifest::Source;
use super::report::{BuildReport, FileReport, Skip, kind_label, warning_label};
use crate::bib::{Bib, ReadOptions, bib_needs};
use crate::ident::IdStatus;
use crate::marc;

/// A record read from a MARC source.
#[derive(Clone, Debug)]
pub struct SourceRecord {
    /// What was read.
    pub bib: Bib,
    /// Its source (index into the manifest's sources).
    pub source: usize,
    /// Its position in the file (0-based).
    pub index: usize,
}

/// Reads one MARC file (ISO 2709 or MARCXML), adding its counts and skips to `report`.
pub(crate) fn read_marc(
    src: &Source,
    source: usize,
    report: &mut BuildReport,
) -> Vec<SourceRecord> {
    let path = src.path.display().to_string();
    let mut fr = FileReport {
        path: path.clone(),
        ..FileReport::default()
    };
    let skip_file = |report: &mut BuildReport, fr: &mut FileReport, why: String, label: &str| {
        fr.error = Some(why.clone());
        report.skip(
            Skip {
                file: path.clone(),
                index: 0,
                offset: None,
                reason: why,
            },
            label,
        );
    };
    let input = match crate::snapshot::read_input(&src.path) {
        Ok(d) => d,
        Err(e) => {
            skip_file(
                report,
                &mut fr,
                format!("file cannot be read: {e}"),
                "missing_file",
            );
            report.files.push(fr);
            return Vec::new();
        }
    };
    let data: &[u8] = input.as_ref();
    if data.iter().all(|b| b.is_ascii_whitespace()) {
        skip_file(report, &mut fr, "file is empty".into(), "empty_file");
        report.files.push(fr);
        return Vec::new();
    }
    let opts = ReadOptions {
        holdings: src.holding_fields(),
        link: src.link(),
    };
    let keep = |t: &[u8; 3]| bib_needs(t, &opts);
    let read = |rec: marc::Record| {
        let mut b = Bib::read(&rec, &opts);
        b.warnings = rec
            .warnings
            .iter()
            .map(|w| warning_label(w).to_string())
            .collect();
        b
    };
    let parsed: Vec<Result<Bib, marc::RecordError>> = if marc::sniff_xml(data) {
        marc::read_marcxml(data)
            .into_par_iter()
            .map(|r| r.map(read))
            .collect()
    } else {
        marc::split_records(data)
            .into_par_iter()
            .enumerate()
            .map(|(i, (off, b, t))| marc::parse_iso2709_with(b, i, off, t, &keep).map(read))
            .collect()
    };
    let mut out = Vec::with_capacity(parsed.len());
    for (index, r) in parsed.into_iter().enumerate() {
        match r {
            Ok(mut bib) => {
                fr.read += 1;
                let warns = std::mem::take(&mut bib.warnings);
                if !warns.is_empty() {
                    fr.warnings += 1;
                    for w in warns {
                        *report.warnings_by_kind.entry(w).or_default() += 1;
                    }
                }
                for i in &bib.ids {
                    match i.status {
                        IdStatus::Valid => {}
                        IdStatus::BadCheckDigit => report.invalid_identifiers += 1,
                        IdStatus::Cancelled => report.cancelled_identifiers += 1,
                    }
                }
                report.unreadable_identifiers += bib.unreadable_ids.len();
                out.push(SourceRecord { bib, source, index });
            }
            Err(e) => {
                fr.skipped += 1;
                report.skip(
                    Skip {
                        file: path.clone(),
                        index: e.index,
                        offset: Some(e.offset),
                        reason: e.kind.to_string(),
                    },
                    kind_label(&e.kind),
                );
            }
        }
    }
    report.files.push(fr);
    out
}
