//go:build cgo

package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-siem/vigil/internal/query"
	"github.com/vigil-siem/vigil/internal/store"
)

// Options configures Open.
type Options struct {
	// ReadOnly opens the store for reading only: no lock file is taken and
	// several read-only processes may share the store, but none while a
	// writer holds it (DuckDB allows one process to write, or many to
	// read).
	ReadOnly bool
	// MemoryLimit caps DuckDB's memory, e.g. "2GB"; empty leaves DuckDB's
	// default (80% of RAM).
	MemoryLimit string
	// Threads is the number of DuckDB worker threads; 0 means one per CPU.
	Threads int
	// Writers is the number of connections a large Write is split across,
	// building and appending rows in parallel; 0 means 1. On the 2-core
	// machine the figures in docs/store.md come from, two were slower than
	// one.
	Writers int
	// Builders is the number of goroutines that turn the documents of a
	// write into rows for one write connection, while it appends them;
	// 0 means 2 when there are two CPUs or more.
	Builders int
	// ServeAddr is the HTTP address this process serves the store on
	// (e.g. http://127.0.0.1:8080), written into the lock file so that
	// another process can send its requests there.
	ServeAddr string
	// Command is the command line written into the lock file; empty means
	// this process's arguments.
	Command string
	// CheckpointWAL is the size the write-ahead log may reach before its
	// contents are compressed into the database file, e.g. "1GB" (the
	// default: about 450,000 documents, several row groups). Larger values
	// compress each row group fewer times (faster ingestion, a smaller
	// file) and use more memory until the checkpoint; a log below one row
	// group's worth (about 280MB) recompresses the last row group at every
	// checkpoint.
	CheckpointWAL string
}

// DB is the DuckDB store. It implements store.Store; its methods are safe
// for concurrent use. Writes are serialised on one connection; reads use a
// pool and see the last committed write.
type DB struct {
	dir    string
	opts   Options
	logger *slog.Logger
	sch    *schema
	conn   *duck.Connector
	db     *sql.DB
	lock   *fileLock

	wmu    sync.Mutex // held by Write, DeleteBefore and Close
	w      *writer    // nil when read-only
	fields *fieldSet
	codec  *docCodec   // compresses stored documents (blob.go)
	viewOn atomic.Bool // new connections get the docs view (schema.go)
	closed bool
	roll   rollups // per-hour and per-day aggregates for the dashboards (rollup.go)
}

var _ store.Store = (*DB)(nil)

// ipMacro defines vigil_ip2num(varchar) -> UHUGEINT (query.IP2NumMacro) for
// each connection, as a temporary macro so read-only stores have it too.
var ipMacro = strings.Replace(query.IP2NumMacro, "CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO", 1)

// Open opens the store in dir (dir/vigil.duckdb, created with dir when
// missing, unless read-only) and, unless opts.ReadOnly, takes the lock file
// dir/vigil.lock for this process. When another live process holds the
// store, Open returns an error wrapping store.ErrLocked that names it; a
// lock left by a process that has died is taken over.
func Open(ctx context.Context, dir string, opts Options, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.CheckpointWAL == "" {
		opts.CheckpointWAL = "1GB"
	}
	if opts.Threads <= 0 {
		opts.Threads = runtime.NumCPU()
	}
	if opts.Writers <= 0 {
		opts.Writers = 1
	}
	if opts.Builders <= 0 {
		opts.Builders = min(2, runtime.GOMAXPROCS(0))
	}
	if opts.Command == "" {
		opts.Command = currentCommand()
	}
	d := &DB{dir: dir, opts: opts, logger: logger, sch: newSchema(), fields: newFieldSet(), codec: newDocCodec()}
	dbPath := filepath.Join(dir, DBFile)
	lockPath := filepath.Join(dir, LockFile)
	if opts.ReadOnly {
		if _, err := os.Stat(dbPath); err != nil {
			return nil, fmt.Errorf("opening store %s: %w", dir, err)
		}
		if holder, held := readHolder(lockPath); held {
			return nil, lockedError(dir, holder)
		}
	} else {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating store directory %s: %w", dir, err)
		}
		l, stale, err := acquireLock(dir, lockPath, lockInfo{pid: os.Getpid(), cmd: opts.Command, addr: opts.ServeAddr})
		if err != nil {
			return nil, err
		}
		d.lock = l
		if stale.pid > 0 {
			logger.Warn("took over the lock of a process that is gone", "store", dir, "pid", stale.pid, "command", stale.cmd)
		}
	}
	if err := d.open(ctx, dbPath); err != nil {
		_ = d.lock.release()
		return nil, err
	}
	return d, nil
}

