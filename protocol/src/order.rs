//! The order tables are transferred in: parents before the tables whose foreign keys point at them, so rows
//! land without violating constraints. Only the selected tables count; a cycle is broken by name order.

use std::collections::{BTreeMap, BTreeSet};

use crate::schema::TableSchema;

/// The names of `schemas` with every referenced table before its referrers, and a note when a cycle had to be
/// broken (those tables follow in name order; deferred or after-data constraints must cover them).
pub fn foreign_key_order(schemas: &[TableSchema]) -> (Vec<String>, Option<String>) {
    let selected: BTreeSet<&str> = schemas.iter().map(|s| s.name.as_str()).collect();
    // parents[t] = selected tables t references (self-references do not constrain the order).
    let mut parents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in schemas {
        let refs = s
            .foreign_keys
            .iter()
            .map(|fk| fk.ref_table.as_str())
            .filter(|r| *r != s.name && selected.contains(r))
            .collect();
        parents.insert(s.name.as_str(), refs);
    }
    let mut order = Vec::with_capacity(schemas.len());
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    loop {
        let ready: Vec<&str> = parents
            .iter()
            .filter(|(t, ps)| !placed.contains(*t) && ps.iter().all(|p| placed.contains(p)))
            .map(|(t, _)| *t)
            .collect();
        if ready.is_empty() {
            break;
        }
        for t in ready {
            placed.insert(t);
            order.push(t.to_owned());
        }
    }
    let cyclic: Vec<String> = parents.keys().filter(|t| !placed.contains(*t)).map(|t| (*t).to_owned()).collect();
    let note = (!cyclic.is_empty())
        .then(|| format!("foreign keys form a cycle between {}: transferred in name order", cyclic.join(", ")));
    order.extend(cyclic);
    (order, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Dialect, ForeignKey};

    fn table(name: &str, refs: &[&str]) -> TableSchema {
        TableSchema {
            name: name.into(),
            dialect: Dialect::Postgres,
            foreign_keys: refs
                .iter()
                .map(|r| ForeignKey {
                    name: format!("{name}_{r}_fk"),
                    columns: vec!["x".into()],
                    ref_table: (*r).into(),
                    ref_columns: vec!["id".into()],
                    on_update: "NO ACTION".into(),
                    on_delete: "NO ACTION".into(),
                })
                .collect(),
            ..TableSchema::default()
        }
    }

    #[test]
    fn parents_come_first_and_unselected_or_self_references_do_not_count() {
        let schemas =
            [table("reviews", &["books", "users"]), table("books", &["authors"]), table("authors", &["authors"])];
        assert_eq!(foreign_key_order(&schemas), (vec!["authors".into(), "books".into(), "reviews".into()], None));
    }

    #[test]
    fn a_cycle_is_broken_in_name_order_with_a_note() {
        let schemas = [table("b", &["a"]), table("a", &["b"]), table("c", &[])];
        let (order, note) = foreign_key_order(&schemas);
        assert_eq!(order, ["c", "a", "b"]);
        assert!(note.unwrap().contains("a, b"));
    }
}
