//! A read-only reader of bbolt files, the database etcd keeps (and streams
//! as its snapshot).
//!
//! Written here rather than taken from a crate: bbolt-rs calls itself
//! incomplete and opens files for writing transactions we never want,
//! bolt-lite reads the whole file into memory (no good for snapshots of
//! gigabytes). What we need is small: the meta pages, then a walk of
//! branch and leaf pages. The file is untrusted (a snapshot can be
//! truncated, damaged or not etcd's at all), so every offset is checked
//! against the file before it is read, and a walk visits no page twice.
//!
//! The layout (bbolt 1.3/1.4, what etcd 3.5 and 3.6 write): pages of
//! `page_size` bytes; page 0 and 1 are meta pages (the one with the
//! higher transaction id and a good checksum wins); a page starts with a
//! 16-byte header (id, flags, element count, overflow pages); branch
//! elements point at child pages, leaf elements hold a key and a value; a
//! value flagged as a bucket is a bucket header (root page, sequence),
//! followed by the bucket's own page when it is inline (root 0).

use std::path::Path;

/// Why a file cannot be read as a bbolt database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Neither meta page is valid: not a bbolt file, or both damaged.
    #[error("not a bbolt database (etcd's format): {0}")]
    NotBbolt(String),
    /// A page or an element points outside the file or its page.
    #[error("damaged: {0}")]
    Damaged(String),
}

/// Page flags.
const BRANCH: u16 = 0x01;
const LEAF: u16 = 0x02;
/// A leaf element whose value is a bucket header.
const BUCKET_LEAF: u32 = 0x01;
const MAGIC: u32 = 0xED0C_DAED;
const PAGE_HEADER: usize = 16;
const ELEMENT: usize = 16;
const BUCKET_HEADER: usize = 16;
/// Deeper than any real tree (bbolt's fill makes ~log₁₀₀ of the keys).
const MAX_DEPTH: usize = 64;

/// The bytes of the database: memory-mapped from a file, or owned (tests,
/// fuzzing).
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Self::Mapped(m) => m,
            Self::Owned(v) => v,
        }
    }
}

/// An open database.
pub struct Db {
    bytes: Bytes,
    /// How much of `bytes` is the database (an etcd snapshot carries a
    /// 32-byte SHA-256 after it).
    len: usize,
    page_size: usize,
    root: u64,
    /// The transaction id of the meta page in use.
    pub txid: u64,
    /// Pages in use (bbolt's high-water mark): no walk visits more.
    pages: u64,
}

/// Where a bucket's tree starts.
#[derive(Clone, Copy)]
enum Root<'a> {
    Page(u64),
    /// A small bucket stored inside its parent's leaf: its page's bytes.
    Inline(&'a [u8]),
}

/// A bucket of a database: iterate it, or look one key up.
#[derive(Clone, Copy)]
pub struct Bucket<'a> {
    db: &'a Db,
    root: Root<'a>,
}

/// One leaf element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The key.
    pub key: &'a [u8],
    /// The value (for a nested bucket, its header).
    pub value: &'a [u8],
    /// Whether the value is a nested bucket.
    pub is_bucket: bool,
}

impl Db {
    /// Opens a file, memory-mapped (a snapshot of gigabytes is read where
    /// it lies). `extra` bytes at the end are not the database's (etcd's
    /// SHA-256 trailer).
    ///
    /// # Errors
    /// The file cannot be read, or is not a valid bbolt database.
    pub fn open(path: &Path, extra: usize) -> Result<Self, OpenError> {
        let file = std::fs::File::open(path).map_err(|e| OpenError::Io(path.to_path_buf(), e))?;
        // SAFETY: the map is read-only and private to this process. The
        // only danger is another process truncating or rewriting the file
        // while it is mapped (reads would see the change or fault): the
        // files read here are snapshots, written once and then only read,
        // and the CLI says not to point it at a live member's database.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| OpenError::Io(path.to_path_buf(), e))?;
        Ok(Self::parse(Bytes::Mapped(map), extra)?)
    }

