//! The functions an accepted expression may call, per dialect. Everything here is a built-in that reads only its
//! arguments (and the clock, the session user or a random source): no I/O, no sleeping, no settings, no catalogs,
//! no allocation controlled by an argument (`repeat`, `lpad`, `zeroblob` are left out for that reason).
//! Names are matched in lower case; a quoted name must be written in lower case to match (PostgreSQL semantics).

/// PostgreSQL functions called with parentheses. `nextval` and the text-search functions are in the list but have
/// their arguments checked further (see `expr.rs`).
pub(crate) const POSTGRES: &[&str] = &[
    // Date and time.
    "now",
    "statement_timestamp",
    "transaction_timestamp",
    "clock_timestamp",
    "date_trunc",
    "date_part",
    "date_bin",
    "age",
    "make_date",
    "make_time",
    "make_timestamp",
    "make_timestamptz",
    "make_interval",
    "to_timestamp",
    "to_char",
    "to_date",
    "to_number",
    "timezone",
    "isfinite",
    "justify_days",
    "justify_hours",
    "justify_interval",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    // Text.
    "lower",
    "upper",
    "initcap",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "bit_length",
    "btrim",
    "ltrim",
    "rtrim",
    "substr",
    "substring",
    "left",
    "right",
    "strpos",
    "position",
    "replace",
    "translate",
    "split_part",
    "concat",
    "concat_ws",
    "md5",
    "reverse",
    "starts_with",
    "ascii",
    "chr",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "encode",
    // Numbers.
    "abs",
    "round",
    "trunc",
    "ceil",
    "ceiling",
    "floor",
    "mod",
    "sign",
    "sqrt",
    "cbrt",
    "exp",
    "ln",
    "log",
    "power",
    "div",
    "random",
    // Conditionals.
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "num_nulls",
    "num_nonnulls",
    // Identifiers.
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    // Sequences (one string literal only).
    "nextval",
    // JSON.
    "to_json",
    "to_jsonb",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "json_typeof",
    "jsonb_typeof",
    "json_array_length",
    "jsonb_array_length",
    "jsonb_strip_nulls",
    "json_extract_path",
    "jsonb_extract_path",
    "json_extract_path_text",
    "jsonb_extract_path_text",
    // Full-text search (a configuration only as a literal).
    "to_tsvector",
    "to_tsquery",
    "plainto_tsquery",
    "phraseto_tsquery",
    "websearch_to_tsquery",
    "setweight",
    "strip",
    "array_to_tsvector",
    // Arrays and ranges.
    "array_length",
    "cardinality",
    "array_ndims",
    "array_to_string",
    "isempty",
    "lower_inc",
    "upper_inc",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
];

/// PostgreSQL functions written without parentheses (SQL value functions).
pub(crate) const POSTGRES_BARE: &[&str] = &[
    "current_timestamp",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    "current_user",
    "session_user",
    "current_role",
    "user",
    "current_catalog",
    "current_schema",
];

/// SQLite functions called with parentheses.
pub(crate) const SQLITE: &[&str] = &[
    // Date and time.
    "date",
    "time",
    "datetime",
    "julianday",
    "unixepoch",
    "strftime",
    // Text and blobs.
    "lower",
    "upper",
    "length",
    "octet_length",
    "substr",
    "substring",
    "trim",
    "ltrim",
    "rtrim",
    "replace",
    "instr",
    "hex",
    "unhex",
    "quote",
    "char",
    "unicode",
    "randomblob",
    // Numbers.
    "abs",
    "round",
    "sign",
    "random",
    "max",
    "min",
    // Conditionals and types.
    "coalesce",
    "ifnull",
    "nullif",
    "iif",
    "typeof",
    "glob",
    "like",
    // JSON.
    "json",
    "json_valid",
    "json_array",
    "json_object",
    "json_extract",
    "json_type",
    "json_array_length",
];

/// SQLite functions written without parentheses.
pub(crate) const SQLITE_BARE: &[&str] = &["current_timestamp", "current_date", "current_time"];

/// Text-search functions whose first of two arguments is a configuration: only a literal (`'english'` or
/// `'english'::regconfig`) is accepted there.
pub(crate) const TEXT_SEARCH_CONFIGURED: &[&str] =
    &["to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery", "websearch_to_tsquery"];

/// Functions with a side effect: accepted only in a column default (a CHECK, a partition bound or an index
/// would run them at CREATE or on every row, and sequence increments survive a rollback).
pub(crate) const SIDE_EFFECT: &[&str] = &["nextval"];

/// Volatile functions (a new value on every call): accepted in defaults only.
pub(crate) const VOLATILE: &[&str] = &[
    "random",
    "randomblob",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
];

/// Functions reading the clock or the session (stable, not immutable): also refused where the value must be
/// immutable (generated columns, index keys and predicates, partition keys).
pub(crate) const STABLE: &[&str] = &[
    "now",
    "statement_timestamp",
    "transaction_timestamp",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtime",
    "localtimestamp",
    "current_user",
    "session_user",
    "current_role",
    "user",
    "current_catalog",
    "current_schema",
];

/// Functions whose output can be longer than their input by a factor (`hex` doubles, `replace` multiplies,
/// escaping can take several bytes per character): none may stand inside another one's arguments, so a short
/// text cannot nest them into an allocation of gigabytes per row. (`||` and plain concatenation grow only
/// linearly with the text and are not listed, but `concat`/`concat_ws` are, to keep nesting shallow.)
pub(crate) const GROWING: &[&str] = &[
    // Both dialects.
    "replace",
    // SQLite.
    "hex",
    "quote",
    "json",
    "json_array",
    "json_object",
    // PostgreSQL.
    "encode",
    "concat",
    "concat_ws",
    "translate",
    "to_char",
    "array_to_string",
    "to_json",
    "to_jsonb",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
];

/// Functions whose arguments after the first multiply the first one's length (`replace`'s replacement,
/// `array_to_string`'s separator): those must not reference a column, or a value could be multiplied by itself.
pub(crate) const CONSTANT_AFTER_FIRST: &[&str] = &["replace", "array_to_string"];

/// The largest `randomblob(N)` accepted (N must be an integer literal).
pub(crate) const MAX_RANDOMBLOB: u64 = 1024 * 1024;
