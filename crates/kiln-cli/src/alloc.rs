//! The global allocator: mimalloc, called directly.
//!
//! The evaluator allocates many small, short-lived objects (thunks, environments), and
//! mimalloc is markedly faster at that than glibc's malloc. The `mimalloc` crate's wrapper
//! always takes mimalloc's aligned-allocation path, which costs about 10% of evaluation time in
//! kiln's benchmarks; this wrapper uses the plain path whenever the plain path's alignment
//! guarantee (8 bytes, 16 for blocks of 16 bytes or more) already suffices.
//! This is the only `unsafe` code in kiln: implementing `GlobalAlloc` requires it.
#![allow(unsafe_code)]

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

pub(crate) struct MiMalloc;

fn plain(layout: &Layout) -> bool {
    layout.align() <= 8 || (layout.align() <= 16 && layout.size() >= 16)
}

// SAFETY: every block comes from mimalloc with at least the requested size and alignment, and
// is freed or resized only by mimalloc.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain(&layout) {
            mi::mi_malloc(layout.size()).cast()
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain(&layout) {
            mi::mi_zalloc(layout.size()).cast()
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr.cast::<c_void>());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        if plain(&new_layout) {
            mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
        } else {
            mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
        }
    }
}
