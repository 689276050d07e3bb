//! Clustering records that describe the same item.
//!
//! # The rule
//!
//! 1. **OCLC numbers are authoritative.** Records sharing an OCLC number (after mapping
//!    former numbers from 019 to the number that superseded them) are one cluster,
//!    unconditionally: OCLC has already decided they are one manifestation.
//! 2. **Other identifiers merge only compatible clusters.** A valid ISBN, LCCN or ISSN
//!    (ISSN only between serials) joins two clusters only when
//!    - they do not carry *different* OCLC numbers (so OCLC's split is respected),
//!    - their part designations (245 `$n $p`) agree when both have one: a multi-volume
//!      set's ISBN printed in every volume must not fuse volume 1 with volume 2, and
//!    - their titles share at least half of the shorter title's significant words: a
//!      wrong ISBN typed into one record must not glue two unrelated books together.
//!
//!    Compatibility is checked between the *clusters* as they stand (their accumulated
//!    OCLC numbers and the title of their first record), not between the two records
//!    that share the key. That is what stops chain merges: A–B via one ISBN and B–C via
//!    another cannot put A and C together if C is incompatible with the A+B cluster.
//! 3. **Records with no valid identifier** join the cluster whose records share their
//!    GoldRush-style match key (title, part, year, pages, edition, format, author).
//! 4. Identifiers with bad check digits never merge anything.
//!
//! The tests at the bottom and `tests/` exercise the rule on the real SWB and OBP data.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::bib::{Bib, Format, tokens};
use crate::ident::IdKind;

struct Dsu {
    parent: Vec<u32>,
    oclc: Vec<Vec<String>>,
    title: Vec<Vec<String>>,
    part: Vec<String>,
}

impl Dsu {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) -> u32 {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[gone as usize] = keep;
        let o = std::mem::take(&mut self.oclc[gone as usize]);
        for x in o {
            if !self.oclc[keep as usize].contains(&x) {
                self.oclc[keep as usize].push(x);
            }
        }
        if self.part[keep as usize].is_empty() {
            self.part[keep as usize] = std::mem::take(&mut self.part[gone as usize]);
        }
        if self.title[keep as usize].is_empty() {
            self.title[keep as usize] = std::mem::take(&mut self.title[gone as usize]);
        }
        keep
    }

    fn compatible(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        let (oa, ob) = (&self.oclc[ra as usize], &self.oclc[rb as usize]);
        if !oa.is_empty() && !ob.is_empty() && !oa.iter().any(|x| ob.contains(x)) {
            return false;
        }
        let (pa, pb) = (&self.part[ra as usize], &self.part[rb as usize]);
        if !pa.is_empty() && !pb.is_empty() && pa != pb {
            return false;
        }
        titles_compatible(&self.title[ra as usize], &self.title[rb as usize])
    }
}

/// At least half of the shorter title's words appear in the other (an empty title is
/// compatible with anything: there is nothing to contradict).
pub fn titles_compatible(a: &[String], b: &[String]) -> bool {
    if a.is_empty() || b.is_empty() {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let shared = short
        .iter()
        .filter(|w| long.binary_search(w).is_ok())
        .count();
    shared * 2 >= short.len()
}

/// What clustering decided, for the build summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClusterStats {
    /// Merges made by shared OCLC numbers.
    pub merged_by_oclc: usize,
    /// Merges made by other identifiers.
    pub merged_by_identifier: usize,
    /// Merges made by match key.
    pub merged_by_match_key: usize,
    /// Identifier merges refused by the chain-merge guard.
    pub refused_merges: usize,
}

