//! The threads the fast layers share their work with, started once and kept.
//!
//! A training step hands work to the other threads about eight times (the input
//! projection, the two recurrences, the weight gradients, a head). Starting and joining a
//! thread for each hand-off (`std::thread::scope`) cost 36-49 µs on the two-core machine
//! the chapter "Making it fast" measures (`cargo xtask bench` times it), about a tenth of a
//! step at (32, 64, 128), and the second thread started its half that much later than the
//! first. These threads are started on
//! the first hand-off and then wait for the next one: spinning for a short while (a step's
//! serial stretches are shorter than that), then asleep on a condition variable, so an idle
//! process costs no processor time. OpenMP runtimes, which PyTorch uses on the CPU, keep
//! their thread teams the same way; on the GPU, persistent RNN kernels (Diamos et al.
//! 2016) stay resident across time steps rather than being launched at each one.
//!
//! One caller at a time: a second thread that hands off work while the pool is busy (tests
//! run in parallel, or a part that itself splits its work) gets threads of its own, as
//! before.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long an idle worker spins before it sleeps: longer than the serial stretches
/// between two hand-offs of a training step (up to about half a millisecond at batch 1,
/// where both recurrences run on one thread), because waking a sleeping thread on a
/// virtual machine took from tens of microseconds to over a millisecond when its core had
/// gone idle; short enough that a process between steps soon stops using the processor.
/// (OpenMP runtimes spin far longer by default: 200 ms in Intel's.)
const SPIN: Duration = Duration::from_millis(2);

/// A part of the work: called with the part's index.
type Part<'a> = &'a (dyn Fn(usize) + Sync);

/// What the workers share with the caller.
struct Pool {
    /// Held by the one caller the pool serves at a time.
    caller: Mutex<()>,
    /// The current task, and its number, under a lock for the workers that sleep.
    task: Mutex<Task>,
    wake: Condvar,
    /// The current task's number, read without the lock by spinning workers.
    epoch: AtomicU64,
    /// Parts handed to workers and not yet finished.
    pending: AtomicUsize,
    /// The first panic of a worker's part, re-raised on the caller's thread.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Worker threads: parts 1, 2, ... of a task (part 0 runs on the caller).
    workers: usize,
}

struct Task {
    epoch: u64,
    parts: usize,
    part: Option<Part<'static>>,
}

/// The pool of `threads() - 1` workers, started on first use.
fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::start(super::threads().saturating_sub(1)))
}

/// Calls `part(0)`, ..., `part(n - 1)`, the first on this thread and the others on the
/// pool's workers (or, if the pool is busy or too small, on threads started for them), and
/// returns when all have finished. A panic in any part is re-raised here.
pub(crate) fn run(n: usize, part: Part<'_>) {
    match n {
        0 => {}
        1 => part(0),
        _ => pool().run(n, part),
    }
}

