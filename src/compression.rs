//! Background training of per-project zstd dictionaries (see `event::codec`).
//!
//! Ingest counts the events each project compresses; once a project has enough without a
//! dictionary (or many with an old one), this task reads its newest payloads, trains a
//! dictionary off the async threads, stores it through the writer and registers it, so the
//! next events use it. Training a 64 KiB dictionary on ~1,000 events takes well under a second
//! of one core, once per project (and again after `RETRAIN_AFTER` events).

use std::sync::Arc;
use std::time::Duration;

use crate::event::codec::{self, Codec};
use crate::store::{self, Pool, writer::WriterHandle};

/// How often the task looks for projects due for training.
const TICK: Duration = Duration::from_secs(2);
/// Samples per training: enough variety.
const SAMPLES: i64 = 1_000;
/// Below this many samples a dictionary would learn noise.
const MIN_SAMPLES: usize = 100;
/// Training needs memory several times its input, so the input is capped: each sample's first
/// 16 KiB (what events of a project share sits at the start: SDK, contexts, frames) and 4 MiB
/// in all. Uncapped, training on 1,000 events of 50 KB took the server's peak RSS to ~200 MB.
const SAMPLE_BYTES: usize = 16 * 1024;
const TOTAL_SAMPLE_BYTES: usize = 4 * 1024 * 1024;

/// Loads every stored dictionary into the codec (at start-up).
pub async fn load(pool: &Pool, codec: &Codec) -> Result<(), store::StoreError> {
    for d in store::all_dictionaries(pool).await? {
        if let Err(e) = codec.add(d.id, d.project_id, &d.data) {
            // Events compressed with it will say so when read; the rest of the project works.
            tracing::error!(dictionary = d.id, error = %e, "cannot load a stored dictionary");
        }
    }
    Ok(())
}

/// Loads the stored dictionaries when one of `dict_ids` is not loaded yet: another node
/// trained it, and the notification that says so has not arrived (or was missed). Rare, so
/// loading them all is fine.
pub async fn ensure_loaded(pool: &Pool, codec: &Codec, dict_ids: impl IntoIterator<Item = Option<i64>>) {
    if dict_ids.into_iter().flatten().any(|id| !codec.has(id))
        && let Err(e) = load(pool, codec).await
    {
        tracing::warn!(error = %e, "cannot load the compression dictionaries");
    }
}

pub fn spawn(pool: Pool, writer: WriterHandle, codec: Arc<Codec>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(TICK).await;
            if !writer.is_alive() {
                return;
            }
            let due = codec.due_for_training();
            if due.is_empty() {
                continue;
            }
            // With several nodes on one PostgreSQL, one trains at a time; the others hear of
            // the new dictionary and use it (see startup's change listener).
            let turn = match store::Turn::try_take(&pool, store::Task::Training).await {
                Ok(Some(turn)) => turn,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the training turn");
                    continue;
                }
            };
            for project_id in due {
                // Counted again from zero whatever happens, so a failure is retried later,
                // not on every tick.
                codec.postpone(project_id);
                match train(&pool, &writer, &codec, project_id).await {
                    Ok(Some(id)) => tracing::info!(project_id, dictionary = id, "trained a compression dictionary"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(project_id, error = %e, "training a compression dictionary failed"),
                }
            }
            turn.release().await;
        }
    })
}

async fn train(pool: &Pool, writer: &WriterHandle, codec: &Arc<Codec>, project_id: i64) -> Result<Option<i64>, String> {
    let stored = store::recent_payloads(pool, project_id, SAMPLES, 2 * TOTAL_SAMPLE_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    let codec_for_training = codec.clone();
    let dictionary = tokio::task::spawn_blocking(move || {
        let mut samples: Vec<Vec<u8>> = Vec::new();
        let mut total = 0;
        for (payload, dict) in stored {
            let Ok(mut sample) = codec_for_training.decompress(&payload, dict) else {
                continue;
            };
            drop(payload);
            sample.truncate(SAMPLE_BYTES);
            // Truncating keeps the allocation; a 50 KB event's sample would hold all of it.
            sample.shrink_to_fit();
            total += sample.len();
            samples.push(sample);
            if total >= TOTAL_SAMPLE_BYTES {
                break;
            }
        }
        if samples.len() < MIN_SAMPLES {
            return Ok(None);
        }
        codec::train(&samples).map(Some)
    })
    .await
    .map_err(|e| e.to_string())??;
    let Some(data) = dictionary else {
        return Ok(None);
    };
    let id = writer
        .add_dictionary(project_id, data.clone())
        .await
        .map_err(|e| e.to_string())?;
    codec.add(id, project_id, &data)?;
    store::announce_dictionary(pool).await;
    Ok(Some(id))
}

/// Forgets dictionaries no stored event uses any more (retention thinned their events away).
pub async fn drop_unused(pool: &Pool, writer: &WriterHandle, codec: &Codec) -> Result<usize, String> {
    let unused = store::unused_dictionaries(pool).await.map_err(|e| e.to_string())?;
    if unused.is_empty() {
        return Ok(0);
    }
    writer
        .drop_dictionaries(unused.clone())
        .await
        .map_err(|e| e.to_string())?;
    for id in &unused {
        codec.remove(*id);
    }
    Ok(unused.len())
}
