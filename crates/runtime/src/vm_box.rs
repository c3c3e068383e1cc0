//! Heap cells that compiled code reads and writes through raw pointers.
//!
//! Compiled code keeps addresses of globals, tables, memories and contexts
//! (see `waven_environ::vm`) and accesses them behind Rust's back. A `Box`
//! would promise Rust unique access; a [`VmBox`] promises nothing: it owns
//! a stable heap allocation and every access, Rust's included, goes through
//! its raw pointer, so the compiler never assumes a value unchanged across
//! a call into compiled code.

use std::ptr::NonNull;

/// An owned, pinned heap value accessed only through its raw pointer.
pub(crate) struct VmBox<T> {
    ptr: NonNull<T>,
}

// SAFETY: a `VmBox` owns its value like a `Box` does. It holds only the
// `waven_environ::vm` structures (and the runtime's extensions of them),
// whose raw pointers are addresses of objects of the same store, which
// travel between threads with the store and are used by one thread at a
// time (running code needs the store mutably).
unsafe impl<T> Send for VmBox<T> {}
// SAFETY: as above; `&VmBox` gives only shared reads.
unsafe impl<T> Sync for VmBox<T> {}

impl<T> VmBox<T> {
    /// Moves `value` to the heap.
    pub(crate) fn new(value: T) -> VmBox<T> {
        VmBox {
            ptr: NonNull::from(Box::leak(Box::new(value))),
        }
    }

    /// The value's address, stable for the box's life.
    pub(crate) fn as_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// The value. Compiled code may change it only while it runs, and it
    /// never runs while the store is borrowed by Rust code.
    pub(crate) fn get(&self) -> &T {
        // SAFETY: the allocation lives as long as `self`; no compiled code
        // runs while this shared borrow of the store (and so of `self`)
        // exists, because running compiled code needs the store mutably.
        unsafe { self.ptr.as_ref() }
    }

    /// The value, mutably.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        // SAFETY: as in `get`, and `&mut self` excludes other Rust borrows.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T> Drop for VmBox<T> {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` in `new` and is freed
        // once, here.
        drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
    }
}
