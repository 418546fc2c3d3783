//! SQL text from a sender, validated before it is ever run (issue #14).
