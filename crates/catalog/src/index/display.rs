//! Display text: a cluster's title, author and identifiers, read from its compressed
//! block.

use super::*;

impl Catalog {
    /// Decompresses one text block with this thread's reusable context (creating a zstd
    /// context per call cost more than the decompression).
    fn decompress_block(&self, raw: &[u8], records: usize) -> Option<Vec<u8>> {
        use zstd::zstd_safe::{DCtx, get_frame_content_size};
        thread_local! {
            static DCTX: std::cell::RefCell<Option<DCtx<'static>>> =
                const { std::cell::RefCell::new(None) };
        }
        // the writer records the content size; else, a block is at most `records` records
        // and MARC bounds a field at 9,999 bytes
        let cap = match get_frame_content_size(raw) {
            Ok(Some(n)) => usize::try_from(n).ok()?,
            _ => records * 3 * 10_000,
        };
        let mut out: Vec<u8> = Vec::with_capacity(cap);
        DCTX.with(|c| {
            let mut c = c.borrow_mut();
            let ctx = c.get_or_insert_with(DCtx::create);
            ctx.decompress_using_ddict(&mut out, raw, self.dict.as_ddict())
                .ok()
        })?;
        Some(out)
    }

    /// A cluster's display title and author, without its identifiers (reading those
    /// back from their tables is most of what [`Catalog::info`] costs).
    pub fn title_author(&self, cluster: ClusterId) -> Option<(String, String)> {
        let (title, author, _) = self.with_record(cluster.get(), text::read_record)?;
        Some((title, author))
    }

    /// Runs `f` on a cluster's text record.
    fn with_record<T>(&self, cluster: u32, f: impl FnOnce(&[u8]) -> T) -> Option<T> {
        if cluster >= self.clusters() {
            return None;
        }
        let tb = self.meta.text_block as usize;
        let block = cluster as usize / tb;
        let offs = self.text_off.as_ref();
        let at = |i: usize| -> Option<usize> {
            let s = offs.get(8 * i..8 * i + 8)?;
            usize::try_from(u64::from_le_bytes(s.try_into().ok()?)).ok()
        };
        let (s, e) = (at(block)?, at(block + 1)?);
        let raw = self.text.as_ref().get(s..e)?;
        let plain = self.decompress_block(raw, tb)?;
        let rec = text::records(&plain).nth(cluster as usize % tb)?;
        Some(f(rec))
    }

    /// Display information for a cluster.
    pub fn info(&self, cluster: ClusterId) -> Option<ClusterInfo> {
        let cluster = cluster.get();
        let (title, author, stored) = self.with_record(cluster, text::read_record)?;
        let mut ids = Vec::with_capacity(stored.len());
        for (k, id) in stored.iter().enumerate() {
            match id {
                text::Stored::Number(kind, coarse) => {
                    // two ids of a cluster may share a coarse form: read it once
                    if stored[..k].contains(id) {
                        continue;
                    }
                    self.num_table(num_slot(*kind))
                        .each_in_coarse(*coarse, cluster, |n| {
                            ids.extend(Ident::from_number(*kind, n).map(|i| i.to_string()));
                        });
                }
                text::Stored::Text(i) => ids.push(i.to_string()),
            }
        }
        Some(ClusterInfo {
            id: cluster,
            title,
            author,
            year: self.year(ClusterId::new(cluster)),
            format: self.format(ClusterId::new(cluster)),
            ids,
        })
    }
}
