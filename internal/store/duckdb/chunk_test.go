//go:build cgo

package duckdb

import (
	"context"
	sqldriver "database/sql/driver"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/store"
)

// TestChunkAppenderMatchesDriver writes the same documents through the
// chunk appender and through the driver's appender and compares every
// column of every row.
func TestChunkAppenderMatchesDriver(t *testing.T) {
	docs, _ := genDocs(7, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Second, 12000)
	long := strings.Repeat("ünïcödé and a long value ", 400)
	docs = append(docs,
		store.Doc{ID: "edge-1", Index: "log-test", LogType: "test", TimestampMs: 1, Source: []byte(`{"@message":"` + long + `","source":{"ip":"2001:db8::ff00:42:8329","port":"8080","bytes":12},"event":{"category":["network",7,true,"x"],"type":[],"severity":"2.5"},"related":{"ip":["10.1.2.3","::1","bad"],"user":["a","` + long + `"]},"user":{"name":"short"}}`)},
		store.Doc{ID: "edge-2", Index: "log-test", LogType: "test", TimestampMs: 2, Source: []byte(`{"destination":{"ip":"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff","port":65535},"network":{"bytes":-1},"url":{"path":"/exactly-12ch"},"@message":"x"}`)},
		store.Doc{ID: "edge-3", Index: "log-test", LogType: "test", TimestampMs: 3, Source: []byte(`{}`)},
	)
	dump := func(driver bool) []string {
		db := openTest(t, Options{})
		db.w.driverAppend = driver
		if err := db.w.lanes[0].conn.Raw(func(dc any) error {
			_, err := connHandle(dc.(sqldriver.Conn))
			return err
		}); err != nil {
			t.Fatalf("the chunk appender would not be used: %v", err)
		}
		ctx := context.Background()
		for off := 0; off < len(docs); off += 4500 {
			if err := db.Write(ctx, docs[off:min(off+4500, len(docs))]); err != nil {
				t.Fatal(err)
			}
		}
		cols := make([]string, len(db.sch.names))
		for i, n := range db.sch.names {
			cols[i] = quoteIdent(n) + "::VARCHAR"
		}
		rows, err := db.db.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM docs ORDER BY _id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(*string)
		}
		for rows.Next() {
			if err := rows.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				s := *(v.(**string))
				if s == nil {
					fmt.Fprintf(&b, "%s=NULL|", db.sch.names[i])
				} else {
					fmt.Fprintf(&b, "%s=%s|", db.sch.names[i], *s)
				}
			}
			out = append(out, b.String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := dump(true)
	got := dump(false)
	ids := map[string]bool{}
	for _, d := range docs {
		ids[d.ID] = true
	}
	if n := len(ids); len(got) != n || len(want) != n {
		t.Fatalf("rows: chunk %d, driver %d, want %d", len(got), len(want), n)
	}
	if !reflect.DeepEqual(got, want) {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("row %d differs:\nchunk  %s\ndriver %s", i, got[i], want[i])
			}
		}
	}
	found := false
	for _, r := range got {
		if strings.HasPrefix(r, "_id=edge-1|") {
			found = true
			if !strings.Contains(r, "source_ip_num=42540766411282592856904265327123268393|") {
				t.Errorf("edge-1: IPv6 number not stored: %s", r[:200])
			}
		}
	}
	if !found {
		t.Error("edge-1 not stored")
	}
}

// TestAppendToMigratedStore writes into a store whose typed column was
// added by a migration, so the table's column order differs from the
// schema's: the appender must match columns by name.
func TestAppendToMigratedStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir, Options{Threads: 2}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.ExecContext(ctx, `ALTER TABLE vigil.main.docs DROP COLUMN process_name`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, dir, Options{Threads: 2}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var last string
	if err := db.db.QueryRowContext(ctx, `SELECT column_name FROM duckdb_columns() WHERE database_name = 'vigil' AND schema_name = 'main' AND table_name = 'docs' ORDER BY column_index DESC LIMIT 1`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	if last != "process_name" {
		t.Fatalf("last column is %s, want process_name (added by the migration)", last)
	}
	docs := []store.Doc{
		{ID: "a", Index: "log-linux", LogType: "linux", TimestampMs: 10, Source: []byte(`{"process":{"name":"sshd"},"user":{"name":"root"},"source":{"port":22}}`)},
		{ID: "b", Index: "log-linux", LogType: "linux", TimestampMs: 20, Source: []byte(`{"process":{"name":"cron"},"source":{"port":"x"}}`)},
	}
	if err := db.Write(ctx, docs); err != nil {
		t.Fatal(err)
	}
	rows, err := db.db.QueryContext(ctx, `SELECT _id, process_name, user_name, source_port FROM docs ORDER BY _id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id string
		var proc, user, port *string
		if err := rows.Scan(&id, &proc, &user, &port); err != nil {
			t.Fatal(err)
		}
		str := func(p *string) string {
			if p == nil {
				return "NULL"
			}
			return *p
		}
		got = append(got, fmt.Sprintf("%s %s %s %s", id, str(proc), str(user), str(port)))
	}
	want := []string{"a sshd root 22", "b cron NULL NULL"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %q, want %q", got, want)
	}
	h, err := db.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if string(h.Source) != string(docs[0].Source) {
		t.Fatalf("Get = %s, want %s", h.Source, docs[0].Source)
	}
}
