//! Which tables are never transferred: the app's own (`dbt_*`, `_sqlx_migrations`, SQLite internals) plus a
//! configurable list of names and prefixes. Every operation checks, not only the listing.

/// Prefix of every table the app itself owns; such tables are never transferred.
pub const APP_TABLE_PREFIX: &str = "dbt_";

/// Configured names and prefixes as given (`--exclude-tables "users, secrets"`): each entry counts trimmed, and
/// blank ones count for nothing (an empty prefix would otherwise exclude every table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclusions {
    pub names: Vec<String>,
    pub prefixes: Vec<String>,
}

impl Exclusions {
    pub fn is_excluded(&self, table: &str) -> bool {
        table.starts_with(APP_TABLE_PREFIX)
            || table == "_sqlx_migrations"
            || table.starts_with("sqlite_")
            || entries(&self.names).any(|n| n == table)
            || entries(&self.prefixes).any(|p| table.starts_with(p))
    }
}

fn entries(list: &[String]) -> impl Iterator<Item = &str> {
    list.iter().map(|e| e.trim()).filter(|e| !e.is_empty())
}

#[cfg(test)]
mod tests {
    use super::Exclusions;

    #[test]
    fn app_tables_and_configured_ones_are_excluded() {
        let ex = Exclusions { names: vec!["secrets".into()], prefixes: vec!["audit_".into()] };
        for t in ["dbt_admins", "_sqlx_migrations", "sqlite_sequence", "secrets", "audit_log"] {
            assert!(ex.is_excluded(t), "{t}");
        }
        for t in ["users", "Secrets", "audit", "DBT_x"] {
            assert!(!ex.is_excluded(t), "{t}");
        }
    }

    #[test]
    fn entries_count_trimmed_and_blank_ones_not_at_all() {
        let ex = Exclusions { names: vec!["users".into(), " secrets ".into()], prefixes: vec![" audit_".into()] };
        assert!(ex.is_excluded("secrets") && ex.is_excluded("audit_log"));
        assert!(!ex.is_excluded("orders"));

        let ex = Exclusions {
            names: vec!["users".into(), " secrets".into(), " ".into(), "".into()],
            prefixes: vec![" audit_ ".into(), "".into(), "  ".into()],
        };
        for t in ["users", "secrets", "audit_log"] {
            assert!(ex.is_excluded(t), "{t}");
        }
        for t in ["orders", " secrets", "", "audit"] {
            assert!(!ex.is_excluded(t), "{t:?}");
        }
    }
}
