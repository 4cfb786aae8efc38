// Package store defines the embedded store: the interface the pipeline's
// store sink, the search CLI and the web console use, and the request and
// result types they exchange. The DuckDB implementation lives in
// internal/store/duckdb (it needs cgo); this package has no cgo.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound is returned by Get when no document has the id.
var ErrNotFound = errors.New("document not found")

// ErrLocked is returned by Open when another process holds the store for
// writing. Its message says which process and what to do instead.
var ErrLocked = errors.New("store is locked by another process")

// Doc is one document to write. Source is the document's JSON (the
// _source of the NDJSON sink); Write copies what it keeps, so the caller may
// reuse the slices after Write returns.
type Doc struct {
	ID          string // _id: the document's identity; writing the same ID again replaces it
	Index       string // index name, e.g. log-aws-cloudtrail-2026-11
	LogType     string // @log_type, e.g. cloudtrail
	TimestampMs int64  // @timestamp as epoch milliseconds
	Source      []byte
}

// Filter selects documents. The zero Filter selects everything.
type Filter struct {
	// Query is a query in the search language (internal/query); empty
	// matches every document.
	Query string
	// From and To bound @timestamp, epoch ms, From inclusive, To
	// exclusive; 0 leaves that side open.
	From, To int64
	// LogTypes limits the search to these log types; empty means all.
	LogTypes []string
}

// SearchRequest asks for a page of matching documents.
type SearchRequest struct {
	Filter
	Sort   string // field to sort by; empty means @timestamp
	Asc    bool   // ascending; the default is descending
	Offset int
	Limit  int // 0 means 100; at most 10,000
}

// Hit is one matching document.
type Hit struct {
	ID          string          `json:"_id"`
	Index       string          `json:"_index"`
	LogType     string          `json:"log_type"`
	TimestampMs int64           `json:"timestamp_ms"`
	Source      json.RawMessage `json:"_source"`
}

// SearchResult is one page of hits and the total number of matches.
type SearchResult struct {
	Total int64         `json:"total"`
	Hits  []Hit         `json:"hits"`
	Took  time.Duration `json:"-"`
}

// AggKind names an aggregation.
type AggKind string

// The aggregations the console and API use.
const (
	// AggCount counts matching documents (Value).
	AggCount AggKind = "count"
	// AggTerms returns the top Size values of Field by document count, or
	// by the sum of Metric when Metric is set (Buckets).
	AggTerms AggKind = "terms"
	// AggTerms2 returns the top Size (Field, Field2) pairs, for heatmaps
	// (Buckets with Key and Key2).
	AggTerms2 AggKind = "terms2"
	// AggDateHistogram counts documents per time bucket of Interval (0
	// picks one that gives about 60 buckets over the filter's range),
	// optionally split by the top Size values of Field (Buckets with Key
	// as the bucket start in epoch ms, Key2 as the split value).
	AggDateHistogram AggKind = "date_histogram"
	// AggCardinality counts distinct values of Field (Value).
	AggCardinality AggKind = "cardinality"
)

// AggRequest asks for one aggregation over the documents a Filter selects.
type AggRequest struct {
	Filter
	Kind     AggKind
	Field    string        // ECS or raw field name, e.g. source.ip or eventName
	Field2   string        // second field of AggTerms2
	Metric   string        // for AggTerms: sum this numeric field instead of counting
	Size     int           // top-N; 0 means 10
	Interval time.Duration // for AggDateHistogram
}

// Bucket is one row of an aggregation.
type Bucket struct {
	Key   string  `json:"key"`
	Key2  string  `json:"key2,omitempty"`
	Count int64   `json:"count"`
	Value float64 `json:"value,omitempty"` // the Metric sum, when asked
}

// AggResult is the answer to an AggRequest.
type AggResult struct {
	Buckets  []Bucket      `json:"buckets,omitempty"`
	Value    float64       `json:"value"`    // AggCount, AggCardinality
	Interval time.Duration `json:"interval"` // the bucket width used by AggDateHistogram
	Took     time.Duration `json:"-"`
}

// Field describes one field present in a log type's documents.
type Field struct {
	Name    string `json:"name"`
	Type    string `json:"type"`    // keyword, long, double, ip, date, boolean, object
	Indexed bool   `json:"indexed"` // a typed column backs it (fast to filter and aggregate)
}

// IndexInfo describes one index.
type IndexInfo struct {
	Name    string `json:"name"`
	LogType string `json:"log_type"`
	Docs    int64  `json:"docs"`
	Bytes   int64  `json:"bytes"` // approximate size of the stored documents
	MinMs   int64  `json:"min_timestamp_ms"`
	MaxMs   int64  `json:"max_timestamp_ms"`
}

// Store is the embedded document store. Its methods are safe for concurrent
// use; writes are serialised inside. Only one process may hold a store open
// for writing (Open returns ErrLocked otherwise).
type Store interface {
	// Write upserts docs by ID: writing a document whose ID exists
	// replaces it, so a replay never duplicates. Write returns after the
	// documents are durable.
	Write(ctx context.Context, docs []Doc) error
	// Search returns matching documents sorted as asked.
	Search(ctx context.Context, r SearchRequest) (*SearchResult, error)
	// Aggregate runs one aggregation.
	Aggregate(ctx context.Context, r AggRequest) (*AggResult, error)
	// Get returns the document with the id, or ErrNotFound.
	Get(ctx context.Context, id string) (*Hit, error)
	// Fields lists the fields of a log type's documents (all types when
	// logType is empty), typed columns first.
	Fields(ctx context.Context, logType string) ([]Field, error)
	// Indices lists the indices with their counts and sizes.
	Indices(ctx context.Context) ([]IndexInfo, error)
	// DeleteBefore deletes the documents of logType (all types when
	// empty) whose @timestamp is before t, and returns how many it deleted.
	DeleteBefore(ctx context.Context, logType string, t time.Time) (int64, error)
	// Close flushes and releases the store.
	Close() error
}
