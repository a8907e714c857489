//! Session status.

use crate::macros::open_string_enum;

open_string_enum! {
    /// Where a session is in its lifecycle.
    ///
    /// ```
    /// use uip_types::SessionStatus;
    /// assert!(SessionStatus::Completed.is_terminal());
    /// assert!(!SessionStatus::AwaitingDecision.is_terminal());
    /// ```
    pub enum SessionStatus {
        /// Made; hosted page not yet opened.
        Created => "created",
        /// The user opened the page and is working through steps.
        InProgress => "in_progress",
        /// Paused after a gate step; waits for continue or stop.
        AwaitingDecision => "awaiting_decision",
        /// Every step verified.
        Completed => "completed",
        /// The business stopped it at a gate.
        Stopped => "stopped",
        /// A step failed verification, funds ran out, or an internal error.
        Failed => "failed",
        /// The session TTL or a step window elapsed.
        Expired => "expired",
    }
}

impl SessionStatus {
    /// True for `completed`, `stopped`, `failed` and `expired`.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            SessionStatus::Completed
                | SessionStatus::Stopped
                | SessionStatus::Failed
                | SessionStatus::Expired
        )
    }
}
