//! The worker threads of `mirror sync` and `mirror verify`: a fixed number
//! of plain threads draining one queue, stopping early on Ctrl-C.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use super::interrupt;

/// Runs `work` on `jobs` with `workers` threads; the workers report through
/// the returned channel, which closes when all of them are done.
///
/// Plain threads rather than a scope: on Ctrl-C the caller may stop
/// listening while a worker still waits on the network.
pub fn spawn_pool<J, M>(
    jobs: Vec<J>,
    workers: usize,
    work: impl Fn(J, &Sender<M>) + Send + Sync + 'static,
) -> Receiver<M>
where
    J: Send + 'static,
    M: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let workers = workers.clamp(1, jobs.len().max(1));
    let queue = Arc::new(Mutex::new(VecDeque::from(jobs)));
    let work = Arc::new(work);
    for n in 0..workers {
        let (my_queue, my_work, my_tx) = (Arc::clone(&queue), Arc::clone(&work), tx.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("mirror-{n}"))
            .spawn(move || {
                loop {
                    if interrupt::requested() {
                        break;
                    }
                    let job = my_queue
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .pop_front();
                    let Some(job) = job else { break };
                    my_work(job, &my_tx);
                }
            });
        if spawned.is_err() && n == 0 {
            // Not even one thread: do the work here rather than hang.
            while let Some(job) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() {
                work(job, &tx);
            }
        }
    }
    rx
}
