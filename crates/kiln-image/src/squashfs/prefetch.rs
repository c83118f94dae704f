//! Parallel compression for backhand's serial writer.
//!
//! backhand 0.25 compresses one block after another on the thread that calls `write`. Its data
//! and fragment blocks are predictable, though: they follow from the regular files' contents in
//! node order (see [`produce`]). A producer thread reads the same files in the same order ahead
//! of backhand, compresses those blocks on a rayon pool and queues `(chunk, compressed)` pairs. backhand's compressor hook
//! ([`PrefetchCompressor`]) then takes the queue's front when the chunk it is asked to compress is
//! byte-for-byte the same, and compresses inline otherwise (metadata blocks, a file that changed
//! since the walk).
//!
//! **Invariant:** the output cannot depend on the prefetch. A queued result is used only for
//! exactly the bytes it was computed from, and compression is a pure function of those bytes and
//! the options, so the image is the same with any thread count, or with no prefetch at all.
//!
//! Rejected: forking backhand's data writer to compress in parallel (a fork to maintain), and a
//! content-keyed cache of all blocks (memory grows with the tree). The queue is bounded, so memory
//! stays at a few batches of blocks.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use backhand::compression::{CompressionAction, Compressor, DefaultCompressor};
use backhand::kind::Kind;
use backhand::{BackhandError, FilesystemCompressor, SuperBlock};
use rayon::prelude::*;

/// backhand's compressor hook; it needs a `'static` reference, hence a unit struct whose state
/// lives in [`QUEUE`].
pub(super) struct PrefetchCompressor;

static PREFETCH_COMPRESSOR: PrefetchCompressor = PrefetchCompressor;

/// The squashfs kind (v4, little endian) whose compressor is the prefetching one.
pub(super) fn kind() -> Kind {
    Kind::new_v4(&PREFETCH_COMPRESSOR)
}

/// A chunk and its compressed form (`None` if compressing failed; backhand then compresses it
/// itself and reports the error).
struct Compressed {
    chunk: Vec<u8>,
    compressed: Option<Vec<u8>>,
}

/// The consumer side, set for the duration of one write on the thread that runs it. backhand
/// calls the compressor on that thread, so concurrent writes on other threads do not mix.
struct Queue {
    rx: Receiver<Vec<Compressed>>,
    front: VecDeque<Compressed>,
}

thread_local! {
    static QUEUE: RefCell<Option<Queue>> = const { RefCell::new(None) };
}

