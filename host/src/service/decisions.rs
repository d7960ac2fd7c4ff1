//! The decision log's write side. Every platform call collects its records
//! in a [`CallLog`]: the call, the input its plugins shared (stored once),
//! and one record per plugin invocation. At the end of the call they are
//! handed over in one piece, within the call's byte budget, to a writer
//! that stores them in batches (one transaction per batch) off the request
//! path. The writer's queue is bounded in bytes. Provisioning state is never
//! written here: it commits synchronously with its call.

use super::DecisionBounds;
use super::budgets::Budget;
use super::metrics::Metrics;
use crate::codec;
use crate::domain::hook::{HookRequest, QuantityTarget, SubscriptionInfo};
use crate::store::{CallInputRecord, CallRecord, DecisionBatch, InvocationRecord, Store};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

enum Message {
    Batch { batch: DecisionBatch, bytes: usize },
    Flush(oneshot::Sender<()>),
}

/// Records written per transaction, and the longest a record waits.
const BATCH: usize = 500;
const INTERVAL: Duration = Duration::from_millis(100);

/// The marker a cut text ends with.
pub const CUT_MARKER: &str = "…[cut: decision record budget]";

pub(crate) struct DecisionLog {
    queue: mpsc::UnboundedSender<Message>,
    /// Bytes handed over and not yet written.
    pending: Arc<AtomicUsize>,
    bounds: DecisionBounds,
    metrics: Arc<Metrics>,
}

impl DecisionLog {
    pub(crate) fn start(store: Arc<Store>, metrics: Arc<Metrics>, bounds: DecisionBounds) -> Self {
        let (queue, incoming) = mpsc::unbounded_channel::<Message>();
        let pending = Arc::new(AtomicUsize::new(0));
        tokio::spawn(write_loop(
            store,
            metrics.clone(),
            incoming,
            pending.clone(),
        ));
        DecisionLog {
            queue,
            pending,
            bounds,
            metrics,
        }
    }

    pub(crate) fn bounds(&self) -> DecisionBounds {
        self.bounds
    }

    /// Hand records over without waiting; past the queue's byte bound they
    /// are dropped (and counted) rather than slowing calls down.
    fn submit(&self, batch: DecisionBatch) {
        if batch.is_empty() {
            return;
        }
        let bytes = batch_bytes(&batch);
        let before = self.pending.fetch_add(bytes, Ordering::SeqCst);
        if before + bytes > self.bounds.queue_bytes {
            self.pending.fetch_sub(bytes, Ordering::SeqCst);
            self.metrics
                .decisions_dropped("queue-full", batch.len() as u64);
            self.metrics.budget_refused(Budget::DecisionQueueBytes);
            return;
        }
        if let Err(mpsc::error::SendError(Message::Batch { batch, bytes })) =
            self.queue.send(Message::Batch { batch, bytes })
        {
            self.pending.fetch_sub(bytes, Ordering::SeqCst);
            self.metrics
                .decisions_dropped("write-failed", batch.len() as u64);
        }
    }

    /// Wait until everything handed over before this call is written.
    pub(crate) async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

fn batch_bytes(batch: &DecisionBatch) -> usize {
    let sum = batch.calls.iter().map(CallRecord::bytes).sum::<i64>()
        + batch.inputs.iter().map(CallInputRecord::bytes).sum::<i64>()
        + batch
            .invocations
            .iter()
            .map(InvocationRecord::bytes)
            .sum::<i64>();
    usize::try_from(sum).unwrap_or(usize::MAX)
}

async fn write_loop(
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    mut incoming: mpsc::UnboundedReceiver<Message>,
    pending: Arc<AtomicUsize>,
) {
    let mut batch = DecisionBatch::default();
    let mut bytes = 0;
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        let mut closed = false;
        match tokio::time::timeout(INTERVAL, incoming.recv()).await {
            Ok(Some(first)) => {
                let mut next = Some(first);
                while let Some(message) = next.take() {
                    match message {
                        Message::Batch { batch: b, bytes: n } => {
                            batch.calls.extend(b.calls);
                            batch.inputs.extend(b.inputs);
                            batch.invocations.extend(b.invocations);
                            bytes += n;
                        }
                        Message::Flush(done) => waiting.push(done),
                    }
                    if batch.len() >= BATCH {
                        break;
                    }
                    next = incoming.try_recv().ok();
                }
            }
            Ok(None) => closed = true,
            Err(_) => {}
        }
        if !batch.is_empty() {
            write(&store, &metrics, &batch).await;
            pending.fetch_sub(bytes, Ordering::SeqCst);
            batch.clear();
            bytes = 0;
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
        if closed {
            break;
        }
    }
}

/// Retry a failed batch once, then drop it: decision records must never
/// block the service.
async fn write(store: &Store, metrics: &Metrics, batch: &DecisionBatch) {
    let mut result = store.insert_decisions(batch).await;
    if result.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
        result = store.insert_decisions(batch).await;
    }
    match result {
        Ok(()) => metrics.decisions_written(batch.len() as u64),
        Err(e) => {
            metrics.decisions_dropped("write-failed", batch.len() as u64);
            tracing::error!(error = %e, "could not write decision records");
        }
    }
}

