//go:build cgo

package query

import (
	"database/sql"
	"net/netip"
	"reflect"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// TestSQLInDuckDB runs rendered WHERE clauses in an in-memory DuckDB over a
// table shaped like the store's (typed columns, lists, UHUGEINT addresses
// and a JSON document) and checks which rows match.
func TestSQLInDuckDB(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// One connection: the macro lives in the connection's catalog.
	db.SetMaxOpenConns(1)
	for _, stmt := range []string{
		IP2NumMacro,
		`CREATE TABLE t (id INTEGER, event_action VARCHAR, message VARCHAR, dst_port BIGINT,
			score DOUBLE, ts BIGINT, flag BOOLEAN, src_ip VARCHAR, src_num UHUGEINT,
			client_ip VARCHAR, related_ip VARCHAR[], tags VARCHAR[], doc JSON)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	ms := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	num := func(ip string) any {
		if ip == "" {
			return nil
		}
		return ipNum(netip.MustParseAddr(ip)).String()
	}
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	rows := []struct {
		id              int
		action, message string
		port            any
		score           any
		ts              int64
		flag            any
		src, client     string
		related, tags   string // DuckDB list literals, "" for NULL
		doc             string
	}{
		{1, "ConsoleLogin", "User admin logged in from 10.1.2.3", 443, 0.5, ms("2024-05-15T10:00:00Z"), true,
			"10.1.2.3", "10.1.2.3", "['10.1.2.3', '2001:db8::1']", "['prod', 'web']",
			`{"userIdentity": {"arn": "arn:aws:iam::123456789012:user/alice"}, "sourceIPAddress": "10.1.2.3"}`},
		{2, "AssumeRole", "Access DENIED for 100% of_requests", 22, 7.25, ms("2024-05-14T23:59:59.999Z"), false,
			"11.0.0.1", "192.168.0.1", "['11.0.0.1']", "['dev']",
			`{"userIdentity": {"arn": "arn:aws:sts::123456789012:assumed-role/x"}, "sourceIPAddress": "11.0.0.1"}`},
		{3, "GetObject", "", 8080, nil, ms("2024-05-01T00:00:00Z"), nil,
			"2001:db8::5", "", "", "[]", `{}`},
		{4, "Get_Object%", "nothing to see", nil, 100.0, ms("2024-04-30T23:59:59Z"), true,
			"", "10.255.255.255", "['10.9.9.9']", "['prod']", `{"sourceIPAddress": "ec2.amazonaws.com"}`},
	}
	for _, r := range rows {
		related, tags := "NULL", "NULL"
		if r.related != "" {
			related = r.related
		}
		if r.tags != "" {
			tags = r.tags
		}
		// The list literals are test constants, not input.
		q := `INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ` + related + `, ` + tags + `, ?)`
		if _, err := db.Exec(q, r.id, r.action, str(r.message), r.port, r.score, r.ts, r.flag,
			str(r.src), num(r.src), str(r.client), r.doc); err != nil {
			t.Fatalf("inserting row %d: %v", r.id, err)
		}
	}

	tests := []struct {
		name string
		in   string
		want []int
	}{
		{name: "all", in: "", want: []int{1, 2, 3, 4}},
		{name: "free text case-insensitive", in: "denied", want: []int{2}},
		{name: "free text percent literal", in: "100%", want: []int{2}},
		{name: "free text underscore literal", in: "of_req*", want: []int{2}},
		{name: "free text underscore not a wildcard", in: "ofXreq", want: nil},
		{name: "free phrase", in: `"logged in"`, want: []int{1}},
		{name: "free wildcard", in: "us?r", want: []int{1}},
		{name: "keyword exact", in: "event.action:ConsoleLogin", want: []int{1}},
		{name: "keyword case-sensitive", in: "event.action:consolelogin", want: nil},
		{name: "keyword wildcard", in: "event.action:Get*", want: []int{3, 4}},
		{name: "keyword wildcard literal underscore", in: `event.action:Get_*`, want: []int{4}},
		{name: "keyword wildcard literal percent", in: `event.action:*%`, want: []int{4}},
		{name: "json wildcard escaped colons", in: `userIdentity.arn:arn\:aws\:iam*`, want: []int{1}},
		{name: "json colons unescaped", in: `userIdentity.arn:arn:aws:sts::123456789012:assumed-role/x`, want: []int{2}},
		{name: "text field", in: "@message:ADMIN", want: []int{1}},
		{name: "long", in: "destination.port:443", want: []int{1}},
		{name: "long gte", in: "destination.port:>=1024", want: []int{3}},
		{name: "long range", in: "destination.port:[22 TO 443}", want: []int{2}},
		{name: "long not", in: "NOT destination.port:443", want: []int{2, 3, 4}},
		{name: "double", in: "score:>1", want: []int{2, 4}},
		{name: "bool", in: "flag:true", want: []int{1, 4}},
		{name: "bool not includes null", in: "-flag:true", want: []int{2, 3}},
		{name: "date day", in: "@timestamp:2024-05-15", want: []int{1}},
		{name: "date range days", in: "@timestamp:[2024-05-01 TO 2024-05-14]", want: []int{2, 3}},
		{name: "date range exclusive", in: "@timestamp:{2024-05-01 TO 2024-05-15}", want: []int{2}},
		{name: "date relative", in: "@timestamp:>=now-24h", want: []int{1, 2}},
		{name: "date relative hours", in: "@timestamp:>=now-12h", want: []int{1}},
		{name: "date relative week", in: "@timestamp:>now-7d", want: []int{1, 2}},
		{name: "date epoch ms", in: "@timestamp:<1714521600000", want: []int{4}},
		{name: "cidr v4 num", in: "source.ip:10.0.0.0/8", want: []int{1}},
		{name: "cidr v4 excludes neighbour", in: "source.ip:11.0.0.0/8", want: []int{2}},
		{name: "cidr v6 num", in: "source.ip:2001:db8::/32", want: []int{3}},
		{name: "cidr mapped v6 matches v4", in: "source.ip:::ffff:10.0.0.0/104", want: []int{1}},
		{name: "ip exact num", in: "source.ip:2001:db8:0:0::5", want: []int{3}},
		{name: "ip range num", in: "source.ip:[10.0.0.0 TO 11.0.0.1}", want: []int{1}},
		{name: "cidr via macro", in: "client.ip:10.0.0.0/8", want: []int{1, 4}},
		{name: "cidr via macro upper edge", in: "client.ip:10.255.255.255/32", want: []int{4}},
		{name: "cidr via macro on json keyword", in: "sourceIPAddress:10.0.0.0/8", want: []int{1}},
		{name: "ip range via macro", in: "client.ip:>=192.168.0.0", want: []int{2}},
		{name: "ip exact text", in: "client.ip:192.168.0.1", want: []int{2}},
		{name: "cidr on list", in: "related.ip:10.0.0.0/8", want: []int{1, 4}},
		{name: "ip exact on list", in: "related.ip:2001:db8::1", want: []int{1}},
		{name: "list keyword", in: "tags:prod", want: []int{1, 4}},
		{name: "list wildcard", in: "tags:w*", want: []int{1}},
		{name: "list exists", in: "_exists_:tags", want: []int{1, 2, 4}},
		{name: "not list", in: "NOT tags:prod", want: []int{2, 3}},
		{name: "exists", in: "_exists_:destination.port", want: []int{1, 2, 3}},
		{name: "json exists", in: "userIdentity.arn:*", want: []int{1, 2}},
		{name: "and or not", in: "(tags:prod OR destination.port:22) AND NOT flag:true", want: []int{2}},
		{name: "group", in: "event.action:(ConsoleLogin OR AssumeRole)", want: []int{1, 2}},
		{name: "implicit and", in: "admin 10.1.2.3", want: []int{1}},
		{name: "or with and", in: "event.action:GetObject OR tags:prod flag:true", want: []int{1, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseAt(tc.in, time.Date(2024, 5, 15, 12, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatalf("ParseAt(%q): %v", tc.in, err)
			}
			where, args, err := ToSQL(n, testSchema{})
			if err != nil {
				t.Fatalf("ToSQL(%q): %v", tc.in, err)
			}
			rs, err := db.Query("SELECT id FROM t WHERE "+where+" ORDER BY id", args...)
			if err != nil {
				t.Fatalf("running %q: %s %v: %v", tc.in, where, args, err)
			}
			defer rs.Close()
			var got []int
			for rs.Next() {
				var id int
				if err := rs.Scan(&id); err != nil {
					t.Fatal(err)
				}
				got = append(got, id)
			}
			if err := rs.Err(); err != nil {
				t.Fatalf("running %q: %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%q (%s %v) matched %v, want %v", tc.in, where, args, got, tc.want)
			}
		})
	}

	// Every SQL table case must at least run in DuckDB.
	for _, tc := range sqlCases {
		n, err := ParseAt(tc.in, testNow)
		if err != nil {
			t.Fatalf("ParseAt(%q): %v", tc.in, err)
		}
		var s SQLSchema = testSchema{}
		if tc.schema != nil {
			s = tc.schema
		}
		where, args, err := ToSQL(n, s)
		if err != nil {
			t.Fatalf("ToSQL(%q): %v", tc.in, err)
		}
		rs, err := db.Query("SELECT count(*) FROM t WHERE "+where, args...)
		if err != nil {
			t.Errorf("case %q: %s %v: %v", tc.name, where, args, err)
			continue
		}
		rs.Close()
	}
}