    /// Reads a database held in memory.
    ///
    /// # Errors
    /// Not a valid bbolt database.
    pub fn from_vec(bytes: Vec<u8>, extra: usize) -> Result<Self, FormatError> {
        Self::parse(Bytes::Owned(bytes), extra)
    }

    fn parse(bytes: Bytes, extra: usize) -> Result<Self, FormatError> {
        let len = bytes.len().saturating_sub(extra);
        let data = &bytes[..len];
        let first = Meta::read(data, 0);
        // Page 1's place depends on the page size, which page 0 says; if
        // page 0 is damaged, try the sizes bbolt is used with.
        let sizes: Vec<usize> = match &first {
            Ok(m) => vec![m.page_size],
            Err(_) => vec![4096, 8192, 16384, 65536],
        };
        let second = sizes.iter().map(|&s| Meta::read(data, s)).find(Result::is_ok);
        let meta = match (first, second) {
            (Ok(a), Some(Ok(b))) => {
                if b.txid > a.txid {
                    b
                } else {
                    a
                }
            }
            (Ok(a), _) => a,
            (Err(_), Some(Ok(b))) => b,
            (Err(e), _) => return Err(FormatError::NotBbolt(e)),
        };
        let pages_in_file = (len / meta.page_size) as u64;
        if meta.pages > pages_in_file {
            return Err(FormatError::Damaged(format!(
                "the database says it has {} pages of {} bytes, the file holds {pages_in_file}: truncated",
                meta.pages, meta.page_size
            )));
        }
        Ok(Self { len, page_size: meta.page_size, root: meta.root, txid: meta.txid, pages: meta.pages, bytes })
    }

    /// The database's page size.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Every byte of the file, the trailer included.
    pub fn whole(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes of the database (without any trailer).
    pub fn data(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The top-level bucket of that name.
    ///
    /// # Errors
    /// The tree is damaged.
    pub fn bucket(&self, name: &[u8]) -> Result<Option<Bucket<'_>>, FormatError> {
        Bucket { db: self, root: Root::Page(self.root) }.nested(name)
    }

    /// The names of the top-level buckets.
    ///
    /// # Errors
    /// The tree is damaged.
    pub fn bucket_names(&self) -> Result<Vec<Vec<u8>>, FormatError> {
        let mut names = Vec::new();
        Bucket { db: self, root: Root::Page(self.root) }.for_each(|e| {
            if e.is_bucket {
                names.push(e.key.to_vec());
            }
            Ok(())
        })?;
        Ok(names)
    }

    /// The bytes of page `id` with its overflow pages.
    fn page(&self, id: u64) -> Result<&[u8], FormatError> {
        let damaged = |why: String| FormatError::Damaged(format!("page {id}: {why}"));
        if id < 2 || id >= self.pages {
            return Err(damaged(format!("outside the database's {} pages", self.pages)));
        }
        let start = usize::try_from(id).ok().and_then(|i| i.checked_mul(self.page_size));
        let data = self.data();
        let head = start
            .and_then(|s| data.get(s..s + PAGE_HEADER))
            .ok_or_else(|| damaged("beyond the end of the file".into()))?;
        let stored = u64_at(head, 0);
        if stored != id {
            return Err(damaged(format!("it says it is page {stored}")));
        }
        let overflow = u32_at(head, 12) as usize;
        let start = start.unwrap_or_default();
        let end = overflow
            .checked_add(1)
            .and_then(|n| n.checked_mul(self.page_size))
            .and_then(|n| n.checked_add(start))
            .filter(|&end| end <= data.len())
            .ok_or_else(|| damaged(format!("{overflow} overflow pages run beyond the end of the file")))?;
        Ok(&data[start..end])
    }
}

/// Why a file cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Reading the file failed.
    #[error("cannot read {path}: {source}", path = .0.display(), source = .1)]
    Io(std::path::PathBuf, std::io::Error),
    /// Its contents are not a bbolt database.
    #[error(transparent)]
    Format(#[from] FormatError),
}

struct Meta {
    page_size: usize,
    root: u64,
    pages: u64,
    txid: u64,
}

impl Meta {
    /// The meta page at `offset`, if its magic, version and checksum hold.
    fn read(data: &[u8], offset: usize) -> Result<Self, String> {
        let meta = data
            .get(offset + PAGE_HEADER..offset + PAGE_HEADER + 64)
            .ok_or_else(|| format!("the file is {} bytes, too short for a meta page at {offset}", data.len()))?;
        if u32_at(meta, 0) != MAGIC {
            return Err(format!("no bbolt magic number at byte {}", offset + PAGE_HEADER));
        }
        let version = u32_at(meta, 4);
        if version != 2 {
            return Err(format!("bbolt format version {version}, not 2"));
        }
        let checksum = u64_at(meta, 56);
        if fnv1a(&meta[..56]) != checksum {
            return Err(format!("the meta page at {offset} fails its checksum"));
        }
        let page_size = u32_at(meta, 8) as usize;
        if !(512..=1 << 20).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(format!("a page size of {page_size} bytes"));
        }
        Ok(Self { page_size, root: u64_at(meta, 16), pages: u64_at(meta, 40), txid: u64_at(meta, 48) })
    }
}

