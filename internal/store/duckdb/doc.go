// Package duckdb is the embedded store (internal/store) on DuckDB: one
// table of documents with typed columns for the ECS fields dashboards group
// and filter by, the whole document as JSON, upserts by _id, retention per
// log type and a lock file so that only one process writes. The DuckDB
// parts need cgo and are left out of cgo-free builds; the lock file helpers
// (LockHolder) are always there, so a cgo-free command can still find the
// server that holds a store.
package duckdb
