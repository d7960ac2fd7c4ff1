//! The decision log's write side. Every platform call collects its records
//! in a [`CallLog`]: the call, the input its plugins shared (stored once),
//! and one record per plugin invocation, all as typed values. At the end of
//! the call (after its answer) the log is handed over as it is to a writer
//! task, which serializes it (JSON text for the decision log's readers),
//! cuts it to the call's byte budget and stores it in batches (one
//! transaction and a few multi-row inserts per batch) off the request path.
//! The writer's queue is bounded in bytes. Provisioning state is never
//! written here: it commits synchronously with its call.

use super::DecisionBounds;
use super::budgets::Budget;
use super::metrics::Metrics;
use crate::codec;
use crate::domain::hook::{HookOutput, HookRequest, QuantityTarget, SubscriptionInfo, TargetKind};
use crate::store::{CallInputRecord, CallRecord, DecisionBatch, InvocationRecord, Store};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

enum Message {
    Call {
        call: Box<FinishedCall>,
        bytes: usize,
    },
    Flush(oneshot::Sender<()>),
}

/// Records written per transaction, and the longest a record waits.
const BATCH: usize = 500;
const INTERVAL: Duration = Duration::from_millis(100);
/// How long a batch stays open for more calls once its first arrived. Each
/// transaction rewrites the pages it touches (table and index tails, WAL
/// frames, checkpoints), so a few large batches cost far less than many
/// small ones: under load this halves an unbound pre-check's server CPU
/// (ARCHITECTURE.md §Performance). A flush closes the batch at once.
const LINGER: Duration = Duration::from_millis(3);

/// The marker a cut text ends with.
pub const CUT_MARKER: &str = "…[cut: decision record budget]";

pub(crate) struct DecisionLog {
    queue: mpsc::UnboundedSender<Message>,
    /// Bytes handed over and not yet written (estimated at hand-over).
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
            bounds,
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

