//! Content-addressed file bytes: files with identical contents, in any
//! corpus of this WebAssembly instance (one thread), share one copy of
//! their bytes and of their sketch, as git shares blobs. Ten clones of one
//! repository then cost about one copy.
//!
//! A [`Blob`] starts fresh (owned by one file, being filled by the host),
//! and is sealed once filled: it is hashed and, when the store already
//! holds the same bytes, swapped for that blob (the fresh copy is freed at
//! once, so a load's peak is one file above what it keeps). A sealed blob
//! is never written again: a file changed on disk gets a fresh blob. The
//! store holds weak references, so a blob is freed with its last holder.
//!
//! Why this does not leak between users: a corpus only ever holds bytes
//! its owner read with their own rights, and sharing swaps them for
//! identical bytes, compared in full (a hash only finds candidates), so
//! what each corpus holds is exactly what it read.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::rc::{Rc, Weak};

use crate::sketch::Sketch;

/// Blobs of one hash the store compares a new one with, at most: contents
/// crafted to collide cost a bounded number of comparisons, then simply
/// go unshared.
const MAX_PER_HASH: usize = 4;

/// What the store of this instance holds, each blob counted once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Sealed blobs alive.
    pub blobs: usize,
    /// Their bytes.
    pub bytes: usize,
    /// Bytes of their sketches.
    pub sketch_bytes: usize,
}

thread_local! {
    /// Sealed blobs by content hash.
    static STORE: RefCell<HashMap<u64, Vec<Weak<Stored>>>> = RefCell::new(HashMap::new());
    static STATS: Cell<StoreStats> = Cell::new(StoreStats::default());
}

/// What the store of this instance holds now.
pub fn store_stats() -> StoreStats {
    STATS.with(Cell::get)
}

fn update_stats(f: impl FnOnce(&mut StoreStats)) {
    // `try_with`: a blob dropped while the thread ends finds no store.
    let _ = STATS.try_with(|s| {
        let mut v = s.get();
        f(&mut v);
        s.set(v);
    });
}

struct Stored {
    bytes: Box<[u8]>,
    /// Set when sealed: the content hash (the bytes never change again).
    hash: Option<u64>,
    /// Listed in the store (not when its hash had too many others).
    listed: bool,
    /// Built at most once, by whichever holder sketches it first.
    sketch: OnceCell<Sketch>,
}

impl Drop for Stored {
    fn drop(&mut self) {
        let Some(hash) = self.hash else { return };
        let sketch = self.sketch.get().map_or(0, Sketch::bytes);
        update_stats(|s| {
            s.blobs -= 1;
            s.bytes -= self.bytes.len();
            s.sketch_bytes -= sketch;
        });
        if self.listed {
            // This blob's own weak reference is dead now; prune it. (No
            // blob is dropped while the store is borrowed, see `seal`; were
            // one, its dead reference would only stay listed.)
            let _ = STORE.try_with(|store| {
                let Ok(mut store) = store.try_borrow_mut() else { return };
                if let Some(list) = store.get_mut(&hash) {
                    list.retain(|w| w.strong_count() > 0);
                    if list.is_empty() {
                        store.remove(&hash);
                    }
                }
            });
        }
    }
}

/// One file's bytes: fresh (this file's alone, writable) or sealed (maybe
/// shared, read-only). Dereferences to the bytes.
pub struct Blob(Rc<Stored>);

impl Blob {
    /// A fresh blob of `len` zero bytes, for the host to fill.
    pub fn fresh(len: usize) -> Blob {
        Blob::owned(vec![0u8; len].into_boxed_slice())
    }

    fn owned(bytes: Box<[u8]>) -> Blob {
        Blob(Rc::new(Stored { bytes, hash: None, listed: false, sketch: OnceCell::new() }))
    }

    pub fn is_sealed(&self) -> bool {
        self.0.hash.is_some()
    }

