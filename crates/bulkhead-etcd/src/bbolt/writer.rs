//! Writes a fresh bbolt file, bucket by bucket, keys in order: what a
//! restore needs to add the watched changes to a snapshot without running
//! etcd (an etcd that runs during a restore revokes expired leases and
//! moves the revision under the replay: etcd-backup-restore#1045).
//!
//! Written by hand for the reason the reader is (no crate writes bbolt
//! files), and simple because the file is written once, sequentially:
//! leaves packed in key order, then the branch levels above them, an empty
//! freelist, and two meta pages pointing at the root. etcd opens it like any
//! database and rebalances pages as it writes.

use std::io::{self, Seek, SeekFrom, Write};

use super::{BRANCH, BUCKET_HEADER, BUCKET_LEAF, ELEMENT, LEAF, MAGIC, PAGE_HEADER, fnv1a};

const FREELIST: u16 = 0x10;
const META: u16 = 0x04;

/// A bbolt file being written.
pub struct Writer<W: Write + Seek> {
    out: W,
    page_size: usize,
    /// The next free page.
    next: u64,
}

/// A leaf or branch page, as it is filled.
struct Filling {
    /// (flags or pgid, key, value) per element.
    elements: Vec<(u64, Vec<u8>, Vec<u8>)>,
    bytes: usize,
}

impl<W: Write + Seek> Writer<W> {
    /// Starts a file of `page_size` pages (etcd's is 4096).
    ///
    /// # Errors
    /// Writing failed.
    pub fn new(mut out: W, page_size: usize) -> io::Result<Self> {
        // Meta pages are written last, when the root is known; the freelist
        // is page 2 and stays empty (the file has no free pages).
        out.seek(SeekFrom::Start(2 * page_size as u64))?;
        let mut freelist = vec![0u8; page_size];
        header(&mut freelist, 2, FREELIST, 0, 0);
        out.write_all(&freelist)?;
        Ok(Self { out, page_size, next: 3 })
    }

