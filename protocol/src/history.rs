//! The transfer history as it is shown and sent: who pulled what from which sender, with which strategies, how
//! many rows landed and how it ended. Stored by the `appdata` crate (`dbt_transfers`).

use serde::{Deserialize, Serialize};

use crate::request::Strategy;

/// A fieldless enum kept in a TEXT column as fixed strings and serialized (serde) as the same strings: one list
/// of variant ⇄ string gives `as_str`, `Display`, `FromStr`/`TryFrom<&str>`/`TryFrom<String>` and serde. The app's
/// own tables bind `as_str()` and read rows with `#[sqlx(try_from = "String")]`, so the columns stay TEXT.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and serialized) string.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::history::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::history::UnknownValue::new(stringify!($name), s)),
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $crate::history::UnknownValue;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::history::UnknownValue;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
    };
}
pub(crate) use text_enum;

/// A string that is none of a [`text_enum!`]'s values (read from a column or given by a caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownValue {
    /// The enum's name (`Outcome`, `JobState`, …).
    pub kind: &'static str,
    /// The value, cut to 40 characters.
    pub value: String,
}

impl UnknownValue {
    pub fn new(kind: &'static str, value: &str) -> UnknownValue {
        UnknownValue { kind, value: value.chars().take(40).collect() }
    }
}

text_enum! {
    /// How a transfer reached this site.
    pub enum Channel {
        /// Relayed by an admin's browser (the Receive page).
        Browser = "browser",
        /// `db-transfer pull`.
        Cli = "cli",
        /// A background job on this site's server.
        Background = "background",
    }
}

text_enum! {
    /// The ways a transfer ends.
    pub enum Outcome {
        /// Every table landed whole.
        Finished = "finished",
        /// Ran to the end, but some tables or rows were refused.
        Incomplete = "incomplete",
        Cancelled = "cancelled",
        Failed = "failed",
    }
}

text_enum! {
    /// How a recorded transfer stands: running, or ended with one of the [`Outcome`]s (the same strings).
    pub enum TransferState {
        Running = "running",
        Finished = "finished",
        Incomplete = "incomplete",
        Cancelled = "cancelled",
        Failed = "failed",
    }
}

impl From<Outcome> for TransferState {
    fn from(outcome: Outcome) -> TransferState {
        match outcome {
            Outcome::Finished => TransferState::Finished,
            Outcome::Incomplete => TransferState::Incomplete,
            Outcome::Cancelled => TransferState::Cancelled,
            Outcome::Failed => TransferState::Failed,
        }
    }
}

impl TransferState {
    /// How it ended; `None` while it runs.
    pub fn outcome(self) -> Option<Outcome> {
        match self {
            TransferState::Running => None,
            TransferState::Finished => Some(Outcome::Finished),
            TransferState::Incomplete => Some(Outcome::Incomplete),
            TransferState::Cancelled => Some(Outcome::Cancelled),
            TransferState::Failed => Some(Outcome::Failed),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableStrategy {
    pub table: String,
    pub strategy: Strategy,
}

/// One transfer as the history lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferRecord {
    pub id: i64,
    pub admin: String,
    pub channel: Channel,
    pub sender: String,
    pub tables: Vec<TableStrategy>,
    pub rows: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub errors: i64,
    pub outcome: TransferState,
    pub message: Option<String>,
    pub started_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every variant of a text enum reads back from its stored string and from its serde form, which is the same
    /// string; anything else is refused, naming the value.
    pub(crate) fn round_trips<T>(all: &[T], as_str: fn(T) -> &'static str, expected: &[&str])
    where
        T: Copy + PartialEq + std::fmt::Debug + std::str::FromStr<Err = UnknownValue> + Serialize,
        T: for<'de> Deserialize<'de>,
    {
        let stored: Vec<&str> = all.iter().map(|v| as_str(*v)).collect();
        assert_eq!(stored, expected);
        for &v in all {
            assert_eq!(as_str(v).parse::<T>(), Ok(v));
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(as_str(v)));
            assert_eq!(serde_json::from_value::<T>(serde_json::json!(as_str(v))).unwrap(), v);
        }
        let refused = "exploded".parse::<T>().unwrap_err();
        assert_eq!(refused.value, "exploded");
        let error = serde_json::from_value::<T>(serde_json::json!("exploded")).unwrap_err().to_string();
        assert!(error.contains("unknown variant `exploded`"), "{error}");
    }

    #[test]
    fn outcomes_channels_and_transfer_states_round_trip_through_their_strings() {
        round_trips(Outcome::ALL, Outcome::as_str, &["finished", "incomplete", "cancelled", "failed"]);
        round_trips(Channel::ALL, Channel::as_str, &["browser", "cli", "background"]);
        round_trips(
            TransferState::ALL,
            TransferState::as_str,
            &["running", "finished", "incomplete", "cancelled", "failed"],
        );
        for &o in Outcome::ALL {
            assert_eq!(TransferState::from(o).as_str(), o.as_str());
            assert_eq!(TransferState::from(o).outcome(), Some(o));
        }
        assert_eq!(TransferState::Running.outcome(), None);
        assert_eq!("Finished".parse::<Outcome>().unwrap_err().to_string(), "unknown Outcome \"Finished\"");
    }
}