#[cfg(test)]
thread_local! {
    /// How many blocks came from the queue on this thread, for the tests.
    static HITS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Clears this thread's queue when the write ends, even by unwinding; dropping the receiver
/// stops the producer.
struct QueueGuard;

impl Drop for QueueGuard {
    fn drop(&mut self) {
        QUEUE.with(|queue| queue.borrow_mut().take());
    }
}

/// Runs `write` while a producer compresses the data and fragment blocks of `files` (the regular
/// files, in node order) on `rayon::current_num_threads()` threads.
pub(super) fn with_prefetch<T>(
    files: Vec<PathBuf>,
    fc: FilesystemCompressor,
    block_size: u32,
    write: impl FnOnce() -> T,
) -> T {
    let threads = rayon::current_num_threads();
    if threads < 2 || files.is_empty() {
        return write();
    }
    // Two batches in flight: one being consumed, one being compressed.
    let (tx, rx) = sync_channel(2);
    std::thread::scope(|scope| {
        scope.spawn(move || produce(files, fc, block_size, threads, tx));
        QUEUE.with(|queue| {
            *queue.borrow_mut() = Some(Queue {
                rx,
                front: VecDeque::new(),
            });
        });
        let _guard = QueueGuard;
        write()
    })
}

/// Reads the files in order and sends the blocks backhand will compress, compressed, a batch at a
/// time. This mirrors `DataWriter::add_bytes` and `finalize` in backhand 0.25 (`v4/data.rs`):
/// a file whose first chunk is a whole block has every chunk compressed (all-zero ones become
/// holes); a shorter file is appended to the fragment block, which is compressed first if the
/// file does not fit in it any more; the last fragment block is compressed after all files.
/// Any failure just ends the prefetch: backhand meets the same file and reports the error.
fn produce(
    files: Vec<PathBuf>,
    fc: FilesystemCompressor,
    block_size: u32,
    threads: usize,
    tx: SyncSender<Vec<Compressed>>,
) {
    let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(threads).build() else {
        return;
    };
    let Ok(block_len) = usize::try_from(block_size) else {
        return;
    };
    let mut batcher = Batcher {
        pending: Vec::new(),
        batch_len: threads * 8,
        send: |batch: Vec<Vec<u8>>| {
            let compressed = pool.install(|| {
                batch
                    .into_par_iter()
                    .map(|chunk| {
                        let compressed = DefaultCompressor.compress(&chunk, fc, block_size).ok();
                        Compressed { chunk, compressed }
                    })
                    .collect()
            });
            tx.send(compressed).is_ok()
        },
    };
    let mut fragment = Vec::with_capacity(block_len);
    let read_chunk = |file: &mut File| {
        let mut chunk = Vec::with_capacity(block_len);
        file.take(u64::from(block_size))
            .read_to_end(&mut chunk)
            .map(|_| chunk)
    };
    for path in files {
        let Ok(mut file) = File::open(&path) else {
            return;
        };
        let Ok(first) = read_chunk(&mut file) else {
            return;
        };
        if first.is_empty() {
            continue;
        }
        if first.len() != block_len {
            if first.len() + fragment.len() > block_len
                && !batcher.push(std::mem::replace(
                    &mut fragment,
                    Vec::with_capacity(block_len),
                ))
            {
                return;
            }
            fragment.extend_from_slice(&first);
            continue;
        }
        let mut chunk = first;
        while !chunk.is_empty() {
            // backhand stores an all-zero chunk as a hole without compressing it.
            if chunk.iter().any(|&byte| byte != 0) && !batcher.push(chunk) {
                return;
            }
            chunk = match read_chunk(&mut file) {
                Ok(chunk) => chunk,
                Err(_) => return,
            };
        }
    }
    if !fragment.is_empty() && !batcher.push(fragment) {
        return;
    }
    batcher.flush();
}

/// Collects chunks into batches for the pool; `send` returns false once the writer is gone.
struct Batcher<F: FnMut(Vec<Vec<u8>>) -> bool> {
    pending: Vec<Vec<u8>>,
    batch_len: usize,
    send: F,
}

impl<F: FnMut(Vec<Vec<u8>>) -> bool> Batcher<F> {
    fn push(&mut self, chunk: Vec<u8>) -> bool {
        self.pending.push(chunk);
        self.pending.len() < self.batch_len || self.flush()
    }

    fn flush(&mut self) -> bool {
        self.pending.is_empty() || (self.send)(std::mem::take(&mut self.pending))
    }
}

/// The queued compression of `chunk`, if the queue's front is exactly that chunk.
fn take_prefetched(chunk: &[u8]) -> Option<Vec<u8>> {
    QUEUE.with(|queue| {
        let mut queue = queue.borrow_mut();
        let queue = queue.as_mut()?;
        if queue.front.is_empty() {
            // Waits for the producer, or returns None once it is done.
            queue.front.extend(queue.rx.recv().ok()?);
        }
        if queue.front.front()?.chunk != chunk {
            return None;
        }
        queue.front.pop_front()?.compressed
    })
}

impl CompressionAction for PrefetchCompressor {
    type Error = BackhandError;
    type Compressor = Compressor;
    type FilesystemCompressor = FilesystemCompressor;
    type SuperBlock = SuperBlock;

    fn decompress(
        &self,
        bytes: &[u8],
        out: &mut Vec<u8>,
        compressor: Compressor,
    ) -> Result<(), BackhandError> {
        DefaultCompressor.decompress(bytes, out, compressor)
    }

    fn compress(
        &self,
        bytes: &[u8],
        fc: FilesystemCompressor,
        block_size: u32,
    ) -> Result<Vec<u8>, BackhandError> {
        match take_prefetched(bytes) {
            Some(compressed) => {
                #[cfg(test)]
                HITS.with(|hits| hits.set(hits.get() + 1));
                Ok(compressed)
            }
            None => DefaultCompressor.compress(bytes, fc, block_size),
        }
    }

    fn compression_options(
        &self,
        superblock: &mut SuperBlock,
        kind: &Kind,
        fs_compressor: FilesystemCompressor,
    ) -> Result<Option<Vec<u8>>, BackhandError> {
        DefaultCompressor.compression_options(superblock, kind, fs_compressor)
    }
}

#[cfg(test)]
mod tests {
    use super::HITS;
    use crate::squashfs::{write_squashfs, SquashfsCompression, SquashfsOptions};

    /// Every data and fragment block comes from the queue when there are threads to spare, and
    /// none does on one thread; the bytes are the same either way.
    #[test]
    fn blocks_come_from_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        // A block of noise, a hole, a partial last chunk: two compressed data blocks.
        let mut data: Vec<u8> = (0..128u32 << 10).map(|i| (i * 7 % 253) as u8).collect();
        data.extend(vec![0u8; 128 << 10]);
        data.extend((0..100_000u32).map(|i| (i % 241) as u8));
        std::fs::write(root.join("big"), &data).unwrap();
        // Small files fill two fragment blocks.
        for idx in 0..3 {
            std::fs::write(root.join(format!("small-{idx}")), vec![b'a' + idx; 60_000]).unwrap();
        }
        let options = SquashfsOptions {
            compression: SquashfsCompression::Zstd,
            timestamp: 0,
            owners: super::super::Owners::Root,
        };
        let mut images = Vec::new();
        for (threads, expected_hits) in [(1, 0), (2, 4)] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let image = dir.path().join(format!("{threads}.sqfs"));
            let hits = pool.install(|| {
                HITS.with(|hits| hits.set(0));
                write_squashfs(&root, &image, &options).unwrap();
                HITS.with(|hits| hits.get())
            });
            assert_eq!(hits, expected_hits, "{threads} threads");
            images.push(std::fs::read(&image).unwrap());
        }
        assert!(images[0] == images[1]);
    }
}