/// bbolt's meta checksum: 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

/// A page's kind and elements, checked against its bytes.
struct Page<'a> {
    bytes: &'a [u8],
    flags: u16,
    count: usize,
}

impl<'a> Page<'a> {
    fn new(bytes: &'a [u8], what: &dyn Fn() -> String) -> Result<Self, FormatError> {
        if bytes.len() < PAGE_HEADER {
            return Err(FormatError::Damaged(format!("{}: shorter than a page header", what())));
        }
        let flags = u16_at(bytes, 8);
        let count = usize::from(u16_at(bytes, 10));
        if flags != BRANCH && flags != LEAF {
            return Err(FormatError::Damaged(format!("{}: neither a branch nor a leaf (flags {flags:#x})", what())));
        }
        if PAGE_HEADER + count * ELEMENT > bytes.len() {
            return Err(FormatError::Damaged(format!("{}: {count} elements do not fit in the page", what())));
        }
        Ok(Self { bytes, flags, count })
    }

    /// The `n`th element's slice of `len` bytes at its `pos` (relative to
    /// the element, as bbolt lays them out).
    fn slice(&self, n: usize, pos: u32, len: usize, what: &dyn Fn() -> String) -> Result<&'a [u8], FormatError> {
        let at = PAGE_HEADER + n * ELEMENT;
        (at as u64 + u64::from(pos))
            .try_into()
            .ok()
            .and_then(|start: usize| Some(start..start.checked_add(len)?))
            .and_then(|r| self.bytes.get(r))
            .ok_or_else(|| FormatError::Damaged(format!("{}: element {n} points outside its page", what())))
    }

    fn branch_child(&self, n: usize) -> u64 {
        u64_at(self.bytes, PAGE_HEADER + n * ELEMENT + 8)
    }

    fn branch_key(&self, n: usize, what: &dyn Fn() -> String) -> Result<&'a [u8], FormatError> {
        let at = PAGE_HEADER + n * ELEMENT;
        self.slice(n, u32_at(self.bytes, at), u32_at(self.bytes, at + 4) as usize, what)
    }

    fn leaf(&self, n: usize, what: &dyn Fn() -> String) -> Result<Entry<'a>, FormatError> {
        let at = PAGE_HEADER + n * ELEMENT;
        let flags = u32_at(self.bytes, at);
        let pos = u32_at(self.bytes, at + 4);
        let key_len = u32_at(self.bytes, at + 8) as usize;
        let value_len = u32_at(self.bytes, at + 12) as usize;
        let both = self.slice(n, pos, key_len.saturating_add(value_len), what)?;
        let (key, value) = both.split_at(key_len);
        Ok(Entry { key, value, is_bucket: flags & BUCKET_LEAF != 0 })
    }
}

