//! The article-copy world's journal runs: which years of a journal each holder has, as
//! its holdings statement says (most holders) or, for holders that state none, as only
//! the shelf knows. Drawn from a hash of (seed, record, library), so the catalogue that
//! routers read and the truth the world answers from agree without storing either.

use rota_catalog::Format;
use rota_catalog::coverage::{Coverage, Span};
use rota_catalog::index::ClusterData;

use crate::draw::unit;

/// Share of holders of a journal whose holdings state no coverage.
const UNSTATED: f64 = 0.2;
/// Share of stated runs that ended (a cancelled subscription).
const CLOSED: f64 = 0.35;
/// The last year any run can have reached.
const THIS_YEAR: u16 = 2025;
/// Chance that a holder stating nothing has the cited year.
const UNSTATED_HOLDS: f64 = 0.6;

/// The run a holder states: first year and, for a closed run, the last.
pub(crate) fn stated_run(seed: u64, record: u64, library: u32) -> Option<(u16, Option<u16>)> {
    let u = |k: u64| {
        unit(
            seed ^ 0x5E41,
            record.wrapping_mul(31) ^ k,
            u64::from(library),
        )
    };
    if u(1) < UNSTATED {
        return None;
    }
    let first = 1950 + (u(2) * 65.0) as u16;
    let last =
        (u(3) < CLOSED).then(|| first + 3 + (u(4) * f64::from(THIS_YEAR - first - 3)) as u16);
    Some((first, last))
}

/// Whether the holder has the year on its shelf (or server).
pub(crate) fn holds_year(seed: u64, record: u64, library: u32, year: u16) -> bool {
    match stated_run(seed, record, library) {
        Some((first, last)) => first <= year && last.is_none_or(|l| year <= l),
        None => {
            unit(
                seed ^ 0xA11,
                record.wrapping_mul(131) ^ u64::from(year),
                u64::from(library),
            ) < UNSTATED_HOLDS
        }
    }
}

/// Writes the stated runs of a journal's holders into its catalogue record.
pub(crate) fn add_coverage(seed: u64, record: u64, c: &mut ClusterData) {
    if c.format != Format::Serial {
        return;
    }
    c.coverage = c
        .holdings
        .iter()
        .filter_map(|h| {
            stated_run(seed, record, h.library.get())
                .map(|(a, b)| (h.library, Coverage::from_spans([Span::years(a, b)])))
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_and_the_shelf_agree_on_stated_runs() {
        let (mut stated, mut unstated) = (0, 0);
        for record in 0..200u64 {
            for lib in 0..20u32 {
                match stated_run(7, record, lib) {
                    Some((first, last)) => {
                        stated += 1;
                        assert!(holds_year(7, record, lib, first));
                        assert!(!holds_year(7, record, lib, first - 1));
                        if let Some(l) = last {
                            assert!(l > first && l <= THIS_YEAR);
                            assert!(!holds_year(7, record, lib, l + 1));
                        } else {
                            assert!(holds_year(7, record, lib, THIS_YEAR));
                        }
                    }
                    None => unstated += 1,
                }
            }
        }
        let share = f64::from(unstated) / f64::from(stated + unstated);
        assert!((0.15..0.25).contains(&share), "{share}");
    }
}