/// Cut `text` to at most `max` bytes (at a character boundary), ending
/// with [`CUT_MARKER`]. True when it was cut.
pub(crate) fn cut(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut end = max.saturating_sub(CUT_MARKER.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(CUT_MARKER);
    true
}

/// What the plugins of one call attempt shared; serialized once, when the
/// call's records are handed over.
struct SharedInput {
    id: String,
    request: HookRequest,
    subscriptions: Vec<SubscriptionInfo>,
    now: i64,
    /// Binding name → config (JSON text) of the bindings that ran.
    configs: BTreeMap<String, String>,
    used: bool,
}

/// The decision records of one platform call, collected while it runs and
/// handed over at its end within the call's byte budget.
pub(crate) struct CallLog {
    pub id: String,
    tenant_id: String,
    track_id: String,
    inner: Mutex<Vec<SharedInput>>,
    invocations: Mutex<Vec<InvocationRecord>>,
    /// Shadow runs to do once the call is answered.
    shadows: Mutex<Vec<super::hooks::ShadowJob>>,
}

/// An invocation's own part of its input, with the shared part it refers to.
pub(crate) struct OwnInput<'a> {
    pub shared: usize,
    pub binding: &'a str,
    pub config: &'a str,
    pub target: Option<&'a QuantityTarget>,
    pub seed: u64,
}

