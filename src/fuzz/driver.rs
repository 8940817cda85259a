//! Runs one generated sequence against the real target: each operation is resolved by the model,
//! sent as one of the sequence's own fresh users, and its answer judged by the model; after each
//! step the SPEC area K invariants run on those users' rows when a database URL is known. The
//! users' data is deleted at the end of every sequence, whatever happened.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;

use crate::client::{ClientError, Refusal, RetryPolicy, SyncRequest, SyncResponse, SyncUser};
use crate::invariants::Checker;
use crate::model::{Answer, Exchange, Model, ModelConfig, Op, Request};
use crate::run::Failure;
use crate::sync::{Profile, Stamp};
use crate::target::Target;

/// Longest a sequence may wait on a real clock, in total (targets without a test clock).
pub const REAL_WAIT_BUDGET: Duration = Duration::from_secs(6);

/// What a sequence needs from the run.
#[derive(Debug, Clone)]
pub struct Fuzzer {
    pub target: Arc<Target>,
    pub invariants: Option<Arc<Checker>>,
    pub profile: Profile,
    /// Users per sequence.
    pub users: usize,
}

impl Found {
    /// A finding of the search itself rather than of a sequence.
    pub fn of_search(message: impl Into<String>, ops: Vec<Op>) -> Self {
        Found { clause: "fuzz", ops, step: 0, failure: Box::new(Failure::new(message)), transcript: Vec::new() }
    }
}

/// A sequence that found something: which step, why, and every exchange up to it.
#[derive(Debug, Clone)]
pub struct Found {
    pub clause: &'static str,
    /// The sequence that failed.
    pub ops: Vec<Op>,
    pub step: usize,
    /// Boxed: a `Found` travels in `Err` through every step.
    pub failure: Box<Failure>,
    pub transcript: Vec<String>,
}

impl Fuzzer {
    /// Runs `ops` as the users `uids` (fresh, from the run's own range), then deletes their data.
    pub async fn run(&self, ops: &[Op], uids: &[u64]) -> Result<usize, Found> {
        let users: Vec<SyncUser> = uids.iter().map(|uid| self.target.client.user(self.target.secret.clone(), *uid)).collect();
        let result = self.steps(ops, &users).await;
        for user in &users {
            // A failed clean-up leaves data only in the run's own uid range; nothing to judge.
            let _ = user.send(SyncRequest::delete("")).await;
        }
        result
    }

    async fn steps(&self, ops: &[Op], users: &[SyncUser]) -> Result<usize, Found> {
        let mut model = Model::new(ModelConfig {
            users: users.len(),
            limits: self.target.limits.clone(),
            quota: self.target.quota,
            profile: self.profile,
            test_clock: self.target.test_clock,
        });
        let mut transcript = Vec::new();
        let mut waited = Duration::ZERO;
        let uids: Vec<i64> = users.iter().filter_map(|u| i64::try_from(u.uid()).ok()).collect();
        for (step, op) in ops.iter().enumerate() {
            let found = |clause, failure, transcript: &Vec<String>| Found {
                clause,
                // The operations after the failing one never ran: not part of the finding.
                ops: ops[..=step].to_vec(),
                step,
                failure: Box::new(failure),
                transcript: transcript.clone(),
            };
            let req = model.resolve(op);
            transcript.push(format!("# step {}: {op}", step + 1));
            let answer = match op {
                Op::Wait { ms } => {
                    let by = Duration::from_millis(*ms);
                    if !self.wait(users, by, &mut waited).await.map_err(|f| found("G-01", f, &transcript))? {
                        transcript.push("# skipped: the real-time wait budget is spent".to_owned());
                        continue;
                    }
                    Answer {
                        status: 200,
                        last_modified: None,
                        weave_timestamp: None,
                        next_offset: None,
                        records: None,
                        retry_after: None,
                        body: None,
                        text: String::new(),
                    }
                }
                Op::Concurrent { ops: round } => {
                    self.round(&mut model, round, users, &mut transcript).await.map_err(|(clause, f)| found(clause, f, &transcript))?;
                    self.check_invariants(&uids).await.map_err(|(clause, f)| found(clause, f, &transcript))?;
                    continue;
                }
                _ => {
                    let user = req.uid_index.and_then(|i| users.get(i)).unwrap_or(&users[0]);
                    let resp = user
                        .send(to_sync_request(&req))
                        .await
                        .map_err(|e| found("J-15", Failure::new(format!("no answer: {e}")), &transcript))?;
                    transcript.push(resp.transcript());
                    let answer = answer_of(&resp);
                    self.judge_unavailable(op, &answer, &mut transcript).await.map_err(|(clause, f)| found(clause, f, &transcript))?;
                    answer
                }
            };
            if let Err(d) = model.observe(op, &req, &answer) {
                return Err(found(d.clause, Failure::mismatch(d.message, d.expected, d.actual), &transcript));
            }
            self.check_invariants(&uids).await.map_err(|(clause, f)| found(clause, f, &transcript))?;
        }
        Ok(ops.iter().map(|op| if let Op::Concurrent { ops } = op { ops.len() } else { 1 }).sum())
    }

