//! Storing user feedback (`user_report` and `feedback` envelope items).

use super::StoreError;
use super::pool::{Conn, on};

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

pub(super) async fn insert(conn: &mut Conn<'_>, row: &FeedbackRow) -> Result<(), StoreError> {
    on!(conn, |c, DB| {
        // A project deleted while its key was still cached must not fail the whole batch on the
        // foreign key: the feedback is dropped with its project.
        sqlx::query(
            "INSERT INTO user_feedback (project_id, event_id, name, email, comments, received) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM projects WHERE id = $1)",
        )
        .bind(row.project_id)
        .bind(&row.event_id)
        .bind(&row.name)
        .bind(&row.email)
        .bind(&row.comments)
        .bind(row.received)
        .execute(&mut *c)
        .await?;
        Ok(())
    })
}