    /// Hand a finished call over without waiting; past the queue's byte
    /// bound it is dropped (and counted) rather than slowing calls down.
    fn submit(&self, call: FinishedCall) {
        let records = call.records();
        let bytes = call.estimated_bytes();
        let before = self.pending.fetch_add(bytes, Ordering::Relaxed);
        if before + bytes > self.bounds.queue_bytes {
            self.pending.fetch_sub(bytes, Ordering::Relaxed);
            self.metrics.decisions_dropped("queue-full", records);
            self.metrics.budget_refused(Budget::DecisionQueueBytes);
            return;
        }
        let message = Message::Call {
            call: Box::new(call),
            bytes,
        };
        if self.queue.send(message).is_err() {
            self.pending.fetch_sub(bytes, Ordering::Relaxed);
            self.metrics.decisions_dropped("write-failed", records);
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

async fn write_loop(
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    bounds: DecisionBounds,
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
                let close_at = tokio::time::Instant::now() + LINGER;
                let mut next = Some(first);
                while let Some(message) = next.take() {
                    match message {
                        Message::Call { call, bytes: n } => {
                            call.into_records(bounds, &metrics, &mut batch);
                            bytes += n;
                        }
                        Message::Flush(done) => waiting.push(done),
                    }
                    if batch.len() >= BATCH || !waiting.is_empty() {
                        break;
                    }
                    next = match tokio::time::timeout_at(close_at, incoming.recv()).await {
                        Ok(Some(message)) => Some(message),
                        Ok(None) => {
                            closed = true;
                            None
                        }
                        Err(_) => None,
                    };
                }
            }
            Ok(None) => closed = true,
            Err(_) => {}
        }
        if !batch.is_empty() {
            write(&store, &metrics, Arc::new(std::mem::take(&mut batch))).await;
        }
        pending.fetch_sub(bytes, Ordering::Relaxed);
        bytes = 0;
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
async fn write(store: &Store, metrics: &Metrics, batch: Arc<DecisionBatch>) {
    let mut result = store.insert_decisions(batch.clone()).await;
    if result.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
        result = store.insert_decisions(batch.clone()).await;
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

/// What the plugins of one call attempt shared; serialized once, by the
/// writer.
struct SharedInput {
    id: String,
    request: HookRequest,
    subscriptions: Vec<SubscriptionInfo>,
    now: i64,
    /// Binding name → config (JSON text) of the bindings that ran.
    configs: BTreeMap<String, String>,
    used: bool,
}

/// The shared input's stored form (`call_inputs.body`).
#[derive(serde::Serialize)]
struct SharedDoc<'a> {
    request: &'a HookRequest,
    now: i64,
    track_id: &'a str,
    subscriptions: &'a [SubscriptionInfo],
    configs: BTreeMap<&'a str, serde_json::Value>,
}

/// An invocation's record as the call collected it: everything but its
/// JSON parts (its own input part and its output), which the writer
/// serializes.
pub(crate) struct PendingInvocation {
    /// `input` and `output` are filled in by the writer.
    pub record: InvocationRecord,
    pub output: Option<HookOutput>,
    pub own: OwnPart,
}

/// An invocation's own part of its input (see [`codec::OwnInputDoc`]).
pub(crate) struct OwnPart {
    target: Option<QuantityTarget>,
    /// The target's attributes are the request's own (a subscription
    /// target's always are): stored once, in the shared part.
    request_attributes: bool,
    binding: String,
    seed: u64,
    /// The config, when it differs from the one stored for its binding in
    /// the shared part (a shadow's).
    config: Option<String>,
}

impl PendingInvocation {
    fn estimated_bytes(&self) -> usize {
        let own = &self.own;
        usize::try_from(self.record.bytes()).unwrap_or(usize::MAX)
            + own.config.as_ref().map_or(0, String::len)
            + own.target.as_ref().map_or(0, |t| {
                t.product_id.len()
                    + 64
                    + t.attributes
                        .iter()
                        .map(|a| a.id.len() + a.name.len() + a.value.len() + a.code.len() + 64)
                        .sum::<usize>()
            })
            + self.output.as_ref().map_or(0, |_| 128)
            + 64
    }

    fn into_record(self) -> InvocationRecord {
        let mut record = self.record;
        let own = self.own;
        let doc = codec::OwnInputDoc {
            target: own.target.as_ref(),
            request_attributes: own.request_attributes,
            binding: &own.binding,
            seed: own.seed,
            config: own.config.as_deref().map(codec::config_value),
        };
        record.input = serde_json::to_string(&doc).unwrap_or_else(|_| "{}".into());
        record.output = self.output.as_ref().map(codec::output_to_json);
        record
    }
}

/// The decision records of one platform call, collected while it runs and
/// handed over (typed) at its end.
pub(crate) struct CallLog {
    pub id: String,
    tenant_id: String,
    track_id: String,
    inner: Mutex<Vec<SharedInput>>,
    invocations: Mutex<Vec<PendingInvocation>>,
    /// Shadow runs to do once the call is answered.
    shadows: Mutex<Vec<super::hooks::ShadowJob>>,
    /// Plugin instances to release once the call is answered.
    spent: Mutex<Vec<super::hooks::SpentInstance>>,
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
            spent: Mutex::new(Vec::new()),
        }
    }

    /// Keep a finished instance until the call's end (see
    /// [`CallLog::finish`]).
    pub(crate) fn release_later(&self, spent: super::hooks::SpentInstance) {
        self.spent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(spent);
    }

    /// The finished instances kept so far (dropping them releases them and
    /// their pool slots). A call releases its earlier instances before it
    /// waits for another slot, so it never holds a slot it does not use
    /// while waiting.
    pub(crate) fn take_spent(&self) -> Vec<super::hooks::SpentInstance> {
        std::mem::take(&mut *self.spent.lock().unwrap_or_else(PoisonError::into_inner))
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

    /// Register the input one attempt's plugins share (taken by value: the
    /// call does not need it back); answers its index for
    /// [`OwnInput::shared`].
    pub(crate) fn share(
        &self,
        request: HookRequest,
        subscriptions: Vec<SubscriptionInfo>,
        now: i64,
    ) -> usize {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.push(SharedInput {
            id: uuid::Uuid::now_v7().simple().to_string(),
            request,
            subscriptions,
            now,
            configs: BTreeMap::new(),
            used: false,
        });
        inner.len() - 1
    }

    /// The invocation's own input part (serialized later) and the shared
    /// input's id. A config that differs from the one stored for its
    /// binding (a shadow's) stays in the own part.
    pub(crate) fn own_input(&self, own: &OwnInput<'_>) -> (OwnPart, Option<String>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut part = OwnPart {
            target: None,
            request_attributes: false,
            binding: own.binding.to_string(),
            seed: own.seed,
            config: None,
        };
        let Some(shared) = inner.get_mut(own.shared) else {
            part.target = own.target.cloned();
            return (part, None);
        };
        shared.used = true;
        part.target = own.target.map(|target| {
            part.request_attributes = target.kind == TargetKind::Subscription
                && target.attributes == shared.request.attributes;
            QuantityTarget {
                attributes: if part.request_attributes {
                    Vec::new()
                } else {
                    target.attributes.clone()
                },
                product_id: target.product_id.clone(),
                ..*target
            }
        });
        let stored = shared
            .configs
            .entry(own.binding.to_string())
            .or_insert_with(|| own.config.to_string());
        if stored != own.config {
            part.config = Some(own.config.to_string());
        }
        (part, Some(shared.id.clone()))
    }