impl Pool {
    /// A pool with `workers` threads, which live as long as the process.
    fn start(workers: usize) -> &'static Pool {
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            caller: Mutex::new(()),
            task: Mutex::new(Task {
                epoch: 0,
                parts: 0,
                part: None,
            }),
            wake: Condvar::new(),
            epoch: AtomicU64::new(0),
            pending: AtomicUsize::new(0),
            panic: Mutex::new(None),
            workers,
        }));
        for id in 1..=workers {
            std::thread::Builder::new()
                .name(format!("recurrent-{id}"))
                .spawn(move || pool.work(id))
                .expect("could not start a worker thread");
        }
        pool
    }

    /// A worker's life: wait for a task with a new number, run its part `id` if it has one.
    fn work(&self, id: usize) {
        let mut seen = 0;
        loop {
            spin_while(|| self.epoch.load(Ordering::Acquire) == seen);
            let (part, parts) = {
                let mut task = self.task.lock().unwrap_or_else(|e| e.into_inner());
                while task.epoch == seen {
                    task = self.wake.wait(task).unwrap_or_else(|e| e.into_inner());
                }
                seen = task.epoch;
                (task.part, task.parts)
            };
            if id < parts {
                let part = part.expect("a task with parts has work");
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| part(id))) {
                    let mut first = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                    first.get_or_insert(payload);
                }
                self.pending.fetch_sub(1, Ordering::Release);
            }
        }
    }

    /// [`run`] on this pool, for `n` ≥ 2.
    fn run(&self, n: usize, part: Part<'_>) {
        let guard = match self.caller.try_lock() {
            Ok(guard) if n - 1 <= self.workers => guard,
            _ => return run_scoped(n, part),
        };
        // SAFETY: the workers call `part` only for this task, and this function does not
        // return (nor unwind) before every part handed to them has finished (`pending` is
        // back to 0), so `part` outlives each use. A worker that reads this task after
        // that has no part of it left to run (each worker runs a task once) and does not
        // call `part`.
        let erased: Part<'static> = unsafe { std::mem::transmute::<Part<'_>, Part<'static>>(part) };
        self.pending.store(n - 1, Ordering::Release);
        {
            let mut task = self.task.lock().unwrap_or_else(|e| e.into_inner());
            task.epoch += 1;
            task.parts = n;
            task.part = Some(erased);
            self.epoch.store(task.epoch, Ordering::Release);
        }
        self.wake.notify_all();
        let mine = catch_unwind(AssertUnwindSafe(|| part(0)));
        let busy = || self.pending.load(Ordering::Acquire) != 0;
        if spin_while(busy) {
            while busy() {
                std::thread::yield_now();
            }
        }
        self.task.lock().unwrap_or_else(|e| e.into_inner()).part = None;
        let theirs = self.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(guard);
        if let Err(payload) = mine {
            resume_unwind(payload);
        }
        if let Some(payload) = theirs {
            resume_unwind(payload);
        }
    }
}

/// Spins while `busy()` holds, for at most [`SPIN`]; returns whether it still holds.
fn spin_while(busy: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    let mut spins = 0u32;
    while busy() {
        std::hint::spin_loop();
        spins = spins.wrapping_add(1);
        // Reading the clock costs more than a spin: look at it now and then.
        if spins.is_multiple_of(64) && start.elapsed() >= SPIN {
            return true;
        }
    }
    false
}

/// [`run`] on threads started for this call and joined before it returns.
fn run_scoped(n: usize, part: Part<'_>) {
    std::thread::scope(|scope| {
        for id in 1..n {
            scope.spawn(move || part(id));
        }
        part(0);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_on_pools_of_any_size() {
        for workers in 0..3 {
            let pool = Pool::start(workers);
            for n in 2..5 {
                let runs: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
                for _ in 0..200 {
                    pool.run(n, &|i| {
                        runs[i].fetch_add(1, Ordering::Relaxed);
                    });
                }
                assert!(
                    runs.iter().all(|r| r.load(Ordering::Relaxed) == 200),
                    "{workers} workers, {n} parts"
                );
            }
        }
    }

    #[test]
    fn a_panic_in_a_part_reaches_the_caller_and_the_pool_still_works() {
        let pool = Pool::start(2);
        for bad in 0..3 {
            let caught = catch_unwind(|| pool.run(3, &|i| assert!(i != bad, "part {bad} fails")));
            assert!(caught.is_err(), "the panic of part {bad} was lost");
            let done = AtomicUsize::new(0);
            pool.run(3, &|_| {
                done.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(done.load(Ordering::Relaxed), 3);
        }
    }

    #[test]
    fn a_part_that_hands_off_work_itself_gets_threads_of_its_own() {
        let pool = Pool::start(1);
        let inner = AtomicUsize::new(0);
        pool.run(2, &|_| {
            pool.run(2, &|_| {
                inner.fetch_add(1, Ordering::Relaxed);
            })
        });
        assert_eq!(inner.load(Ordering::Relaxed), 4);
    }
}