/// Assigns every record a cluster number (dense, 0-based, in order of first record).
pub fn cluster(bibs: &[Bib]) -> (Vec<u32>, usize, ClusterStats) {
    let n = bibs.len();
    let mut stats = ClusterStats::default();
    // former OCLC number -> current, from 019
    let mut alias: HashMap<&str, &str> = HashMap::new();
    for b in bibs {
        if let Some(cur) = b.valid_ids(IdKind::Oclc).next() {
            for f in &b.former_oclc {
                if f != cur.value {
                    alias.entry(f.as_str()).or_insert(cur.value.as_str());
                }
            }
        }
    }
    let canon = |v: &str| -> String { alias.get(v).map_or(v, |c| *c).to_string() };
    // per-record text work is the expensive part: do it on all cores
    let (title, part): (Vec<Vec<String>>, Vec<String>) = bibs
        .par_iter()
        .map(|b| {
            let part = if b.part.is_empty() {
                String::new()
            } else {
                crate::bib::normalize_text(&b.part)
            };
            (tokens(&b.title), part)
        })
        .unzip();
    let mut dsu = Dsu {
        parent: (0..n as u32).collect(),
        oclc: bibs
            .iter()
            .map(|b| {
                let mut v: Vec<String> =
                    b.valid_ids(IdKind::Oclc).map(|i| canon(&i.value)).collect();
                v.dedup();
                v
            })
            .collect(),
        title,
        part,
    };

    // 1. OCLC
    let mut first: HashMap<String, u32> = HashMap::new();
    for (r, b) in bibs.iter().enumerate() {
        for i in b.valid_ids(IdKind::Oclc) {
            let c = canon(&i.value);
            match first.get(&c) {
                Some(&o) => {
                    if dsu.find(o) != dsu.find(r as u32) {
                        dsu.union(o, r as u32);
                        stats.merged_by_oclc += 1;
                    }
                }
                None => {
                    first.insert(c, r as u32);
                }
            }
        }
    }

    // 2. ISBN, LCCN, ISSN (serials only), guarded
    let mut by_key: HashMap<Vec<u8>, Vec<u32>> = HashMap::new();
    for (r, b) in bibs.iter().enumerate() {
        for i in &b.ids {
            if !i.valid
                || i.kind == IdKind::Oclc
                || (i.kind == IdKind::Issn && b.format != Format::Serial)
            {
                continue;
            }
            by_key.entry(i.key()).or_default().push(r as u32);
        }
    }
    let mut groups: Vec<Vec<u32>> = by_key.into_values().filter(|g| g.len() > 1).collect();
    groups.sort_unstable();
    for g in groups {
        // each record joins the first cluster in the group it is compatible with
        let mut heads: Vec<u32> = Vec::new();
        for &r in &g {
            let mut joined = false;
            for h in heads.iter_mut() {
                if dsu.find(*h) == dsu.find(r) {
                    joined = true;
                    break;
                }
                if dsu.compatible(*h, r) {
                    *h = dsu.union(*h, r);
                    stats.merged_by_identifier += 1;
                    joined = true;
                    break;
                }
            }
            if !joined {
                if !heads.is_empty() {
                    stats.refused_merges += 1;
                }
                heads.push(r);
            }
        }
    }

    // 3. match key, for records with no valid identifier
    let keys: Vec<Option<String>> = bibs.par_iter().map(Bib::match_key).collect();
    let mut by_mk: HashMap<&str, u32> = HashMap::new();
    for (r, k) in keys.iter().enumerate() {
        if let Some(k) = k
            && bibs[r].ids.iter().any(|i| i.valid)
        {
            by_mk.entry(k.as_str()).or_insert(r as u32);
        }
    }
    for (r, k) in keys.iter().enumerate() {
        if bibs[r].ids.iter().any(|i| i.valid) {
            continue;
        }
        let Some(k) = k else { continue };
        match by_mk.get(k.as_str()) {
            Some(&o) => {
                if dsu.find(o) != dsu.find(r as u32) {
                    dsu.union(o, r as u32);
                    stats.merged_by_match_key += 1;
                }
            }
            None => {
                by_mk.insert(k.as_str(), r as u32);
            }
        }
    }

    let mut dense: HashMap<u32, u32> = HashMap::new();
    let mut out = Vec::with_capacity(n);
    for r in 0..n as u32 {
        let root = dsu.find(r);
        let next = dense.len() as u32;
        out.push(*dense.entry(root).or_insert(next));
    }
    let count = dense.len();
    (out, count, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ident::{normalize_isbn, normalize_oclc};

    fn bib(title: &str, part: &str, ids: &[&str]) -> Bib {
        let mut b = Bib {
            title: title.into(),
            part: part.into(),
            year: Some(2000),
            ..Bib::default()
        };
        for i in ids {
            if let Some(o) = i.strip_prefix("oclc:") {
                b.ids.push(normalize_oclc(o).unwrap());
            } else {
                b.ids.push(normalize_isbn(i).unwrap());
            }
        }
        b
    }

    #[test]
    fn shared_isbn_merges_same_title() {
        let bibs = [
            bib("Moby Dick", "", &["9780142437247"]),
            bib("Moby-Dick, or, The whale", "", &["9780142437247"]),
        ];
        let (c, n, _) = cluster(&bibs);
        assert_eq!(n, 1);
        assert_eq!(c[0], c[1]);
    }

    #[test]
    fn set_isbn_does_not_fuse_volumes() {
        let bibs = [
            bib("History of England", "Vol. 1", &["9780140135978"]),
            bib("History of England", "Vol. 2", &["9780140135978"]),
        ];
        let (_, n, s) = cluster(&bibs);
        assert_eq!(n, 2);
        assert_eq!(s.refused_merges, 1);
    }

    #[test]
    fn wrong_isbn_does_not_glue_unrelated_titles() {
        let bibs = [
            bib("Moby Dick", "", &["9780142437247"]),
            bib("A brief history of time", "", &["9780142437247"]),
        ];
        assert_eq!(cluster(&bibs).1, 2);
    }

    #[test]
    fn no_chain_merge_across_oclc_numbers() {
        // A and B share OCLC 1; C has OCLC 2 and shares an ISBN with B: stays apart
        let bibs = [
            bib("Moby Dick", "", &["oclc:1", "9780142437247"]),
            bib("Moby Dick", "", &["oclc:1", "9780553213119"]),
            bib("Moby Dick", "", &["oclc:2", "9780553213119"]),
        ];
        let (c, n, _) = cluster(&bibs);
        assert_eq!(n, 2);
        assert_eq!(c[0], c[1]);
        assert_ne!(c[1], c[2]);
    }

    #[test]
    fn former_oclc_numbers_alias() {
        let mut a = bib("Moby Dick", "", &["oclc:100"]);
        a.former_oclc.push("7".into());
        let b = bib("Something else entirely", "", &["oclc:7"]);
        let (c, _, _) = cluster(&[a, b]);
        assert_eq!(
            c[0], c[1],
            "OCLC's merge decision wins over title differences"
        );
    }

    #[test]
    fn invalid_ids_never_merge_and_match_key_does() {
        let mut a = bib("Songs of the 60's", "", &[]);
        a.ids.push(crate::ident::Ident {
            kind: IdKind::Isbn,
            value: "9780000000001".into(),
            valid: false,
        });
        let mut b = a.clone();
        b.title = "Totally different".into();
        let (_, n, _) = cluster(&[a.clone(), b]);
        assert_eq!(n, 2);
        let (_, n, s) = cluster(&[a.clone(), a]);
        assert_eq!(n, 1);
        assert_eq!(s.merged_by_match_key, 1);
    }
}