    /// Writes a bucket of plain values, given in strictly ascending key
    /// order; returns its root page.
    ///
    /// # Errors
    /// Writing failed, or the keys were out of order.
    pub fn bucket<'k>(&mut self, entries: impl IntoIterator<Item = (&'k [u8], &'k [u8])>) -> io::Result<u64> {
        self.tree(entries.into_iter().map(|(k, v)| (0, k.to_vec(), v.to_vec())))
    }

    /// Writes the top-level bucket holding `buckets` (name, root page), in
    /// ascending name order, then the meta pages: the file is complete.
    ///
    /// # Errors
    /// Writing failed.
    pub fn finish(mut self, buckets: &[(&[u8], u64)]) -> io::Result<W> {
        let root = self.tree(buckets.iter().map(|(name, page)| {
            let mut header = vec![0u8; BUCKET_HEADER];
            header[..8].copy_from_slice(&page.to_le_bytes());
            (u64::from(BUCKET_LEAF), name.to_vec(), header)
        }))?;
        for (id, txid) in [(0u64, 0u64), (1, 1)] {
            let mut page = vec![0u8; self.page_size];
            header(&mut page, id, META, 0, 0);
            let meta = &mut page[PAGE_HEADER..PAGE_HEADER + 64];
            meta[0..4].copy_from_slice(&MAGIC.to_le_bytes());
            meta[4..8].copy_from_slice(&2u32.to_le_bytes());
            meta[8..12].copy_from_slice(&u32::try_from(self.page_size).unwrap_or(4096).to_le_bytes());
            meta[16..24].copy_from_slice(&root.to_le_bytes());
            meta[32..40].copy_from_slice(&2u64.to_le_bytes());
            meta[40..48].copy_from_slice(&self.next.to_le_bytes());
            meta[48..56].copy_from_slice(&txid.to_le_bytes());
            let sum = fnv1a(&meta[..56]);
            meta[56..64].copy_from_slice(&sum.to_le_bytes());
            self.out.seek(SeekFrom::Start(id * self.page_size as u64))?;
            self.out.write_all(&page)?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    /// Leaves for `elements`, then branch levels until one page remains.
    fn tree(&mut self, elements: impl Iterator<Item = (u64, Vec<u8>, Vec<u8>)>) -> io::Result<u64> {
        let mut level: Vec<(Vec<u8>, u64)> = Vec::new();
        let mut filling = Filling { elements: Vec::new(), bytes: PAGE_HEADER };
        let mut last: Option<Vec<u8>> = None;
        for (flags, key, value) in elements {
            if last.as_ref().is_some_and(|l| *l >= key) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "bbolt keys must be written in ascending order",
                ));
            }
            last = Some(key.clone());
            let size = ELEMENT + key.len() + value.len();
            if !filling.elements.is_empty() && filling.bytes + size > self.page_size {
                level.push(self.write_page(LEAF, &mut filling)?);
            }
            filling.bytes += size;
            filling.elements.push((flags, key, value));
        }
        // An empty bucket is one empty leaf.
        if !filling.elements.is_empty() || level.is_empty() {
            level.push(self.write_page(LEAF, &mut filling)?);
        }
        while level.len() > 1 {
            let mut above = Vec::new();
            for (key, page) in std::mem::take(&mut level) {
                let size = ELEMENT + key.len();
                if !filling.elements.is_empty() && filling.bytes + size > self.page_size {
                    above.push(self.write_page(BRANCH, &mut filling)?);
                }
                filling.bytes += size;
                filling.elements.push((page, key, Vec::new()));
            }
            above.push(self.write_page(BRANCH, &mut filling)?);
            level = above;
        }
        Ok(level[0].1)
    }

    /// Writes the page being filled (with overflow pages when one element
    /// is larger than a page) and returns (its first key, its id).
    fn write_page(&mut self, flags: u16, filling: &mut Filling) -> io::Result<(Vec<u8>, u64)> {
        let elements = std::mem::take(&mut filling.elements);
        let pages = filling.bytes.div_ceil(self.page_size).max(1);
        filling.bytes = PAGE_HEADER;
        let id = self.next;
        self.next += pages as u64;
        let mut page = vec![0u8; pages * self.page_size];
        let count = u16::try_from(elements.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too many elements for one page"))?;
        header(&mut page, id, flags, count, u32::try_from(pages - 1).unwrap_or(u32::MAX));
        let mut data = PAGE_HEADER + elements.len() * ELEMENT;
        for (n, (first, key, value)) in elements.iter().enumerate() {
            let at = PAGE_HEADER + n * ELEMENT;
            let pos = u32::try_from(data - at).unwrap_or(u32::MAX);
            let len = |b: &[u8]| u32::try_from(b.len()).unwrap_or(u32::MAX).to_le_bytes();
            if flags == BRANCH {
                page[at..at + 4].copy_from_slice(&pos.to_le_bytes());
                page[at + 4..at + 8].copy_from_slice(&len(key));
                page[at + 8..at + 16].copy_from_slice(&first.to_le_bytes());
            } else {
                page[at..at + 4].copy_from_slice(&u32::try_from(*first).unwrap_or(0).to_le_bytes());
                page[at + 4..at + 8].copy_from_slice(&pos.to_le_bytes());
                page[at + 8..at + 12].copy_from_slice(&len(key));
                page[at + 12..at + 16].copy_from_slice(&len(value));
            }
            page[data..data + key.len()].copy_from_slice(key);
            data += key.len();
            page[data..data + value.len()].copy_from_slice(value);
            data += value.len();
        }
        self.out.seek(SeekFrom::Start(id * self.page_size as u64))?;
        self.out.write_all(&page)?;
        let first = elements.into_iter().next().map(|(_, k, _)| k).unwrap_or_default();
        Ok((first, id))
    }
}

fn header(page: &mut [u8], id: u64, flags: u16, count: u16, overflow: u32) {
    page[0..8].copy_from_slice(&id.to_le_bytes());
    page[8..10].copy_from_slice(&flags.to_le_bytes());
    page[10..12].copy_from_slice(&count.to_le_bytes());
    page[12..16].copy_from_slice(&overflow.to_le_bytes());
}