    /// Under the SPEC profile a write refused with 503 is a finding when `__heartbeat__` says
    /// the service is up at that moment: J-14 keeps 503 for a service that cannot serve, and
    /// I-04 gives a timestamp conflict 409 (503 is its syncstorage-rs Compat line).
    async fn judge_unavailable(&self, op: &Op, answer: &Answer, transcript: &mut Vec<String>) -> Result<(), (&'static str, Failure)> {
        if self.profile != Profile::Spec || answer.status != 503 || answer.retry_after.is_none() || !op.is_write() {
            return Ok(());
        }
        let Ok(beat) = self.target.client.send(SyncRequest::get("/__heartbeat__")).await else { return Ok(()) };
        transcript.push(format!("# heartbeat after the 503:\n{}", beat.transcript()));
        if beat.status_code() == 200 {
            return Err((
                "I-04",
                Failure::mismatch(
                    "a write was refused with 503 + Retry-After while __heartbeat__ answers 200",
                    "409 with Retry-After for a conflict (I-04, D-18), or waiting for the next tick",
                    format!("503, Retry-After: {}", answer.retry_after.unwrap_or_default()),
                ),
            ));
        }
        Ok(())
    }

    /// The SPEC area K invariants on the users' rows, when a database URL is known.
    async fn check_invariants(&self, uids: &[i64]) -> Result<(), (&'static str, Failure)> {
        let Some(checker) = &self.invariants else { return Ok(()) };
        let violations = checker
            .check(&self.target, uids)
            .await
            .map_err(|e| ("K-17", Failure::new(format!("the invariant checks could not run: {e}"))))?;
        match violations.first() {
            Some(v) => {
                let rows = v.rows.join("; ");
                Err((v.clause, Failure::new(format!("invariant {} {} violated after this step: {rows}", v.clause, v.name))))
            }
            None => Ok(()),
        }
    }

    /// Sends a round's writes at once, each on its own connection and sent again while it is
    /// refused with `Retry-After` (as the retry policy allows); judges the answers together (some
    /// serial order must allow them, [`Model::observe_round`]); then reads every collection the
    /// round touched back in full, so that each acknowledged write is seen or superseded.
    async fn round(
        &self,
        model: &mut Model,
        ops: &[Op],
        users: &[SyncUser],
        transcript: &mut Vec<String>,
    ) -> Result<(), (&'static str, Failure)> {
        let reqs: Vec<Request> = ops.iter().map(|op| model.resolve(op)).collect();
        let sends = reqs.iter().map(|req| {
            let user = req.uid_index.and_then(|i| users.get(i)).unwrap_or(&users[0]);
            send_retrying(user, to_sync_request(req).header("Connection", "close"))
        });
        let mut round = Vec::new();
        for (n, ((op, req), sent)) in ops.iter().zip(&reqs).zip(futures_util::future::join_all(sends).await).enumerate() {
            let (answers, last, unavailable) = sent.map_err(|e| ("J-15", Failure::new(format!("no answer to a concurrent write: {e}"))))?;
            transcript.push(format!("# write {} of the round: {op}", n + 1));
            transcript.extend(answers);
            let answer = answer_of(&last);
            self.judge_unavailable(op, unavailable.as_ref().unwrap_or(&answer), transcript).await?;
            round.push(Exchange { op: op.clone(), req: req.clone(), answer });
        }
        let order = model.observe_round(&round).map_err(|d| (d.clause, Failure::mismatch(d.message, d.expected, d.actual)))?;
        let shown: Vec<String> = order.iter().map(|i| (i + 1).to_string()).collect();
        transcript.push(format!("# the model follows the serial order {}", shown.join(", ")));
        let mut read_back: Vec<(usize, String)> = Vec::new();
        for op in ops {
            if let Op::Put { user, coll, .. } | Op::Post { user, coll, .. } = op
                && !read_back.contains(&(*user, coll.clone()))
            {
                read_back.push((*user, coll.clone()));
            }
        }
        for (user, coll) in read_back {
            let op = Op::List { user, coll, query: crate::model::Query { full: true, ..Default::default() } };
            let req = model.resolve(&op);
            transcript.push(format!("# read back: {op}"));
            let resp = users[user].send(to_sync_request(&req)).await.map_err(|e| ("J-15", Failure::new(format!("no answer: {e}"))))?;
            transcript.push(resp.transcript());
            model.observe(&op, &req, &answer_of(&resp)).map_err(|d| (d.clause, Failure::mismatch(d.message, d.expected, d.actual)))?;
        }
        Ok(())
    }

