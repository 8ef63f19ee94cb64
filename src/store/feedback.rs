//! Storing user feedback (`user_report` and `feedback` envelope items).

use sqlx::SqliteConnection;

use super::StoreError;

/// One piece of feedback, ready for the writer.
#[derive(Debug, Clone)]
pub struct FeedbackRow {
    pub project_id: i64,
    /// The event it is about (32 hex), when the SDK named one.
    pub event_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub comments: String,
    pub received: f64,
}

pub(super) async fn insert(conn: &mut SqliteConnection, row: &FeedbackRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO user_feedback (project_id, event_id, name, email, comments, received) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(row.project_id)
    .bind(&row.event_id)
    .bind(&row.name)
    .bind(&row.email)
    .bind(&row.comments)
    .bind(row.received)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
