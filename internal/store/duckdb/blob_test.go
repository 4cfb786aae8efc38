//go:build cgo

package duckdb

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"strings"
	"testing"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/vigil-siem/vigil/internal/store"
)

func TestMessageCase(t *testing.T) {
	tests := []struct {
		name     string
		msg      string
		verbatim bool // the case information is the message itself
	}{
		{name: "empty", msg: ""},
		{name: "lower case", msg: "no capitals here 123"},
		{name: "camel case", msg: `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser"}}`},
		{name: "capitals at both ends", msg: "ABC def GHI"},
		{name: "all capitals", msg: "ACCEPT OK"},
		{name: "non-ASCII without capitals", msg: "données reçues"},
		{name: "non-ASCII lower case, ASCII capitals", msg: "ASCII Capitals with été"},
		{name: "non-ASCII capital", msg: "Évian", verbatim: true},
		{name: "length-changing lower case", msg: "İstanbul", verbatim: true},
		{name: "invalid UTF-8", msg: "A\xffB", verbatim: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lc, cs := appendLowerCase(nil, nil, []byte(tt.msg))
			if want := appendLower(nil, []byte(tt.msg)); !bytes.Equal(lc, want) {
				t.Fatalf("lower case %q, want %q", lc, want)
			}
			if got := len(cs) > 0 && cs[0] == caseVerbatim; got != tt.verbatim {
				t.Errorf("verbatim = %v, want %v (case information %q)", got, tt.verbatim, cs)
			}
			got, err := appendRecased([]byte("prefix:"), lc, cs)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "prefix:"+tt.msg {
				t.Fatalf("restored %q, want %q", got, tt.msg)
			}
		})
	}
}

func FuzzMessageCase(f *testing.F) {
	for _, s := range []string{"", "AbC", "İstanbul", "x\xff", `{"eventName":"X"}`} {
		f.Add([]byte(s), []byte{caseRuns, 1, 2})
	}
	f.Fuzz(func(t *testing.T, msg, cs []byte) {
		lc, c := appendLowerCase(nil, nil, msg)
		got, err := appendRecased(nil, lc, c)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("round trip of %q: %q, %v", msg, got, err)
		}
		// Any case information: an error or a result, never a panic.
		_, _ = appendRecased(nil, msg, cs)
	})
}

func TestDocCodec(t *testing.T) {
	docs, _ := genDocs(5, time.UnixMilli(at), time.Second, 300)
	var samples [][]byte
	for _, d := range docs[:100] {
		samples = append(samples, d.Source)
	}
	big := []byte(`{"a":"` + strings.Repeat("x", maxCompressBytes) + `"}`)
	inputs := [][]byte{[]byte(`{}`), []byte(`{"a":1}`), big}
	for _, d := range docs {
		inputs = append(inputs, d.Source)
	}
	c := newDocCodec()
	check := func(stage string, wantCodec byte) {
		total, raw := 0, 0
		for _, in := range inputs {
			z := c.appendEncoded([]byte("x"), in)[1:]
			if len(in) > 100 && len(in) < maxCompressBytes && z[0] != wantCodec {
				t.Fatalf("%s: codec %d, want %d", stage, z[0], wantCodec)
			}
			out, err := c.decode([]byte("y"), z)
			if err != nil {
				t.Fatalf("%s: %v", stage, err)
			}
			if !bytes.Equal(out[1:], in) || out[0] != 'y' {
				t.Fatalf("%s: decoded %.80q, want %.80q", stage, out, in)
			}
			if len(in) < maxCompressBytes {
				total += len(z)
				raw += len(in)
			}
		}
		t.Logf("%s: %d bytes of %d", stage, total, raw)
	}
	check("no dictionary", codecS2)
	if err := c.addDict(7, buildDict(samples)); err != nil {
		t.Fatal(err)
	}
	check("dictionary", codecS2Dict)

	for _, z := range [][]byte{nil, {9}, {codecS2, 0xff}, {codecS2Dict}, {codecS2Dict, 8, 1}, {codecS2Dict, 7, 0xff, 0xff}} {
		if _, err := c.decode(nil, z); err == nil {
			t.Errorf("decode(%q) succeeded", z)
		}
	}
}

func FuzzDocDecode(f *testing.F) {
	c := newDocCodec()
	if err := c.addDict(1, buildDict([][]byte{[]byte(`{"event":{"action":"x"},"source":{"ip":"10.0.0.1"}}`)})); err != nil {
		f.Fatal(err)
	}
	f.Add(c.appendEncoded(nil, []byte(`{"event":{"action":"y"}}`)))
	f.Add([]byte{codecRaw, '{', '}'})
	f.Fuzz(func(t *testing.T, z []byte) {
		_, _ = c.decode(nil, z) // an error or a document, never a panic
	})
}

// v1DDL is the docs table as stores made before compressed documents
// declared it: doc and message as text. The schema's typed columns follow,
// minus process_name (added at Open).
var v1DDL = []string{
	`"_id" VARCHAR NOT NULL`, `"h" BIGINT NOT NULL`, `"_index" VARCHAR NOT NULL`, `"log_type" VARCHAR NOT NULL`,
	`"ts" BIGINT NOT NULL`, `"doc" VARCHAR NOT NULL`, `"message" VARCHAR`, `"msg_pos" INTEGER`, `"message_lc" VARCHAR`,
}

