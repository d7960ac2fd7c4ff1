//! The decision-record writer. Records of every call and hook invocation
//! are handed over without waiting and written in batches (one transaction
//! per batch), so a pre-check never waits for a disk flush. Provisioning
//! state is never written here: it commits synchronously with its call.

use super::metrics::Metrics;
use crate::store::{CallRecord, InvocationRecord, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub(crate) enum Record {
    Call(CallRecord),
    Invocation(Box<InvocationRecord>),
    Flush(oneshot::Sender<()>),
}

/// Most records waiting to be written; past it, new records are dropped
/// (and counted) rather than slowing calls down.
const QUEUE: usize = 20_000;
const BATCH: usize = 500;
const INTERVAL: Duration = Duration::from_millis(100);

pub(crate) struct DecisionLog {
    queue: mpsc::Sender<Record>,
    metrics: Arc<Metrics>,
}

impl DecisionLog {
    pub(crate) fn start(store: Arc<Store>, metrics: Arc<Metrics>) -> Self {
        let (queue, mut incoming) = mpsc::channel::<Record>(QUEUE);
        let m = metrics.clone();
        tokio::spawn(async move {
            let mut calls = Vec::new();
            let mut invocations = Vec::new();
            let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
            loop {
                let first = tokio::time::timeout(INTERVAL, incoming.recv()).await;
                let mut closed = false;
                match first {
                    Ok(Some(record)) => {
                        let mut next = Some(record);
                        while let Some(record) = next.take() {
                            match record {
                                Record::Call(c) => calls.push(c),
                                Record::Invocation(i) => invocations.push(*i),
                                Record::Flush(done) => waiting.push(done),
                            }
                            if calls.len() + invocations.len() >= BATCH {
                                break;
                            }
                            next = incoming.try_recv().ok();
                        }
                    }
                    Ok(None) => closed = true,
                    Err(_) => {}
                }
                if !calls.is_empty() || !invocations.is_empty() {
                    // Retry a failed batch once, then drop it: decision
                    // records must never block the service.
                    let mut result = store.insert_decisions(&calls, &invocations).await;
                    if result.is_err() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        result = store.insert_decisions(&calls, &invocations).await;
                    }
                    match result {
                        Ok(()) => m.decisions_written((calls.len() + invocations.len()) as u64),
                        Err(e) => {
                            m.decisions_dropped((calls.len() + invocations.len()) as u64);
                            tracing::error!(error = %e, "could not write decision records");
                        }
                    }
                    calls.clear();
                    invocations.clear();
                }
                for done in waiting.drain(..) {
                    let _ = done.send(());
                }
                if closed {
                    break;
                }
            }
        });
        DecisionLog { queue, metrics }
    }

    pub(crate) fn record(&self, record: Record) {
        if self.queue.try_send(record).is_err() {
            self.metrics.decisions_dropped(1);
        }
    }

    /// Wait until everything handed over before this call is written.
    pub(crate) async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Record::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}
