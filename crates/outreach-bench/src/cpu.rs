//! Where a benchmark's CPU time goes: the time each thread of a process has run, from Linux's
//! per-task scheduler statistics (`/proc/PID/task/TID/schedstat`, nanoseconds, unlike the
//! 10 ms ticks of `stat`). The send benchmark uses it to show which part of the engine bounds
//! its rate; a figure that cannot be read is left out rather than shown as zero.

use std::collections::HashMap;

/// The run time of every thread of one process at one instant.
pub struct Threads(HashMap<String, (String, Ran)>);

/// What one thread has run: nanoseconds on a CPU, and how many times it was put on one (each
/// wake-up after waiting costs a context switch, dear on a virtual machine).
#[derive(Clone, Copy, Default)]
pub struct Ran {
    pub ns: u64,
    pub slices: u64,
}

impl std::iter::Sum for Ran {
    fn sum<I: Iterator<Item = Ran>>(all: I) -> Self {
        all.fold(Ran::default(), |sum, r| Ran {
            ns: sum.ns + r.ns,
            slices: sum.slices + r.slices,
        })
    }
}

impl Threads {
    /// The threads of `pid` ("self" for this process); empty when `/proc` cannot be read.
    pub fn of(pid: &str) -> Self {
        let mut threads = HashMap::new();
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return Self(threads);
        };
        for task in tasks.flatten() {
            let dir = task.path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            let ran = std::fs::read_to_string(dir.join("schedstat"))
                .ok()
                .and_then(|s| {
                    let mut fields = s.split_whitespace().map(|f| f.parse::<u64>().ok());
                    let ns = fields.next()??;
                    let slices = fields.nth(1)??;
                    Some(Ran { ns, slices })
                });
            if let Some(ran) = ran {
                let tid = task.file_name().to_string_lossy().into_owned();
                threads.insert(tid, (comm.trim().to_owned(), ran));
            }
        }
        Self(threads)
    }

    /// Nanoseconds each thread ran since `earlier`, with its name, busiest first. Threads
    /// started meanwhile count from zero; those that ended meanwhile are not seen.
    pub fn since(&self, earlier: &Threads) -> Vec<(String, Ran)> {
        let mut ran: Vec<(String, Ran)> = self
            .0
            .iter()
            .map(|(tid, (name, now))| {
                let before = earlier.0.get(tid).map(|(_, t)| *t).unwrap_or_default();
                let ran = Ran {
                    ns: now.ns.saturating_sub(before.ns),
                    slices: now.slices.saturating_sub(before.slices),
                };
                (name.clone(), ran)
            })
            .filter(|(_, ran)| ran.ns > 0)
            .collect();
        ran.sort_by_key(|(_, ran)| std::cmp::Reverse(ran.ns));
        ran
    }

    /// Whether anything could be read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The run time of a whole process (all its threads) in nanoseconds, if it can be read.
pub fn process_ns(pid: u32) -> Option<u64> {
    let threads = Threads::of(&pid.to_string());
    (!threads.is_empty()).then(|| threads.0.values().map(|(_, ran)| ran.ns).sum())
}

/// How long a process ran since it had run `before` nanoseconds, if both can be read.
pub fn process_ns_since(pid: u32, before: Option<u64>) -> Option<u64> {
    process_ns(pid)
        .zip(before)
        .map(|(after, before)| after.saturating_sub(before))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_is_seen_with_its_name_and_about_the_time_it_spun() {
        let before = Threads::of("self");
        assert!(!before.is_empty(), "this process's threads are readable");
        let spin = std::thread::Builder::new()
            .name("cpu-spin-test".into())
            .spawn(|| {
                let start = std::time::Instant::now();
                let mut x = 0u64;
                while start.elapsed() < std::time::Duration::from_millis(200) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
                // Sampled before the thread ends: an ended thread leaves /proc.
                Threads::of("self")
            })
            .unwrap();
        let after = spin.join().unwrap();
        let ran = after.since(&before);
        let (_, Ran { ns, slices }) = ran
            .iter()
            .find(|(name, _)| name == "cpu-spin-test")
            .expect("the spinning thread is listed");
        // It spun for 200 ms of wall time; on a loaded machine it ran for less.
        assert!(*ns > 20_000_000 && *ns < 400_000_000, "ran {ns} ns");
        // It was put on a CPU at least once, and not once a microsecond.
        assert!(*slices >= 1 && *slices < 200_000, "ran in {slices} slices");
    }

    #[test]
    fn a_process_that_does_not_exist_has_no_figure() {
        assert_eq!(process_ns(u32::MAX), None);
        assert!(Threads::of("not-a-pid").is_empty());
    }
}