impl<'a> Bucket<'a> {
    /// Calls `each` with every entry in key order.
    ///
    /// # Errors
    /// The tree is damaged, or `each` failed.
    pub fn for_each(&self, mut each: impl FnMut(Entry<'a>) -> Result<(), FormatError>) -> Result<(), FormatError> {
        let mut visited = 0u64;
        self.walk(self.root, 0, &mut visited, &mut each)
    }

    fn walk(
        &self,
        root: Root<'a>,
        depth: usize,
        visited: &mut u64,
        each: &mut dyn FnMut(Entry<'a>) -> Result<(), FormatError>,
    ) -> Result<(), FormatError> {
        if depth > MAX_DEPTH {
            return Err(FormatError::Damaged(format!("a tree deeper than {MAX_DEPTH} pages: pages point in a cycle")));
        }
        // A valid tree visits each page once: more visits than pages means
        // pages point at each other.
        *visited += 1;
        if *visited > self.db.pages + 1 {
            return Err(FormatError::Damaged("pages are reached more than once: the tree points in a cycle".into()));
        }
        let (bytes, id) = match root {
            Root::Page(id) => (self.db.page(id)?, Some(id)),
            Root::Inline(bytes) => (bytes, None),
        };
        let what = || id.map_or_else(|| "an inline bucket".to_string(), |id| format!("page {id}"));
        let page = Page::new(bytes, &what)?;
        for n in 0..page.count {
            if page.flags == BRANCH {
                self.walk(Root::Page(page.branch_child(n)), depth + 1, visited, each)?;
            } else {
                each(page.leaf(n, &what)?)?;
            }
        }
        Ok(())
    }

    /// The value of `key`, if the bucket has it (and it is no bucket).
    ///
    /// # Errors
    /// The tree is damaged.
    pub fn get(&self, key: &[u8]) -> Result<Option<&'a [u8]>, FormatError> {
        Ok(self.find(key)?.filter(|e| !e.is_bucket).map(|e| e.value))
    }

    /// The nested bucket `name`.
    ///
    /// # Errors
    /// The tree is damaged.
    pub fn nested(&self, name: &[u8]) -> Result<Option<Bucket<'a>>, FormatError> {
        let Some(entry) = self.find(name)?.filter(|e| e.is_bucket) else { return Ok(None) };
        let header = entry.value;
        if header.len() < BUCKET_HEADER {
            return Err(FormatError::Damaged(format!("bucket {:?}: a header of {} bytes", lossy(name), header.len())));
        }
        let root = u64_at(header, 0);
        let root = if root == 0 { Root::Inline(&header[BUCKET_HEADER..]) } else { Root::Page(root) };
        Ok(Some(Bucket { db: self.db, root }))
    }

    /// The leaf entry of `key`, descending by the branch keys.
    fn find(&self, key: &[u8]) -> Result<Option<Entry<'a>>, FormatError> {
        let mut root = self.root;
        for _ in 0..=MAX_DEPTH {
            let (bytes, id) = match root {
                Root::Page(id) => (self.db.page(id)?, Some(id)),
                Root::Inline(bytes) => (bytes, None),
            };
            let what = || id.map_or_else(|| "an inline bucket".to_string(), |id| format!("page {id}"));
            let page = Page::new(bytes, &what)?;
            if page.flags == LEAF {
                for n in 0..page.count {
                    let entry = page.leaf(n, &what)?;
                    if entry.key == key {
                        return Ok(Some(entry));
                    }
                }
                return Ok(None);
            }
            // The last child whose first key is at most `key`.
            let mut child = None;
            for n in 0..page.count {
                if page.branch_key(n, &what)? <= key || n == 0 {
                    child = Some(page.branch_child(n));
                } else {
                    break;
                }
            }
            match child {
                Some(c) => root = Root::Page(c),
                None => return Ok(None),
            }
        }
        Err(FormatError::Damaged(format!("a tree deeper than {MAX_DEPTH} pages: pages point in a cycle")))
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub mod writer;
