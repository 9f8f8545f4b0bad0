//! The allocator of the native libraries (`ordertrace-ffi`, `ordertrace-jni`), with the feature
//! `native-allocator` that both turn on.
//!
//! Why: every span is allocated on the caller's thread and freed on the export worker's. With
//! glibc's malloc the two threads contend on its arena locks: in the JMH run a JNI stage spent
//! about a quarter of its time in malloc, free and the futex wake-ups they cause (BENCHMARKS.md,
//! "The allocator is a large part of it"). mimalloc frees across threads without a shared lock.
//! A Rust program that embeds the core picks its own allocator; the libraries loaded into a JVM
//! or a .NET process have no other way to choose one, so they carry it.
//!
//! `local_dynamic_tls`: the libraries are loaded with `dlopen` (`System.loadLibrary`, P/Invoke),
//! where mimalloc's default initial-exec thread-local storage may not fit.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