    pub(crate) fn push(&self, invocation: PendingInvocation) {
        self.invocations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(invocation);
    }

    /// Hand the call's records over to the writer (which serializes them
    /// and applies the call's byte budget). Instances still kept are
    /// released here.
    pub(crate) fn finish(self, log: &DecisionLog, call: CallRecord) {
        drop(self.spent);
        let shared = self
            .inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let invocations = self
            .invocations
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        log.submit(FinishedCall {
            call,
            tenant_id: self.tenant_id,
            track_id: self.track_id,
            shared,
            invocations,
        });
    }
}

/// A call's records as handed to the writer.
struct FinishedCall {
    call: CallRecord,
    tenant_id: String,
    track_id: String,
    shared: Vec<SharedInput>,
    invocations: Vec<PendingInvocation>,
}

impl FinishedCall {
    fn records(&self) -> u64 {
        (1 + self.shared.iter().filter(|s| s.used).count() + self.invocations.len()) as u64
    }

    /// What the records will take once serialized, roughly (the queue's
    /// byte bound).
    fn estimated_bytes(&self) -> usize {
        let call = usize::try_from(self.call.bytes()).unwrap_or(usize::MAX);
        let shared: usize = self
            .shared
            .iter()
            .filter(|s| s.used)
            .map(|s| {
                crate::runtime::request_size(&s.request)
                    + s.configs.values().map(String::len).sum::<usize>()
                    + s.subscriptions.len() * 160
                    + 256
            })
            .sum();
        let invocations: usize = self
            .invocations
            .iter()
            .map(PendingInvocation::estimated_bytes)
            .sum();
        call.saturating_add(shared).saturating_add(invocations)
    }

    /// Serialize the call's records into `batch`: the call first, then the
    /// shared inputs, then the invocations, each cut to the record bound,
    /// until the call's byte bound; what does not fit is dropped and
    /// counted.
    fn into_records(self, bounds: DecisionBounds, metrics: &Metrics, batch: &mut DecisionBatch) {
        let mut budget = Budgeted::new(bounds, metrics);
        let call = self.call;
        let mut lost = Vec::new();
        for input in self.shared.into_iter().filter(|s| s.used) {
            let doc = SharedDoc {
                request: &input.request,
                now: input.now,
                track_id: &self.track_id,
                subscriptions: &input.subscriptions,
                configs: input
                    .configs
                    .iter()
                    .map(|(binding, config)| (binding.as_str(), codec::config_value(config)))
                    .collect(),
            };
            let mut record = CallInputRecord {
                id: input.id.clone(),
                tenant_id: self.tenant_id.clone(),
                call_id: call.id.clone(),
                body: serde_json::to_string(&doc).unwrap_or_else(|_| "{}".into()),
                at: call.at,
            };
            // Too big to keep whole: the invocations are kept without a
            // replayable input.
            if record.body.len() > bounds.call_bytes / 2 {
                record.body =
                    serde_json::json!({"cut": true, "bytes": record.body.len()}).to_string();
                metrics.budget_refused(Budget::DecisionRecordBytes);
            }
            if budget.take(record.bytes()) {
                batch.inputs.push(record);
            } else {
                lost.push(record.id);
            }
        }
        let mut dropped = 0;
        for pending in self.invocations {
            let mut record = pending.into_record();
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
            metrics.decisions_dropped("call-budget", dropped);
            metrics.budget_refused(Budget::DecisionCallBytes);
        }
        batch.calls.push(CallRecord {
            records_dropped: i64::try_from(dropped).unwrap_or(i64::MAX),
            ..call
        });
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
