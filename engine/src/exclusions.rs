//! Which tables are never transferred: the app's own (`dbt_*`, `_sqlx_migrations`, SQLite internals) plus a
//! configurable list of names and prefixes. Every operation checks, not only the listing.

/// Prefix of every table the app itself owns; such tables are never transferred.
pub const APP_TABLE_PREFIX: &str = "dbt_";

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
            || self.names.iter().any(|n| n == table)
            || self.prefixes.iter().any(|p| table.starts_with(p.as_str()))
    }
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
}