// makeV1Store writes docs into a store in the layout of v1DDL, as the
// version before compressed documents did.
func makeV1Store(t *testing.T, dir string, docs []store.Doc) {
	t.Helper()
	ctx := context.Background()
	sch := newSchema()
	ddl := append([]string(nil), v1DDL...)
	for _, c := range sch.table[nFixed:] {
		if c.name != "process_name" {
			ddl = append(ddl, c.ddl)
		}
	}
	path := filepath.Join(dir, DBFile)
	conn, err := duck.NewConnector(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer func() { _ = db.Close(); _ = conn.Close() }()
	for _, q := range []string{
		`CREATE TABLE docs (` + strings.Join(ddl, ", ") + `)`,
		`CREATE TABLE vigil_fields (log_type VARCHAR NOT NULL, name VARCHAR NOT NULL, type VARCHAR NOT NULL, path VARCHAR NOT NULL, PRIMARY KEY (log_type, name))`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	sc := newScanner(sch)
	for _, d := range docs {
		if err := sc.scan(d.Source); err != nil {
			t.Fatal(err)
		}
		var doc, msg, lc, pos any = string(d.Source), nil, nil, nil
		if sc.cutStart >= 0 {
			src := d.Source
			doc = string(src[:sc.cutStart]) + string(src[sc.cutEnd:])
			m := src[sc.msg.start:sc.msg.end]
			if sc.msg.esc {
				m = appendUnescaped(nil, m)
			}
			msg, lc = string(m), strings.ToLower(string(m))
			mode := spliceBefore
			if !sc.msgFirst {
				mode = spliceOnly
				if src[sc.cutStart] == ',' {
					mode = spliceAfter
				}
			}
			pos = int32(sc.cutStart*4 + mode)
		}
		ea := sc.caps[sch.byField["event.action"]]
		var action any
		if ea.typ == vString {
			action = string(d.Source[ea.start:ea.end])
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO docs (_id, h, _index, log_type, ts, doc, message, msg_pos, message_lc, event_action) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, int64(idHash(d.ID)), d.Index, d.LogType, d.TimestampMs, doc, msg, pos, lc, action); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConvertsV1Store opens a store made before documents were compressed
// by Vigil: Open converts it, and every document reads back as written.
func TestConvertsV1Store(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	docs, _ := genDocs(11, time.UnixMilli(at), time.Second, 400)
	docs = append(docs, fixture()...)
	makeV1Store(t, dir, docs)

	// Read-only, the old layout is read as it is.
	ro, err := Open(ctx, dir, Options{ReadOnly: true, Threads: 2}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	h, err := ro.Get(ctx, docs[3].ID)
	if err != nil || !bytes.Equal(h.Source, docs[3].Source) {
		t.Fatalf("read-only Get of an old store = %v, %v", h, err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, dir, Options{Threads: 2}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	have := map[string]bool{}
	if err := db.columns(ctx, have); err != nil {
		t.Fatal(err)
	}
	if !have["doc_z"] || have["doc"] || !have["process_name"] {
		t.Fatalf("columns after conversion: %v", have)
	}
	for _, d := range docs {
		h, err := db.Get(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(h.Source, d.Source) {
			t.Fatalf("Get(%s) = %s, want %s", d.ID, h.Source, d.Source)
		}
	}
	// Free text on the converted lower-case copy, a typed column filled
	// from the documents, and a replay that replaces instead of adding.
	if n := count(t, db, store.Filter{Query: `"access denied"`}); n != 1 {
		t.Errorf("free text matched %d documents, want 1", n)
	}
	if n := count(t, db, store.Filter{Query: `process.name:*`}); n == 0 {
		t.Error("process.name was not filled from the documents")
	}
	if err := db.Write(ctx, docs[:100]); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, store.Filter{}); n != int64(len(docs)) {
		t.Errorf("%d documents after a replay, want %d", n, len(docs))
	}
}

// TestFunctionsOnEveryConnection reads the computed columns from several
// connections at once: the functions are defined for the whole database.
func TestFunctionsOnEveryConnection(t *testing.T) {
	db := openTest(t, Options{})
	ctx := context.Background()
	docs, _ := genDocs(3, time.UnixMilli(at), time.Second, 600)
	if err := db.Write(ctx, docs); err != nil {
		t.Fatal(err)
	}
	var conns []*sql.Conn
	for range 4 {
		c, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		var n int
		if err := c.QueryRowContext(ctx, `SELECT count(*) FROM docs WHERE json_extract_string(doc, '$.event.action') IS NOT NULL AND message IS NOT NULL`).Scan(&n); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if n == 0 {
			t.Fatalf("connection %d: no documents", i)
		}
		_ = c.Raw(func(dc any) error {
			_, ok := dc.(driver.Conn)
			if !ok {
				t.Fatalf("connection %d: %T", i, dc)
			}
			return nil
		})
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkComputedColumns measures what reading the computed columns
// costs: terms over a field without a typed column (every CloudTrail
// document decompressed and its JSON path read), and a page of 100 hits
// (documents decompressed, messages' capitals restored).
func BenchmarkComputedColumns(b *testing.B) {
	db := openTest(b, Options{})
	ctx := context.Background()
	docs, _ := genDocs(9, time.UnixMilli(at), time.Second, 60000)
	for off := 0; off < len(docs); off += 20000 {
		if err := db.Write(ctx, docs[off:off+20000]); err != nil {
			b.Fatal(err)
		}
	}
	ct := store.Filter{LogTypes: []string{"cloudtrail"}}
	b.Run("terms_json_path", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Aggregate(ctx, store.AggRequest{Kind: store.AggTerms, Field: "eventName", Size: 10, Filter: ct}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("page_of_100", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Search(ctx, store.SearchRequest{Limit: 100, Filter: ct}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
