package query

import "testing"

// benchQuery is a typical query-bar search of a CloudTrail investigation.
const benchQuery = `event.action:(ConsoleLogin OR AssumeRole*) AND source.ip:10.0.0.0/8 ` +
	`AND NOT tags:prod AND destination.port:>=1024 AND @timestamp:>=now-24h "access denied"`

func BenchmarkParseToSQL(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		n, err := ParseAt(benchQuery, testNow)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := ToSQL(n, testSchema{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseToDSL(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		n, err := ParseAt(benchQuery, testNow)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ToDSL(n, dslKinds); err != nil {
			b.Fatal(err)
		}
	}
}