    /// The bytes to fill, while fresh; none once sealed.
    pub fn fill(&mut self) -> Option<&mut [u8]> {
        if self.is_sealed() {
            return None;
        }
        // A fresh blob has one holder and is not in the store.
        Rc::get_mut(&mut self.0).map(|s| &mut s.bytes[..])
    }

    /// The first `len` bytes: in place while fresh, else as a fresh copy
    /// (a sealed blob may be shared, so it is never changed).
    pub fn truncated(mut self, len: usize) -> Blob {
        if len >= self.len() {
            return self;
        }
        match Rc::get_mut(&mut self.0).filter(|s| s.hash.is_none()) {
            Some(s) => {
                s.bytes = s.bytes[..len].into();
                self
            }
            None => Blob::owned(self.0.bytes[..len].into()),
        }
    }

    /// Seals the blob: the stored blob with the same bytes if there is one
    /// (this copy is then freed), else this one, now listed in the store.
    pub fn seal(mut self) -> Blob {
        if self.is_sealed() {
            return self;
        }
        let hash = content_hash(&self.0.bytes);
        let (found, crowded) = STORE.with(|store| {
            let store = store.borrow();
            let list = store.get(&hash).map_or(&[][..], Vec::as_slice);
            // Equal bytes, compared in full: a hash collision never shares.
            let found = list.iter().filter_map(Weak::upgrade).find(|b| b.bytes == self.0.bytes);
            (found, list.len() >= MAX_PER_HASH)
        });
        if let Some(shared) = found {
            // `self`, fresh and unlisted, is dropped here, outside the borrow.
            return Blob(shared);
        }
        let s = Rc::get_mut(&mut self.0).expect("a fresh blob has one holder");
        s.hash = Some(hash);
        s.listed = !crowded;
        let sketch = s.sketch.get().map_or(0, Sketch::bytes);
        update_stats(|st| {
            st.blobs += 1;
            st.bytes += s.bytes.len();
            st.sketch_bytes += sketch;
        });
        if s.listed {
            let weak = Rc::downgrade(&self.0);
            STORE.with(|store| store.borrow_mut().entry(hash).or_default().push(weak));
        }
        self
    }

    /// The sketch, once some holder has built it.
    pub fn sketch(&self) -> Option<&Sketch> {
        self.0.sketch.get()
    }

    /// Keeps `sketch` as this blob's, for every holder (a sketch depends
    /// only on the bytes); a second one is dropped. Sketch sealed blobs:
    /// a fresh one may still change.
    pub fn set_sketch(&self, sketch: Sketch) {
        let bytes = sketch.bytes();
        if self.0.sketch.set(sketch).is_ok() && self.is_sealed() {
            update_stats(|s| s.sketch_bytes += bytes);
        }
    }

    /// Whether `other` is the very same copy.
    pub fn shares_with(&self, other: &Blob) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// A handle that tells this very copy again but keeps none of its
    /// bytes alive.
    pub fn downgrade(&self) -> BlobRef {
        BlobRef(Rc::downgrade(&self.0))
    }
}

/// See [`Blob::downgrade`]. (While it lives, no other blob can take the
/// copy's place in memory, so it is never taken for another.)
#[derive(Debug)]
pub struct BlobRef(Weak<Stored>);

impl BlobRef {
    /// Whether `blob` is the copy this was made from.
    pub fn is(&self, blob: &Blob) -> bool {
        std::ptr::eq(self.0.as_ptr(), Rc::as_ptr(&blob.0))
    }
}

impl Deref for Blob {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0.bytes
    }
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blob({} bytes, {})", self.len(), if self.is_sealed() { "sealed" } else { "fresh" })
    }
}

