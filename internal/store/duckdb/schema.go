//go:build cgo

package duckdb

import (
	"strings"

	"github.com/duckdb/duckdb-go/v2/mapping"
)

// kind is the storage type of a typed column.
type kind uint8

const (
	kindKeyword kind = iota // VARCHAR, matched exactly
	kindText                // VARCHAR, searched by words
	kindLong                // BIGINT
	kindDouble              // DOUBLE
	kindIP                  // VARCHAR plus a UHUGEINT companion <col>_num
	kindBool                // BOOLEAN
)

// sqlType returns the DuckDB type of a column of kind k.
func (k kind) sqlType(list bool) string {
	t := "VARCHAR"
	switch k {
	case kindLong:
		t = "BIGINT"
	case kindDouble:
		t = "DOUBLE"
	case kindBool:
		t = "BOOLEAN"
	}
	if list {
		t += "[]"
	}
	return t
}

// fieldType returns the name Fields reports for k.
func (k kind) fieldType() string {
	switch k {
	case kindText:
		return "text"
	case kindLong:
		return "long"
	case kindDouble:
		return "double"
	case kindIP:
		return "ip"
	case kindBool:
		return "boolean"
	}
	return "keyword"
}

// column is one typed column filled from an ECS field of the document.
type column struct {
	field string // ECS name, e.g. source.geo.country_iso_code
	name  string // SQL column name: the field with dots as underscores
	kind  kind
	list  bool // VARCHAR[]: every value of the field, not only the first
}

// ecsColumns are the ECS fields that get typed columns: the ones the
// console's dashboards group, filter and sum by. Everything else is read
// from the document's JSON. Order is the table's column order after the
// fixed columns; appending a field here adds a column to existing stores
// (see migrate).
var ecsColumns = []column{
	{field: "event.action"},
	{field: "event.category", list: true},
	{field: "event.type", list: true},
	{field: "event.kind"},
	{field: "event.module"},
	{field: "event.dataset"},
	{field: "event.outcome"},
	{field: "event.severity", kind: kindDouble},
	{field: "source.ip", kind: kindIP},
	{field: "source.port", kind: kindLong},
	{field: "source.bytes", kind: kindLong},
	{field: "source.packets", kind: kindLong},
	{field: "source.geo.country_iso_code"},
	{field: "source.geo.country_name"},
	{field: "source.geo.city_name"},
	{field: "source.as.number", kind: kindLong},
	{field: "source.as.organization.name"},
	{field: "destination.ip", kind: kindIP},
	{field: "destination.port", kind: kindLong},
	{field: "destination.geo.country_iso_code"},
	{field: "destination.as.number", kind: kindLong},
	{field: "destination.as.organization.name"},
	{field: "network.bytes", kind: kindLong},
	{field: "network.packets", kind: kindLong},
	{field: "network.direction"},
	{field: "network.transport"},
	{field: "network.protocol"},
	{field: "user.name"},
	{field: "user_agent.original"},
	{field: "cloud.account.id"},
	{field: "cloud.region"},
	{field: "cloud.instance.id"},
	{field: "rule.name"},
	{field: "rule.id"},
	{field: "threat.matched.indicators", list: true},
	{field: "threat.matched.providers", list: true},
	{field: "error.code"},
	{field: "dns.question.name"},
	{field: "dns.question.type"},
	{field: "dns.response_code"},
	{field: "http.request.method"},
	{field: "http.response.status_code", kind: kindLong},
	{field: "url.path"},
	{field: "host.hostname"},
	{field: "process.name"},
	{field: "vulnerability.severity"},
	{field: "related.ip", kind: kindIP, list: true},
	{field: "related.user", list: true},
}

// The fixed columns come first in the table, in this order.
const (
	colID      = 0 // _id
	colH       = 1 // idHash(_id)
	colIndex   = 2 // _index
	colLogType = 3 // @log_type
	colTS      = 4 // @timestamp, epoch ms
	colDocZ    = 5 // the document without @message, compressed (blob.go)
	colCase    = 6 // what restores @message's capitals (blob.go)
	colMsgPos  = 7 // where @message was cut from the document
	colLower   = 8 // @message in lower case, for free text
	nFixed     = 9
)