    /// Lets `by` pass for every user: the test clock where there is one, else a real wait while
    /// the budget lasts (`Ok(false)` once it is spent).
    async fn wait(&self, users: &[SyncUser], by: Duration, waited: &mut Duration) -> Result<bool, Failure> {
        if self.target.test_clock {
            for u in users {
                self.target.advance_clock(u.uid(), by).await.map_err(|e| Failure::new(format!("could not move the test clock: {e}")))?;
            }
            return Ok(true);
        }
        if *waited + by > REAL_WAIT_BUDGET {
            return Ok(false);
        }
        *waited += by;
        tokio::time::sleep(by).await;
        Ok(true)
    }
}

fn to_sync_request(req: &Request) -> SyncRequest {
    let method = Method::from_bytes(req.method.as_bytes()).unwrap_or(Method::GET);
    let mut out = SyncRequest::new(method, req.path.clone());
    for (name, value) in &req.headers {
        out = out.header(*name, value.clone());
    }
    if let Some(body) = &req.body {
        out = out.json(body);
    }
    out
}

/// The parts of an answer the model judges.
pub fn answer_of(resp: &SyncResponse) -> Answer {
    let stamp = |name| resp.header(name).and_then(|v| Stamp::parse(v).ok());
    let text = resp.text().into_owned();
    Answer {
        status: resp.status_code(),
        last_modified: stamp("x-last-modified"),
        weave_timestamp: stamp("x-weave-timestamp"),
        next_offset: resp.header("x-weave-next-offset").map(str::to_owned),
        records: resp.header("x-weave-records").and_then(|v| v.trim().parse().ok()),
        retry_after: resp.header("retry-after").and_then(|v| v.trim().parse().ok()),
        body: if text.trim().is_empty() { None } else { serde_json::from_str(&text).ok() },
        text,
    }
}

/// Sends `req`, and again while the answer is a refusal with `Retry-After` and the default retry
/// policy allows; gives the transcript of every answer, the last answer, and the first 503
/// refusal met on the way (the SPEC profile judges it).
async fn send_retrying(user: &SyncUser, req: SyncRequest) -> Result<(Vec<String>, SyncResponse, Option<Answer>), ClientError> {
    let policy = RetryPolicy::default();
    let mut transcript = Vec::new();
    let mut waited = Duration::ZERO;
    let mut attempt = 0;
    let mut unavailable = None;
    loop {
        let resp = user.send(req.clone()).await?;
        transcript.push(resp.transcript());
        attempt += 1;
        if resp.status_code() == 503 && unavailable.is_none() {
            unavailable = Some(answer_of(&resp));
        }
        match Refusal::of(&resp).and_then(|_| policy.delay(attempt, waited, std::time::SystemTime::now())) {
            Some(wait) => {
                transcript.push(format!("# refused; sent again after {} ms", wait.as_millis()));
                waited += wait;
                tokio::time::sleep(wait).await;
            }
            None => return Ok((transcript, resp, unavailable)),
        }
    }
}