/// A fast 64-bit hash of `bytes` (not cryptographic: it only finds
/// candidates, which are then compared in full), eight bytes at a step.
pub fn content_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mix = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(29);
    let mut chunks = bytes.chunks_exact(8);
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    for c in &mut chunks {
        h = mix(h, u64::from_le_bytes(c.try_into().expect("eight bytes")));
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = mix(h, u64::from_le_bytes(tail));
    // Final avalanche (from SplitMix64), so every input bit reaches the low bits.
    h ^= h >> 30;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sketch::GramCounts;

    fn sealed(bytes: &[u8]) -> Blob {
        let mut b = Blob::fresh(bytes.len());
        b.fill().expect("fresh").copy_from_slice(bytes);
        b.seal()
    }

    #[test]
    fn identical_contents_share_one_copy() {
        let a = sealed(b"fn main() {}\n");
        let b = sealed(b"fn main() {}\n");
        assert!(a.shares_with(&b));
        assert_eq!(store_stats(), StoreStats { blobs: 1, bytes: 13, sketch_bytes: 0 });
    }

    #[test]
    fn different_contents_do_not_share() {
        let a = sealed(b"alpha\n");
        let b = sealed(b"alphb\n");
        let c = sealed(b"alpha\n\0");
        assert!(!a.shares_with(&b) && !a.shares_with(&c));
        assert_eq!(store_stats().blobs, 3);
    }

    #[test]
    fn a_hash_collision_never_shares() {
        // Crowd one hash with blobs of other contents, as a collision
        // would: listed under the same key, they must still be compared.
        let a = sealed(b"first contents");
        let hash = content_hash(b"second contents");
        STORE.with(|s| s.borrow_mut().entry(hash).or_default().push(Rc::downgrade(&a.0)));
        let b = sealed(b"second contents");
        assert!(!b.shares_with(&a));
        assert_eq!(&b[..], b"second contents");
        assert_eq!(&a[..], b"first contents");
    }

    #[test]
    fn a_crowded_hash_goes_unshared_but_counted() {
        let keep: Vec<Blob> = (0..MAX_PER_HASH).map(|i| sealed(format!("decoy {i}").as_bytes())).collect();
        let hash = content_hash(b"target");
        STORE.with(|s| s.borrow_mut().insert(hash, keep.iter().map(|b| Rc::downgrade(&b.0)).collect()));
        let t1 = sealed(b"target");
        let t2 = sealed(b"target");
        assert!(!t1.shares_with(&t2), "compared past the bound");
        assert_eq!(store_stats().blobs, MAX_PER_HASH + 2);
    }

    #[test]
    fn freed_with_the_last_holder() {
        let a = sealed(b"shared bytes");
        let b = sealed(b"shared bytes");
        a.set_sketch(Sketch::build(&a, &mut GramCounts::default()));
        assert!(b.sketch().is_some(), "the sketch is shared too");
        assert!(store_stats().sketch_bytes > 0);
        drop(a);
        assert_eq!(store_stats().blobs, 1);
        drop(b);
        assert_eq!(store_stats(), StoreStats::default());
        STORE.with(|s| assert!(s.borrow().is_empty(), "a dead blob is still listed"));
        // The same bytes again make a new blob, not a dangling one.
        let c = sealed(b"shared bytes");
        assert_eq!(&c[..], b"shared bytes");
        assert!(c.sketch().is_none());
    }

    #[test]
    fn a_sealed_blob_is_never_written() {
        let mut a = sealed(b"hello world");
        let b = sealed(b"hello world");
        assert!(a.fill().is_none());
        let short = a.truncated(5);
        assert_eq!(&short[..], b"hello");
        assert!(!short.is_sealed(), "a changed copy starts fresh");
        assert_eq!(&b[..], b"hello world");
    }

    #[test]
    fn the_hash_sees_every_byte_and_the_length() {
        let base = b"0123456789abcdefXYZ".to_vec();
        for i in 0..base.len() {
            let mut v = base.clone();
            v[i] ^= 1;
            assert_ne!(content_hash(&v), content_hash(&base), "byte {i}");
        }
        assert_ne!(content_hash(b"ab"), content_hash(b"ab\0"));
        assert_ne!(content_hash(b""), content_hash(b"\0"));
    }
}