// fixedDDL declares the fixed columns. DuckDB does not compress doc_z (it
// is compressed already) nor msg_case (small and varied): analysing them
// would only cost time.
var fixedDDL = []string{
	`"_id" VARCHAR NOT NULL`,
	`"h" BIGINT NOT NULL`,
	`"_index" VARCHAR NOT NULL`,
	`"log_type" VARCHAR NOT NULL`,
	`"ts" BIGINT NOT NULL`,
	`"doc_z" BLOB NOT NULL USING COMPRESSION uncompressed`,
	`"msg_case" BLOB USING COMPRESSION uncompressed`,
	`"msg_pos" INTEGER`,
	`"message_lc" VARCHAR`,
}

// docsView is what queries read as docs: a temporary view, on every
// connection but the writer's, that adds the document's JSON and @message,
// computed from the stored columns when a query reads them. (Computed
// columns of the table itself would be computed by DuckDB on every append
// too, to check that they can be.) The writer's connections see the table.
const docsView = `CREATE OR REPLACE TEMP VIEW docs AS SELECT *, ` + fnDoc + `(doc_z) AS doc, ` +
	fnMessage + `(message_lc, msg_case) AS message FROM vigil.main.docs`

// tableColumn is one column of the docs table in order: a fixed column, an
// ECS column or an IP's numeric companion.
type tableColumn struct {
	name string
	ddl  string
	ecs  int  // index into schema.cols, -1 for fixed columns
	num  bool // the UHUGEINT companion of an IP column
}

// schema is the resolved column layout.
type schema struct {
	cols    []column       // ecsColumns with names filled in
	byField map[string]int // ECS field name -> index in cols
	table   []tableColumn  // every column of the docs table, in order
	names   []string       // the names of table, in order
	trie    *trieNode      // JSON path lookup for the scanner
	numCol  []int          // cols index of an IP column -> table position of its companion (-1: none)
	colPos  []int          // cols index -> table position
	types   []mapping.Type // the DuckDB type of each column of table
}

// trieNode maps the JSON object keys below one path to their nodes; col
// is the typed column the path fills, or -1.
type trieNode struct {
	next map[string]*trieNode
	col  int
}

// newSchema resolves ecsColumns.
func newSchema() *schema {
	s := &schema{
		byField: map[string]int{},
		numCol:  make([]int, len(ecsColumns)),
		colPos:  make([]int, len(ecsColumns)),
		trie:    &trieNode{col: -1},
	}
	for _, ddl := range fixedDDL {
		name := ddl[1 : strings.IndexByte(ddl[1:], '"')+1]
		s.table = append(s.table, tableColumn{name: name, ddl: ddl, ecs: -1})
	}
	for i, c := range ecsColumns {
		c.name = strings.ReplaceAll(c.field, ".", "_")
		s.cols = append(s.cols, c)
		s.byField[c.field] = i
		s.colPos[i] = len(s.table)
		s.numCol[i] = -1
		s.table = append(s.table, tableColumn{name: c.name, ddl: quoteIdent(c.name) + " " + c.kind.sqlType(c.list), ecs: i})
		if c.kind == kindIP && !c.list {
			s.numCol[i] = len(s.table)
			s.table = append(s.table, tableColumn{name: c.name + "_num", ddl: quoteIdent(c.name+"_num") + " UHUGEINT", ecs: i, num: true})
		}
		n := s.trie
		for _, k := range strings.Split(c.field, ".") {
			if n.next == nil {
				n.next = map[string]*trieNode{}
			}
			m := n.next[k]
			if m == nil {
				m = &trieNode{col: -1}
				n.next[k] = m
			}
			n = m
		}
		n.col = i
	}
	for _, t := range s.table {
		s.names = append(s.names, t.name)
	}
	s.types = tableTypes(s)
	return s
}

// quoteIdent quotes a SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// createTableSQL returns the CREATE TABLE statement of the docs table.
func (s *schema) createTableSQL(name string, temp bool) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if temp {
		b.WriteString("TEMP ")
	}
	b.WriteString("TABLE IF NOT EXISTS ")
	b.WriteString(name)
	b.WriteString(" (")
	for i, c := range s.table {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.ddl)
	}
	b.WriteString(")")
	return b.String()
}
