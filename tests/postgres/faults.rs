//! PostgreSQL failing under a running node: what clients see, and what the node does once the
//! database is back. Each test runs on a private cluster (`postgres::private_cluster`), since the
//! shared one serves every other test and must stay up.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::{TestApp, error_event, poll, spawn_app_on};

/// Concurrent senders: enough that requests are in every stage (key look-up, queue, commit)
/// when the server goes down.
const SENDERS: usize = 6;

/// What the senders have been answered so far, for the test to wait on and check.
#[derive(Default)]
struct Tally {
    acked: AtomicUsize,
    unavailable: AtomicUsize,
    /// Answers a client must never get, and how often.
    wrong: Mutex<BTreeMap<String, usize>>,
}

impl Tally {
    fn wrong(&self) -> BTreeMap<String, usize> {
        self.wrong.lock().unwrap().clone()
    }

    fn assert_no_wrong_answer(&self, app: &TestApp) {
        let wrong = self.wrong();
        assert!(
            wrong.is_empty(),
            "answers other than 200, or 503/429 with Retry-After: {wrong:#?}\nthe server log's end:\n{}",
            log_tail(app)
        );
    }
}

/// The last lines the server logged, for a failure message.
fn log_tail(app: &TestApp) -> String {
    let log = app.server_log();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Sends events to `app`'s `/store/` until `stop`, one at a time, recording every answer;
/// returns the ids answered 200.
fn sender(app: &TestApp, tally: Arc<Tally>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<String>> {
    let (client, url) = (app.client.clone(), app.url(&format!("/api/{}/store/", app.project_id)));
    let auth = crate::helpers::sentry_auth(&app.key);
    tokio::spawn(async move {
        let mut acked = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let event = error_event();
            let id = event["event_id"].as_str().unwrap().to_string();
            let wrong = match client
                .post(&url)
                .header("x-sentry-auth", &auth)
                .json(&event)
                .send()
                .await
            {
                Err(e) => format!("no answer: {e}"),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp.headers().contains_key("retry-after");
                    match status {
                        200 => {
                            acked.push(id);
                            tally.acked.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        // Both mean "try again later", and an SDK only waits when told how
                        // long. (An SDK would back off; the test keeps the pressure on.)
                        503 | 429 if retry_after => {
                            if status == 503 {
                                tally.unavailable.fetch_add(1, Ordering::Relaxed);
                            }
                            continue;
                        }
                        _ => {
                            let body = resp.text().await.unwrap_or_default();
                            format!("{status} (Retry-After: {retry_after}): {body}")
                        }
                    }
                }
            };
            *tally.wrong.lock().unwrap().entry(wrong).or_default() += 1;
        }
        acked
    })
}

/// Waits until `/readyz` answers `status`.
async fn readyz_answers(app: &TestApp, status: u16, what: &str) {
    poll(what, Duration::from_secs(30), async || {
        let got = app
            .client
            .get(app.url("/readyz"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .status()
            .as_u16();
        if got == status {
            Ok(())
        } else {
            Err(format!("/readyz answered {got}"))
        }
    })
    .await;
}

/// Waits until the senders have had `n` more events answered 200 than `from`.
async fn acked_beyond(tally: &Tally, from: usize, n: usize, what: &str) {
    poll(what, Duration::from_secs(60), async || {
        let acked = tally.acked.load(Ordering::Relaxed);
        if acked >= from + n {
            Ok(())
        } else {
            Err(format!("{} acknowledged since", acked - from))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgresql_restarting_under_load_gives_503s_then_ingest_resumes_by_itself_losing_no_acknowledged_event() {
    let Some(cluster) = crate::postgres::private_cluster() else {
        println!("skipped: TOCSIN_TEST_DATABASE_URL names the server, and there is no local PostgreSQL to restart");
        return;
    };
    let app = spawn_app_on(cluster.database(), &[]).await;
    let (tally, stop) = (Arc::new(Tally::default()), Arc::new(AtomicBool::new(false)));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| sender(&app, tally.clone(), stop.clone()))
        .collect();
    acked_beyond(&tally, 0, 50, "the node stores events under load").await;

    // PostgreSQL goes down while the senders keep sending.
    let unavailable = tally.unavailable.load(Ordering::Relaxed);
    cluster.stop();
    // Stops waiting at the first wrong answer too, to show it rather than a timeout.
    poll("clients are answered 503", Duration::from_secs(30), async || {
        let seen = tally.unavailable.load(Ordering::Relaxed);
        if seen > unavailable || !tally.wrong().is_empty() {
            Ok(())
        } else {
            Err(format!("{seen} answered 503"))
        }
    })
    .await;
    tally.assert_no_wrong_answer(&app);
    readyz_answers(&app, 503, "/readyz says the node is not ready").await;

    // Back up: nobody restarts the node, yet it stores events again.
    cluster.start();
    let at_restart = tally.acked.load(Ordering::Relaxed);
    acked_beyond(&tally, at_restart, 50, "the node stores events again").await;
    readyz_answers(&app, 200, "/readyz says the node is ready again").await;

    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for sender in senders {
        acked.extend(sender.await.unwrap());
    }
    tally.assert_no_wrong_answer(&app);
    app.assert_stored(&acked).await;
}