// open connects to DuckDB and prepares the schema and the writer.
func (d *DB) open(ctx context.Context, dbPath string) error {
	params := url.Values{}
	params.Set("threads", strconv.Itoa(d.opts.Threads))
	if d.opts.MemoryLimit != "" {
		params.Set("memory_limit", d.opts.MemoryLimit)
	}
	if !d.opts.ReadOnly {
		params.Set("checkpoint_threshold", d.opts.CheckpointWAL)
	}
	attach := "ATTACH IF NOT EXISTS " + sqlString(dbPath) + " AS vigil ("
	if d.opts.ReadOnly {
		attach += "READ_ONLY"
	} else {
		attach += "ROW_GROUP_SIZE " + strconv.Itoa(rowGroupSize())
	}
	attach += ")"
	conn, err := duck.NewConnector("?"+params.Encode(), func(ex driver.ExecerContext) error {
		for _, q := range []string{attach, "USE vigil", ipMacro} {
			if _, err := ex.ExecContext(ctx, q, nil); err != nil {
				return err
			}
		}
		if d.viewOn.Load() {
			if _, err := ex.ExecContext(ctx, docsView, nil); err != nil {
				return fmt.Errorf("creating the docs view: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return d.openError(err)
	}
	// Connect once now, so a database that cannot be opened fails here.
	c, err := conn.Connect(ctx)
	if err != nil {
		_ = conn.Close() // the open error is the one to report
		return d.openError(err)
	}
	_ = c.Close() // a fresh connection: nothing to flush
	d.conn = conn
	d.db = sql.OpenDB(conn)
	d.db.SetMaxIdleConns(4)
	fail := func(err error) error {
		// Report the error that made the open fail.
		_ = d.db.Close()
		_ = conn.Close()
		return err
	}
	if err := registerFunctions(ctx, d.db, d.codec); err != nil {
		return fail(err)
	}
	if !d.opts.ReadOnly {
		if err := d.migrate(ctx); err != nil {
			return fail(err)
		}
	}
	if err := d.fields.load(ctx, d.db); err != nil {
		return fail(err)
	}
	have := map[string]bool{}
	if err := d.columns(ctx, have); err != nil {
		return fail(fmt.Errorf("reading the store's columns: %w", err))
	}
	if have["doc_z"] {
		// From now on every new connection gets the view; drop the
		// connections made before.
		d.viewOn.Store(true)
		d.db.SetMaxIdleConns(0)
		d.db.SetMaxIdleConns(4)
	}
	if d.hasTable(ctx, "vigil_dicts") {
		if err := d.codec.load(ctx, d.db); err != nil {
			return fail(err)
		}
	}
	if !d.opts.ReadOnly {
		w, err := newWriter(ctx, d, d.opts.Writers)
		if err != nil {
			return fail(err)
		}
		d.w = w
	}
	return nil
}

// sqlString quotes a SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func rowGroupSize() int {
	if n, err := strconv.Atoi(os.Getenv("VIGIL_ROW_GROUP")); err == nil && n > 0 {
		return n
	}
	return 122880
}

// openError explains why DuckDB would not open the database.
func (d *DB) openError(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "lock") {
		if holder, held := readHolder(filepath.Join(d.dir, LockFile)); held {
			return lockedError(d.dir, holder)
		}
		return fmt.Errorf("%w: the store in %s is open in another process (%s)", store.ErrLocked, d.dir, msg)
	}
	return fmt.Errorf("opening store %s: %w", d.dir, err)
}

// migrate creates the tables, adds the typed columns an older version of
// the schema lacks (filling them from the stored documents), and converts
// a store whose documents and messages DuckDB stored as text (convertV1).
func (d *DB) migrate(ctx context.Context) error {
	stmts := []string{
		d.sch.createTableSQL("docs", false),
		`CREATE TABLE IF NOT EXISTS vigil_fields (log_type VARCHAR NOT NULL, name VARCHAR NOT NULL, type VARCHAR NOT NULL, path VARCHAR NOT NULL, PRIMARY KEY (log_type, name))`,
		`CREATE TABLE IF NOT EXISTS vigil_dicts (id BIGINT PRIMARY KEY, dict BLOB NOT NULL)`,
	}
	for _, s := range stmts {
		if _, err := d.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("creating the store's tables: %w", err)
		}
	}
	have := map[string]bool{}
	if err := d.columns(ctx, have); err != nil {
		return fmt.Errorf("reading the store's columns: %w", err)
	}
	v1 := !have["doc_z"]
	if v1 && !have["doc"] {
		return fmt.Errorf("the store in %s has neither a doc nor a doc_z column: it was not made by Vigil", d.dir)
	}
	docExpr := fnDoc + "(doc_z)"
	if v1 {
		docExpr = "doc"
	}
	for _, c := range d.sch.table {
		if have[c.name] {
			continue
		}
		if v1 && (c.name == "doc_z" || c.name == "msg_case" || c.name == "message_lc") {
			continue // convertV1 makes them
		}
		if c.ecs < 0 {
			return fmt.Errorf("the store in %s lacks column %s: it was not made by this version of Vigil", d.dir, c.name)
		}
		if _, err := d.db.ExecContext(ctx, "ALTER TABLE docs ADD COLUMN "+c.ddl); err != nil {
			return fmt.Errorf("adding column %s: %w", c.name, err)
		}
		col := d.sch.cols[c.ecs]
		expr := "json_extract_string(" + docExpr + ", ?)"
		switch {
		case c.num:
			expr = "vigil_ip2num(json_extract_string(" + docExpr + ", ?))"
		case col.list:
			expr = "json_extract_string(" + docExpr + ", ?)::VARCHAR[]"
		case col.kind == kindLong:
			expr = "try_cast(json_extract_string(" + docExpr + ", ?) AS BIGINT)"
		case col.kind == kindDouble:
			expr = "try_cast(json_extract_string(" + docExpr + ", ?) AS DOUBLE)"
		case col.kind == kindBool:
			expr = "try_cast(json_extract_string(" + docExpr + ", ?) AS BOOLEAN)"
		}
		path := plainJSONPath(col.field)
		if col.list {
			path += "[*]"
		}
		if _, err := d.db.ExecContext(ctx, "UPDATE docs SET "+quoteIdent(c.name)+" = "+expr, path); err != nil {
			return fmt.Errorf("filling column %s: %w", c.name, err)
		}
		d.logger.Info("added a typed column to the store", "store", d.dir, "column", c.name)
	}
	if v1 {
		if err := d.columns(ctx, have); err != nil {
			return fmt.Errorf("reading the store's columns: %w", err)
		}
		return d.convertV1(ctx, have)
	}
	return nil
}

// hasTable says whether the store has a table of that name.
func (d *DB) hasTable(ctx context.Context, name string) bool {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = ?`, name).Scan(&n)
	return err == nil && n > 0
}

// columns adds the names of the docs table's columns to have.
func (d *DB) columns(ctx context.Context, have map[string]bool) error {
	rows, err := d.db.QueryContext(ctx, `SELECT column_name FROM duckdb_columns() WHERE database_name = 'vigil' AND schema_name = 'main' AND table_name = 'docs'`)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }() // a result set: nothing to flush
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		have[name] = true
	}
	return rows.Err()
}

// Close writes everything to the database file and releases the store.
func (d *DB) Close() error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	if d.w != nil {
		errs = append(errs, d.w.close())
	}
	errs = append(errs, d.db.Close(), d.conn.Close(), d.lock.release())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing store %s: %w", d.dir, err)
	}
	return nil
}

// SetServeAddr records the HTTP address this process serves the store on in
// the lock file, for a server that learns its address after opening the
// store (e.g. when it listens on port 0).
func (d *DB) SetServeAddr(addr string) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.lock == nil {
		return fmt.Errorf("setting the serve address of store %s: opened read-only", d.dir)
	}
	d.opts.ServeAddr = addr
	if err := d.lock.update(lockInfo{pid: os.Getpid(), cmd: d.opts.Command, addr: addr}); err != nil {
		return fmt.Errorf("setting the serve address of store %s: %w", d.dir, err)
	}
	return nil
}

// Dir returns the store's directory.
func (d *DB) Dir() string { return d.dir }
