//! What makes one request's event differ from the next: the clock and random values.

/// Seconds since the epoch.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A random number, to reduce modulo what the field needs.
pub fn rand() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

/// 32 random hex digits (an id).
pub fn hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