impl CallLog {
    pub(crate) fn new(tenant_id: &str, track_id: &str) -> Self {
        CallLog {
            id: uuid::Uuid::now_v7().simple().to_string(),
            tenant_id: tenant_id.to_string(),
            track_id: track_id.to_string(),
            inner: Mutex::new(Vec::new()),
            invocations: Mutex::new(Vec::new()),
            shadows: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn add_shadow(&self, job: super::hooks::ShadowJob) {
        self.shadows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(job);
    }

    pub(crate) fn has_shadows(&self) -> bool {
        !self
            .shadows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// The shadow runs queued so far (taken: each runs once).
    pub(crate) fn take_shadows(&self) -> Vec<super::hooks::ShadowJob> {
        std::mem::take(&mut *self.shadows.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Register the input one attempt's plugins share; answers its index
    /// for [`OwnInput::shared`].
    pub(crate) fn share(
        &self,
        request: &HookRequest,
        subscriptions: &[SubscriptionInfo],
        now: i64,
    ) -> usize {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.push(SharedInput {
            id: uuid::Uuid::now_v7().simple().to_string(),
            request: request.clone(),
            subscriptions: subscriptions.to_vec(),
            now,
            configs: BTreeMap::new(),
            used: false,
        });
        inner.len() - 1
    }

    /// The invocation's own input part (JSON) and the shared input's id.
    /// A config that differs from the one stored for its binding (a
    /// shadow's) stays in the own part.
    pub(crate) fn own_input(&self, own: &OwnInput<'_>) -> (String, Option<String>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(shared) = inner.get_mut(own.shared) else {
            return (String::from("{}"), None);
        };
        shared.used = true;
        let stored = shared
            .configs
            .entry(own.binding.to_string())
            .or_insert_with(|| own.config.to_string());
        let config = (stored != own.config).then(|| codec::config_value(own.config));
        let doc = codec::OwnInputDoc {
            target: own.target,
            binding: own.binding,
            seed: own.seed,
            config,
        };
        (
            serde_json::to_string(&doc).unwrap_or_else(|_| "{}".into()),
            Some(shared.id.clone()),
        )
    }

    pub(crate) fn push(&self, record: InvocationRecord) {
        self.invocations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }

    /// Hand the call's records over: the call first, then the shared
    /// inputs, then the invocations, each cut to the record bound, until the
    /// call's byte bound; what does not fit is dropped and counted.
    pub(crate) fn finish(self, log: &DecisionLog, call: CallRecord) {
        let bounds = log.bounds();
        let mut budget = Budgeted::new(bounds, &log.metrics);
        let mut batch = DecisionBatch::default();
        let shared = self
            .inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let mut lost = Vec::new();
        for input in shared.into_iter().filter(|s| s.used) {
            let mut record = CallInputRecord {
                id: input.id.clone(),
                tenant_id: self.tenant_id.clone(),
                call_id: self.id.clone(),
                body: codec::shared_input_json(
                    &input.request,
                    input.now,
                    &self.track_id,
                    &input.subscriptions,
                    &input.configs,
                ),
                at: call.at,
            };
            // Too big to keep whole: the invocations are kept without a
            // replayable input.
            if record.body.len() > bounds.call_bytes / 2 {
                record.body =
                    serde_json::json!({"cut": true, "bytes": record.body.len()}).to_string();
                log.metrics.budget_refused(Budget::DecisionRecordBytes);
            }
            if budget.take(record.bytes()) {
                batch.inputs.push(record);
            } else {
                lost.push(record.id);
            }
        }
        let mut dropped = 0;
        let invocations = self
            .invocations
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        for mut record in invocations {
            if record.input_id.as_ref().is_some_and(|id| lost.contains(id)) {
                record.input = serde_json::json!({"cut": true}).to_string();
                record.input_id = None;
            }
            budget.cut_record(&mut record);
            if budget.take(record.bytes()) {
                batch.invocations.push(record);
            } else {
                dropped += 1;
            }
        }
        if dropped > 0 {
            log.metrics.decisions_dropped("call-budget", dropped);
            log.metrics.budget_refused(Budget::DecisionCallBytes);
        }
        batch.calls.push(CallRecord {
            records_dropped: i64::try_from(dropped).unwrap_or(i64::MAX),
            ..call
        });
        log.submit(batch);
    }
}

/// A call's remaining byte budget.
struct Budgeted<'a> {
    bounds: DecisionBounds,
    left: usize,
    metrics: &'a Metrics,
}

impl<'a> Budgeted<'a> {
    fn new(bounds: DecisionBounds, metrics: &'a Metrics) -> Self {
        Budgeted {
            bounds,
            left: bounds.call_bytes,
            metrics,
        }
    }

    fn take(&mut self, bytes: i64) -> bool {
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        if bytes > self.left {
            self.left = 0;
            return false;
        }
        self.left -= bytes;
        true
    }

    /// Cut an invocation record to the record bound: logs first, then the
    /// output (replaced by a marker), then the error text.
    fn cut_record(&self, record: &mut InvocationRecord) {
        let max = self.bounds.record_bytes;
        let over = |r: &InvocationRecord| usize::try_from(r.bytes()).unwrap_or(usize::MAX) > max;
        if !over(record) {
            return;
        }
        self.metrics.budget_refused(Budget::DecisionRecordBytes);
        let fixed = usize::try_from(record.bytes()).unwrap_or(usize::MAX) - record.logs.len();
        cut(&mut record.logs, max.saturating_sub(fixed).max(64));
        if over(record)
            && let Some(output) = &record.output
        {
            record.output =
                Some(serde_json::json!({"cut": true, "bytes": output.len()}).to_string());
        }
        if over(record)
            && let Some(message) = &mut record.error_message
        {
            cut(message, 1024);
        }
        if over(record) {
            record.input =
                serde_json::json!({"cut": true, "bytes": record.input.len()}).to_string();
            record.input_id = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutting_keeps_char_boundaries_and_marks_the_cut() {
        let mut text = "é".repeat(100);
        assert!(cut(&mut text, 51));
        assert!(text.ends_with(CUT_MARKER));
        assert!(text.len() <= 51);
        let mut short = String::from("ok");
        assert!(!cut(&mut short, 10));
        assert_eq!(short, "ok");
    }
}
