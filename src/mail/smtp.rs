//! SMTP sending (in progress).
