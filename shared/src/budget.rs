//! Time: how long a scheduled run or a request may work before it must answer.

use crate::app::App;
use crate::error::ApiError;
use crate::reply::Reply;
use lambda_http::{Request, RequestExt};
use std::future::Future;

/// How long a run may work: until its invocation's deadline, less `RUN_RESERVE` to finish the
/// service in hand and answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    until: Option<std::time::Instant>,
}

/// Kept back from a run's deadline: a service's writes take well under a second, even through
/// the SDK's retries (`aws::Resilience`), and the jobs' timeout is 300 s.
pub const RUN_RESERVE: std::time::Duration = std::time::Duration::from_secs(30);

impl Budget {
    /// No limit (a local runner's invocation, or a test's).
    pub const UNLIMITED: Budget = Budget { until: None };

    /// The budget of an invocation whose deadline is `deadline_ms` (Lambda's, milliseconds
    /// since the epoch), less `reserve` or half the time left when that is shorter: none when
    /// it names no deadline in the coming 15 minutes.
    pub fn until_deadline(deadline_ms: u64, reserve: std::time::Duration) -> Self {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let left = std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        if deadline_ms == 0 || left > std::time::Duration::from_secs(15 * 60) {
            return Self::UNLIMITED;
        }
        // A short invocation (a local runner's) keeps half its time back, not all of it.
        Self { until: Some(std::time::Instant::now() + left - reserve.min(left / 2)) }
    }

    /// The budget of a scheduled invocation with Lambda's `deadline_ms`: less `RUN_RESERVE`
    /// (no limit where `app` watches no deadlines: a local runner's).
    pub fn of_invocation(app: &App, deadline_ms: u64) -> Self {
        Self::watched(app, deadline_ms, RUN_RESERVE)
    }

    /// `until_deadline`, where `app` watches deadlines; no limit where it does not.
    pub fn watched(app: &App, deadline_ms: u64, reserve: std::time::Duration) -> Self {
        if !app.watch_deadlines {
            return Self::UNLIMITED;
        }
        Self::until_deadline(deadline_ms, reserve)
    }

    /// A budget of `work` from now.
    pub fn of(work: std::time::Duration) -> Self {
        Self { until: Some(std::time::Instant::now() + work) }
    }

    pub fn spent(&self) -> bool {
        self.until.is_some_and(|until| std::time::Instant::now() >= until)
    }

    /// The time left, if the budget has a limit.
    pub fn remaining(&self) -> Option<std::time::Duration> {
        self.until.map(|until| until.saturating_duration_since(std::time::Instant::now()))
    }
}

/// Kept back from a route's invocation deadline to answer: a request that runs out of time
/// answers 503 itself (its writes are committed or not as a whole, and its key released),
/// rather than Lambda's timeout giving API Gateway's 500 and leaving the key claimed. It holds
/// the release of the key (waited for at most `idempotency::GIVE_UP_WAIT`, one deployed SDK
/// attempt) and the answer.
pub const ANSWER_RESERVE: std::time::Duration = std::time::Duration::from_millis(3000);

/// When the route handling `req` must answer by (no limit where `app` watches no deadlines).
pub fn for_request(app: &App, req: &Request) -> Budget {
    let deadline = req.lambda_context_ref().map_or(0, |context| context.deadline);
    Budget::watched(app, deadline, ANSWER_RESERVE)
}

/// `route`'s outcome, or 503 once `budget` is spent.
pub async fn in_time<Fut>(budget: Budget, route: Fut) -> Result<Reply, ApiError>
where
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    match budget.remaining() {
        None => route.await,
        Some(left) => tokio::time::timeout(left, route)
            .await
            .unwrap_or_else(|_| Err(ApiError::Unavailable("the request ran out of time".into()))),
    }
}
