//! Which tables a sender serves as PostgreSQL binary COPY pages (`pg_copy`, `docs/protocol.md`), told by the
//! sender's schema alone: one rule for the sender, which refuses the others with the reason, and for the
//! receivers (the client, the browser), which ask for ordinary pages instead of a page they would be refused. No
//! database code here: the browser's WASM uses it too.

use crate::TableSchema;

/// Said in a table's notes when its pages travelled as PostgreSQL binary COPY.
pub const BINARY_COPY_NOTE: &str = "pages travelled as PostgreSQL binary COPY (same column types on both sides)";

/// Whether keys of this PostgreSQL type can be read from binary COPY output (the next cursor is read from the
/// last tuple's key fields).
pub fn key_type_supported(data_type: &str) -> bool {
    matches!(data_type, "smallint" | "integer" | "bigint" | "text" | "uuid")
        || data_type.starts_with("character varying")
}

/// Why the table of `schema` cannot be walked as binary COPY pages (no key the walk can order by, see
/// [`TableSchema::walk_key`], or a key of a type whose binary form the walk does not read); `None` when it can.
pub fn refusal(schema: &TableSchema) -> Option<String> {
    let Some(key) = schema.walk_key() else {
        return Some(format!("table {:?} has no key without NULLs; binary COPY pages need one", schema.name));
    };
    for k in &key {
        let ty = schema.column(k).map(|c| c.data_type.as_str()).unwrap_or_default();
        if !key_type_supported(ty) {
            return Some(format!("key column {k:?} is {ty}; binary COPY pages need integer, text or uuid keys"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PostgreSQL table's schema with these `(name, type)` columns (NOT NULL) and primary key.
    fn schema(name: &str, columns: &[(&str, &str)], primary_key: &[&str]) -> TableSchema {
        let columns: Vec<serde_json::Value> = columns
            .iter()
            .map(|(c, t)| {
                serde_json::json!({"name": c, "data_type": t, "kind": "text", "nullable": false, "default": null,
                                   "identity": null, "generated": null})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "name": name, "dialect": "postgres", "columns": columns, "primary_key": primary_key,
            "unique_constraints": [], "foreign_keys": [], "indexes": []
        }))
        .expect("a schema")
    }

    #[test]
    fn keys_of_integers_text_or_uuid_are_walked_as_binary_copy_and_others_are_refused_with_the_reason() {
        assert_eq!(refusal(&schema("keyed", &[("id", "bigint"), ("label", "text")], &["id"])), None);
        let composite =
            schema("composite", &[("region", "character varying(20)"), ("seq", "integer")], &["region", "seq"]);
        assert_eq!(refusal(&composite), None);
        assert_eq!(refusal(&schema("by_uuid", &[("id", "uuid")], &["id"])), None);
        assert_eq!(
            refusal(&schema("keyless", &[("note", "text")], &[])).as_deref(),
            Some("table \"keyless\" has no key without NULLs; binary COPY pages need one")
        );
        assert_eq!(
            refusal(&schema("dated", &[("id", "integer"), ("day", "date")], &["id", "day"])).as_deref(),
            Some("key column \"day\" is date; binary COPY pages need integer, text or uuid keys")
        );
        // A unique constraint over a nullable column: rows whose key is NULL would never be `>` a cursor.
        let mut coded = schema("coded", &[("code", "text"), ("label", "text")], &[]);
        coded.unique_constraints =
            vec![crate::schema::UniqueConstraint { name: "coded_code_key".into(), columns: vec!["code".into()] }];
        assert_eq!(refusal(&coded), None);
        coded.columns[0].nullable = true;
        assert_eq!(
            refusal(&coded).as_deref(),
            Some("table \"coded\" has no key without NULLs; binary COPY pages need one")
        );
    }
}
